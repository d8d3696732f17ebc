//! Connecting to PostgreSQL, and its errors in probtrack's words: the URL's settings, the password
//! from libpq's password file, and TLS with libpq's meaning of `sslmode` (see `tls.rs` for the URL's
//! names): `prefer` (the default) encrypts when the server offers TLS and `require` insists on it,
//! both without checking the server's certificate against an authority (as libpq, `require`
//! checks it as `verify-ca` does when there is an authority to trust: `sslrootcert` or
//! `~/.postgresql/root.crt`); `verify-ca`
//! checks that a trusted authority signed it, and `verify-full` also that it names the host the URL
//! names. The trusted authorities are `sslrootcert` (a PEM file, or `system` for the public web's),
//! else libpq's default `~/.postgresql/root.crt`. A client certificate (`sslcert` and `sslkey`, else
//! libpq's `~/.postgresql/postgresql.crt` and `.key` when both exist) is shown when the server asks.
//! The handshake's signatures are verified in every mode, so the session is bound to the
//! certificate the server showed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::password_file;
use super::tls::{Mode, Refusal, Tls, POSTGRES};
use crate::error::{Error, Result};

/// How long connecting may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// libpq's checks short of `verify-full`. With `chain` (`verify-ca`, and `require` where there is
/// an authority to trust), the certificate must lead to a trusted authority, whatever host it
/// names; without (`prefer`, `require`), any certificate is taken. Either way the handshake's
/// signatures are verified, so the server holds the certificate's key.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain (signatures, validity, key usage) before the name, so a name
        // error means everything else held.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// libpq's default place for a file under `~/.postgresql/`.
fn libpq_default(name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".postgresql").join(name))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::usage(format!("cannot read the {what} `{}`: {e}", path.display()))
            .hint("fix the path in the URL, or the file's permissions")
    })
}

/// The certificate authorities `verify-ca` and `verify-full` trust.
fn roots(tls: &Tls) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    if tls.root_cert.as_deref() == Some(Path::new("system")) {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(store);
    }
    let path = match (&tls.root_cert, libpq_default("root.crt")) {
        (Some(path), _) => path.clone(),
        (None, Some(default)) if default.exists() => default,
        _ => {
            return Err(Error::usage(
                "sslmode=verify-ca and verify-full need the certificate authority to trust, and \
                 ~/.postgresql/root.crt does not exist",
            )
            .hint("add `sslrootcert=FILE` (the CA's certificate, PEM) to the URL, or `sslrootcert=system` for the public web's authorities"))
        }
    };
    let pem = read(&path, "sslrootcert file")?;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            Error::usage(format!(
                "sslrootcert `{}` is not a PEM certificate file: {e}",
                path.display()
            ))
        })?;
        store.add(cert).map_err(|e| {
            Error::usage(format!(
                "sslrootcert `{}` holds a certificate that cannot be trusted: {e}",
                path.display()
            ))
        })?;
    }
    if store.is_empty() {
        return Err(Error::usage(format!(
            "sslrootcert `{}` holds no certificate",
            path.display()
        ))
        .hint("name the PEM file with the certificate authority's certificate (`-----BEGIN CERTIFICATE-----`)"));
    }
    Ok(store)
}

/// libpq's rule for a private key file: no access for group or others, except that a file owned by
/// root may be readable by its group.
#[cfg(unix)]
fn check_key_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::usage(format!(
            "cannot read the sslkey file `{}`: {e}",
            path.display()
        ))
    })?;
    let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
    if meta.mode() & 0o777 & !allowed != 0 {
        return Err(Error::usage(format!(
            "the private key file `{}` has group or world access",
            path.display()
        ))
        .hint(format!("make it private: `chmod 600 {}`", path.display())));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_permissions(_: &Path) -> Result<()> {
    Ok(())
}

/// The client certificate chain and key, when the URL names them or libpq's defaults exist.
fn client_identity(
    tls: &Tls,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    let (cert, key) = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => match (
            libpq_default("postgresql.crt"),
            libpq_default("postgresql.key"),
        ) {
            (Some(cert), Some(key)) if cert.exists() && key.exists() => (cert, key),
            _ => return Ok(None),
        },
    };
    let pem = read(&cert, "sslcert file")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::usage(format!(
                "sslcert `{}` is not a PEM certificate file: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(Error::usage(format!(
            "sslcert `{}` holds no certificate",
            cert.display()
        )));
    }
    check_key_permissions(&key)?;
    let pem = read(&key, "sslkey file")?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        Error::usage(format!(
            "sslkey `{}` is not a PEM private key: {e}",
            key.display()
        ))
        .hint("give the key unencrypted, in PEM (PKCS#8, PKCS#1 or SEC1)")
    })?;
    Ok(Some((chain, key)))
}

