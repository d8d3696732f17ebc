//! Connecting to MySQL/MariaDB, and its errors in probtrack's words: the driver's options for the
//! URL, its TLS options for the URL's `ssl-mode`, `ssl-ca`, `ssl-cert` and `ssl-key` (see `tls.rs`
//! for the names), and why a handshake was refused.

use mysql::consts::CapabilityFlags;
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

/// A connection to the server at `url`, with the URL as messages show it: the password from the
/// option file where the URL gives none, and UPDATE counting the rows it matched (as on the other
/// engines), not those it changed.
pub(crate) fn conn(url: &str) -> Result<(Conn, String)> {
    let shown = crate::connect::redact(url);
    let (driver_url, tls) = super::tls::split(url, &MYSQL, &shown)?;
    tls.check_files(&MYSQL)?;
    let opts = Opts::from_url(&driver_url).map_err(|e| {
        Error::usage(format!("database `{shown}`: not a usable MySQL URL ({e})"))
            .hint("write `mysql://USER:PASSWORD@HOST:PORT/DATABASE`")
    })?;
    if opts.get_db_name().is_none_or(str::is_empty) {
        return Err(
            Error::usage(format!("database `{shown}` names no database"))
                .hint("write `mysql://USER@HOST:PORT/DATABASE`"),
        );
    }
    let address = format!("{}:{}", opts.get_ip_or_hostname(), opts.get_tcp_port());
    let password = match opts.get_pass() {
        Some(_) => None,
        None => super::password_file::mysql_option_file()?,
    };
    let mut builder = OptsBuilder::from_opts(opts)
        .stmt_cache_size(Some(128))
        // UPDATE counts the rows it matched, as on the other engines, not those it changed.
        .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS);
    if password.is_some() {
        builder = builder.pass(password);
    }
    let conn = connect(&builder, &tls, &address, &shown, error)?;
    Ok((conn, shown))
}

/// A MySQL error (the server's, or the connection's) as probtrack shows it, with what to do
/// about it.
pub(crate) fn error(e: mysql::Error) -> Error {
    match &e {
        mysql::Error::MySqlError(server) => {
            let err = Error::database(format!(
                "database error {}: {}",
                server.code, server.message
            ));
            match server.code {
                1049 => err.hint(
                    "probtrack does not create server databases: run `CREATE DATABASE name` \
                     (as a user allowed to), then try again",
                ),
                1044 | 1045 | 1142 | 1143 | 1698 => err.hint(
                    "check the user name and password (in the URL, or the option file \
                     PROBTRACK_MYSQL_DEFAULTS_FILE or ~/.my.cnf), and that the user has \
                     privileges on the database (GRANT ALL ON name.* TO user)",
                ),
                1213 => err.conflicting(
                    "another session held rows this command needed (a deadlock); nothing was \
                     written",
                ),
                1205 => err.retryable(
                    "another session held rows this command needed (a lock wait timeout or \
                     deadlock); nothing was written",
                ),
                // Killed by an administrator (KILL), a server shutting down, a statement
                // interrupted, no free connection: the server undid the open transaction.
                1040 | 1053 | 1077 | 1078 | 1079 | 1080 | 1317 | 1927 | 2006 | 2013 => {
                    err.retryable("the server ended the connection or is restarting")
                }
                1153 => err.hint("raise the server's max_allowed_packet"),
                _ => err,
            }
        }
        mysql::Error::IoError(io) => Error::database(format!("database connection error: {io}"))
            .retryable("the connection to the MySQL/MariaDB server was lost"),
        // The packet layer's errors: a connection reset or cut mid-packet.
        mysql::Error::CodecError(codec) => {
            Error::database(format!("database connection error: {codec}"))
                .retryable("the connection to the MySQL/MariaDB server was lost")
        }
        mysql::Error::DriverError(
            driver @ (mysql::DriverError::PacketOutOfSync
            | mysql::DriverError::UnexpectedPacket
            | mysql::DriverError::ConnectTimeout
            | mysql::DriverError::CouldNotConnect(_)
            | mysql::DriverError::Timeout),
        ) => Error::database(format!("database connection error: {driver}"))
            .retryable("the connection to the MySQL/MariaDB server was lost"),
        mysql::Error::DriverError(driver) => Error::database(format!("database error: {driver}")),
        other => Error::database(format!("database error: {other}")),
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
