//! TLS for MySQL/MariaDB connections: the driver's options for the URL's `ssl-mode`, `ssl-ca`,
//! `ssl-cert` and `ssl-key` (see `tls.rs` for the names), and why a handshake was refused.

use mysql::{ClientIdentity, Conn, Opts, OptsBuilder, SslOpts};

use super::tls::{Mode, Refusal, Tls, MYSQL};
use crate::error::{Error, Result};

/// The driver's TLS options for `tls`; `None`: plain TCP.
fn ssl_opts(tls: &Tls) -> Option<SslOpts> {
    let mut ssl = SslOpts::default();
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        ssl = ssl.with_client_identity(Some(ClientIdentity::new(cert.clone(), key.clone())));
    }
    if let Some(ca) = &tls.root_cert {
        ssl = ssl.with_root_cert_path(Some(ca.clone()));
    }
    match tls.mode {
        Mode::Disable => None,
        Mode::Prefer | Mode::Require => Some(ssl.with_danger_accept_invalid_certs(true)),
        Mode::VerifyCa => Some(ssl.with_danger_skip_domain_validation(true)),
        Mode::VerifyFull => Some(ssl),
    }
}

/// Connects with `builder` under `tls`. Where TLS is asked for, the connection stays on it (the
/// driver would otherwise move a connection to 127.0.0.1 onto the server's local socket); without
/// TLS, as the URL says (`prefer_socket=false` keeps a connection to the loopback on TCP). With
/// MySQL's PREFERRED, it is plain TCP where the server offers no TLS. A failure is an error that
/// says why and what to do (`address` is `host:port`, `shown` the URL as messages show it), the
/// server's own refusals as `db_error` words them.
pub(crate) fn connect(
    builder: &OptsBuilder,
    tls: &Tls,
    address: &str,
    shown: &str,
    db_error: impl FnOnce(mysql::Error) -> Error,
) -> Result<Conn> {
    let socket_allowed = Opts::from(builder.clone()).get_prefer_socket();
    let connect = |ssl: Option<SslOpts>| {
        let prefer_socket = ssl.is_none() && socket_allowed;
        Conn::new(builder.clone().ssl_opts(ssl).prefer_socket(prefer_socket))
    };
    let outcome = match connect(ssl_opts(tls)) {
        Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
            if tls.mode == Mode::Prefer =>
        {
            connect(None)
        }
        other => other,
    };
    let server = format!("{address} ({shown})");
    outcome.map_err(|e| {
        if let Some(why) = refusal(&e, tls) {
            let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
            return why.error(&MYSQL, tls, &server, host);
        }
        let why = match e {
            mysql::Error::IoError(io) => io.to_string(),
            mysql::Error::DriverError(driver) => driver.to_string(),
            mysql::Error::MySqlError(ref e) if e.code == 1049 => {
                let opts = Opts::from(builder.clone());
                let name = opts.get_db_name().unwrap_or_default();
                return Error::database(format!(
                    "cannot open the database {shown}: the server has no database `{name}`"
                ))
                .hint(format!(
                    "probtrack does not create server databases: run `CREATE DATABASE {name}` \
                     (as a user allowed to), then try again"
                ));
            }
            other => return db_error(other).context(format!("cannot open the database {shown}")),
        };
        Error::database(format!(
            "cannot connect to the MySQL/MariaDB server at {server}: {why}"
        ))
        .hint(format!(
            "start the server at {address}, or fix the host and port in the URL"
        ))
        .retryable("a server that is restarting refuses connections for a while")
    })
}

/// Why a connection that asked for TLS did not get it, when that is what `e` says.
fn refusal<'e>(e: &'e mysql::Error, tls: &Tls) -> Option<Refusal<'e>> {
    let io = match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => {
            return Some(Refusal::NoTls)
        }
        _ if tls.mode == Mode::Disable => return None,
        mysql::Error::IoError(io) => io,
        mysql::Error::CodecError(codec) => std::error::Error::source(codec)?.downcast_ref()?,
        _ => return None,
    };
    io.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(Refusal::from_io(io))
}