/// The host `config` connects to, as libpq matches it in a password file (a local socket is
/// `localhost`).
pub(crate) fn host(config: &Config) -> String {
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        _ => "localhost".to_owned(),
    }
}

/// Where `config` connects to, as `host:port` (for messages).
pub(crate) fn server(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        #[cfg(unix)]
        Some(Host::Unix(path)) => format!("{}:{port}", path.display()),
        _ => format!("{}:{port}", host(config)),
    }
}

/// The password for `config` in libpq's password file, when there is one.
pub(crate) fn pgpass(config: &Config) -> Result<Option<Vec<u8>>> {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    Ok(password_file::pgpass(&host(config), port, database, user)?.map(String::into_bytes))
}

/// Connects with `config` under the URL's `sslmode`: the verifying modes insist on TLS as
/// `require` does, with a connector that checks the certificate. A failure is an error that says
/// why and what to do (`shown` is the URL as messages show it), the server's own refusals as
/// `db_error` words them.
pub(crate) fn connect(
    config: &Config,
    tls: &Tls,
    shown: &str,
    db_error: impl FnOnce(postgres::Error) -> Error,
) -> Result<Client> {
    let mut config = config.clone();
    let outcome = match tls.mode {
        Mode::Disable => config.ssl_mode(SslMode::Disable).connect(NoTls),
        Mode::Prefer => config.ssl_mode(SslMode::Prefer).connect(connector(tls)?),
        _ => config.ssl_mode(SslMode::Require).connect(connector(tls)?),
    };
    let server = server(&config);
    outcome.map_err(|e| {
        if let Some(why) = refusal(&e) {
            return why.error(&POSTGRES, tls, &format!("{server} ({shown})"), &host(&config));
        }
        if let Some(db) = e.as_db_error() {
            if *db.code() == SqlState::INVALID_CATALOG_NAME {
                let name = config.get_dbname().unwrap_or("NAME");
                return Error::database(format!(
                    "database `{shown}`: the server {server} has no database `{name}`"
                ))
                .hint(format!(
                    "create it first: `createdb -h HOST -U USER {name}` (probtrack creates its tables, not the server's databases)"
                ));
            }
            return db_error(e).context(format!("cannot connect to {shown}"));
        }
        let what = match io_cause(&e).map(|io| (io.kind(), io)) {
            Some((std::io::ErrorKind::ConnectionRefused, _)) => "connection refused".to_owned(),
            Some((std::io::ErrorKind::TimedOut, _)) => "timed out".to_owned(),
            Some((_, io)) => io.to_string(),
            None => {
                let err = Error::database(format!(
                    "cannot connect to the PostgreSQL server at {server} ({shown}): {e}"
                ));
                if e.is_closed() {
                    // The server, or the network, closed the connection before it was made.
                    return err.retryable(
                        "a server that is restarting, or a network that drops connections, \
                         closes them while they are being made",
                    );
                }
                return err.hint("start the server, or fix the URL (`postgres://USER@HOST:PORT/DB`)");
            }
        };
        Error::database(format!(
            "cannot connect to the PostgreSQL server at {server} ({shown}): {what}"
        ))
        .hint("start the server, or fix the host and port in the URL")
        .retryable("a server that is restarting refuses connections for a while")
    })
}

/// A client for the server at `url`, with the URL as messages show it: the URL's settings, a
/// connect timeout and application name where it gives none, and the password from libpq's
/// password file where it gives none.
pub(crate) fn client(url: &str) -> Result<(Client, String)> {
    let shown = crate::connect::redact(url);
    let (driver_url, tls) = super::tls::split(url, &POSTGRES, &shown)?;
    let mut config: Config = driver_url.parse().map_err(|e| {
        Error::usage(format!(
            "database `{shown}`: not a valid PostgreSQL URL: {e}"
        ))
        .hint("write `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`")
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("probtrack");
    }
    if config.get_password().is_none() {
        if let Some(password) = pgpass(&config)? {
            config.password(password);
        }
    }
    let client = connect(&config, &tls, &shown, error)?;
    Ok((client, shown))
}

/// A `postgres` error (the server's, or the connection's) as probtrack shows it, with what to do
/// about it.
pub(crate) fn error(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let mut err = Error::database(format!(
            "database error: {} (SQLSTATE {})",
            db.message(),
            code.code()
        ));
        if let Some(detail) = db.detail() {
            err.message += &format!("; {detail}");
        }
        return if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            err.conflicting("another probtrack process wrote the same rows at the same time")
        } else if *code == SqlState::UNIQUE_VIOLATION {
            // Shared rows are upserted, so only a race makes one: ingests of one builder's build
            // number on two branches at once, each under its own lane's lock. A retry sees the
            // other's build and answers as a sequential run would.
            err.conflicting("another probtrack process stored the same row at the same time")
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            err.hint("create the database first, e.g. `createdb NAME` (probtrack creates its tables, not the server's databases)")
        } else if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            err.hint("check the user and password (in the URL, `postgres://USER:PASSWORD@HOST/DB`, or PGPASSFILE or ~/.pgpass), or the server's pg_hba.conf")
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            err.hint("the database user lacks a privilege probtrack needs; grant it, or use the database's owner")
        } else if *code == SqlState::DISK_FULL {
            err.hint("the server's disk is full; free some space and run the command again (nothing was written)")
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            err.hint("the server is read-only (a standby?); name the primary server in the URL")
        } else if code.code().starts_with("57P")
            || code.code().starts_with("08")
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::LOCK_NOT_AVAILABLE
        {
            // Terminated by an administrator, a server shutting down or starting up, a lost
            // connection, no free connection slot: the server undid the open transaction.
            err.retryable("the server ended the connection or is restarting")
        } else {
            err
        };
    }
    if e.is_closed() || io_cause(&e).is_some() {
        return Error::database(format!("database error: {e}"))
            .retryable("the connection to the PostgreSQL server was lost");
    }
    Error::database(format!("database error: {e}"))
}

/// The I/O error behind a connection error, if any.
pub(crate) fn io_cause(e: &postgres::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// Why the TLS handshake failed, when it did.
fn refusal(e: &postgres::Error) -> Option<Refusal<'_>> {
    // tokio-postgres says "server does not support TLS" when the server answers the request for
    // TLS with a no; a failed handshake is an I/O error around the TLS library's error.
    if !e.to_string().starts_with("error performing TLS handshake") {
        return None;
    }
    let source = std::error::Error::source(e)?;
    Some(match source.downcast_ref::<std::io::Error>() {
        Some(io) => Refusal::from_io(io),
        None if source.to_string().contains("does not support TLS") => Refusal::NoTls,
        None => Refusal::Other(source.to_string()),
    })
}

/// The TLS connector for `tls` (any mode but `disable`).
fn connector(tls: &Tls) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(ring::default_provider());
    let setup = |e: rustls::Error| Error::database(format!("cannot set up TLS: {e}"));
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(setup)?;
    // libpq: "if a root CA file exists, the behavior of sslmode=require will be the same as that
    // of verify-ca".
    let has_root = tls.root_cert.is_some() || libpq_default("root.crt").is_some_and(|p| p.exists());
    let checks_chain = tls.mode.verifies() || (tls.mode == Mode::Require && has_root);
    let chain = match checks_chain {
        true => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots(tls)?), provider.clone())
                .build()
                .map_err(|e| Error::database(format!("cannot set up TLS: {e}")))?,
        ),
        false => None,
    };
    let builder = match chain {
        Some(verifier) if tls.mode == Mode::VerifyFull => builder.with_webpki_verifier(verifier),
        chain => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient { chain, provider })),
    };
    let config = match client_identity(tls)? {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
            Error::usage(format!(
                "the client certificate and key do not go together: {e}"
            ))
        })?,
        None => builder.with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_named_without_passwords() {
        let config: Config = "postgres://u:secret@db.example:6543/x"
            .parse()
            .expect("url");
        assert_eq!(server(&config), "db.example:6543");
        let shown = crate::connect::redact("postgres://u:secret@db.example:6543/x");
        assert!(!shown.contains("secret"));
    }
}
