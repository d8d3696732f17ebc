//! TLS settings of a server URL, under each engine's own names: libpq's `sslmode`, `sslrootcert`,
//! `sslcert` and `sslkey` for PostgreSQL, MySQL's `ssl-mode`, `ssl-ca`, `ssl-cert` and `ssl-key`
//! for MySQL/MariaDB. Both mean the same five choices; the engines' seams turn them into a
//! connection (`postgres.rs`, `mysql.rs` here).

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

/// How much of TLS a connection asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain TCP; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked.
    Require,
    /// TLS with a certificate signed by a trusted authority (any host name).
    VerifyCa,
    /// As `VerifyCa`, and the certificate names the host the URL names.
    VerifyFull,
}

impl Mode {
    /// Whether the server's certificate is checked against the trusted authorities.
    pub(crate) fn verifies(self) -> bool {
        matches!(self, Mode::VerifyCa | Mode::VerifyFull)
    }
}

/// The TLS settings a URL gave.
#[derive(Clone, Debug)]
pub(crate) struct Tls {
    pub mode: Mode,
    /// The certificate authorities to trust (PEM), for the verifying modes.
    pub root_cert: Option<PathBuf>,
    /// The client's certificate (PEM) and its private key, when the server asks for one.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl Tls {
    /// Refuses, before connecting, files named in the URL that cannot be read.
    pub(crate) fn check_files(&self, names: &Names) -> Result<()> {
        for (path, name) in [
            (&self.root_cert, names.root_cert),
            (&self.cert, names.cert),
            (&self.key, names.key),
        ] {
            if let Some(path) = path {
                std::fs::File::open(path).map_err(|e| {
                    Error::usage(format!(
                        "cannot read the {name} file `{}`: {e}",
                        path.display()
                    ))
                    .hint("fix the path in the URL, or the file's permissions")
                })?;
            }
        }
        Ok(())
    }
}

/// An engine's names for the settings and the modes.
pub(crate) struct Names {
    engine: &'static str,
    mode: &'static str,
    root_cert: &'static str,
    cert: &'static str,
    key: &'static str,
    /// The mode names, in the order of `MODES`.
    modes: [&'static str; 5],
    /// Mode names the engine has that probtrack does not offer, with what to use instead.
    refused: &'static [(&'static str, &'static str)],
    /// The driver's own TLS parameters, which these settings replace.
    driver_params: &'static [&'static str],
    /// How to turn TLS on at the server.
    server_setup: &'static str,
    /// How to name a client certificate.
    client_cert: &'static str,
}

const MODES: [Mode; 5] = [
    Mode::Disable,
    Mode::Prefer,
    Mode::Require,
    Mode::VerifyCa,
    Mode::VerifyFull,
];

pub(crate) const POSTGRES: Names = Names {
    engine: "PostgreSQL",
    mode: "sslmode",
    root_cert: "sslrootcert",
    cert: "sslcert",
    key: "sslkey",
    modes: ["disable", "prefer", "require", "verify-ca", "verify-full"],
    refused: &[(
        "allow",
        "use `prefer` (TLS when the server offers it) or `disable`",
    )],
    driver_params: &[],
    server_setup: "turn on `ssl` in its postgresql.conf, with `ssl_cert_file` and `ssl_key_file`",
    client_cert: "`sslcert=FILE&sslkey=FILE`",
};

pub(crate) const MYSQL: Names = Names {
    engine: "MySQL/MariaDB",
    mode: "ssl-mode",
    root_cert: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
    modes: [
        "DISABLED",
        "PREFERRED",
        "REQUIRED",
        "VERIFY_CA",
        "VERIFY_IDENTITY",
    ],
    refused: &[],
    driver_params: &[
        "require_ssl",
        "verify_ca",
        "verify_identity",
        "root_cert_path",
        "cert_chain_path",
        "priv_key_path",
        "danger_skip_domain_validation",
        "danger_accept_invalid_certs",
    ],
    server_setup: "give the server `ssl-cert` and `ssl-key` (and `ssl-ca`) in its option file",
    client_cert: "`ssl-cert=FILE&ssl-key=FILE`",
};

impl Names {
    /// `mode` under this engine's name for it.
    pub(crate) fn mode_name(&self, mode: Mode) -> &'static str {
        let i = MODES.iter().position(|m| *m == mode).unwrap_or(1);
        self.modes[i]
    }

    fn mode_list(&self) -> String {
        self.modes.join("|")
    }
}

/// Why a connection that asked for TLS did not get it.
pub(crate) enum Refusal<'e> {
    /// The server does not offer TLS.
    NoTls,
    /// The handshake failed.
    Handshake(&'e rustls::Error),
    Other(String),
}

impl<'e> Refusal<'e> {
    /// The refusal behind an I/O error of the handshake.
    pub(crate) fn from_io(io: &'e std::io::Error) -> Refusal<'e> {
        match io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(e) => Refusal::Handshake(e),
            None => Refusal::Other(io.to_string()),
        }
    }

    /// The error to show for a connection to `server` (its address and the URL as shown) that
    /// names the host `host`.
    pub(crate) fn error(&self, names: &Names, tls: &Tls, server: &str, host: &str) -> Error {
        use rustls::CertificateError as Cert;
        let ca = match &tls.root_cert {
            Some(path) if path.as_os_str() == "system" => "the public web's authorities".to_owned(),
            Some(path) => format!("`{}`", path.display()),
            None if names.mode == "sslmode" => "~/.postgresql/root.crt".to_owned(),
            None => "the driver's public web authorities (no ssl-ca was given)".to_owned(),
        };
        let (reason, hint) = match self {
            Refusal::NoTls => (
                "the server does not offer TLS".to_owned(),
                format!(
                    "{}; or, only where the network between them is trusted, use `{}={}`",
                    names.server_setup, names.mode, names.modes[1]
                ),
            ),
            Refusal::Handshake(e) => (
                format!("the TLS handshake failed: {e}"),
                match e {
                    rustls::Error::InvalidCertificate(
                        Cert::NotValidForName | Cert::NotValidForNameContext { .. },
                    ) => format!(
                        "the server's certificate does not name the host `{host}` ({}={} \
                         checks it): connect by a name the certificate holds, or have the \
                         certificate issued for `{host}`",
                        names.mode, names.modes[4]
                    ),
                    rustls::Error::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => {
                        format!(
                            "the server's certificate is not signed by the certificate authority \
                             in {ca}: name the authority that signed it with `{}=FILE`",
                            names.root_cert
                        )
                    }
                    rustls::Error::InvalidCertificate(_) => "the server's certificate is not \
                         valid (expired, or not a server's?): have it reissued"
                        .to_owned(),
                    rustls::Error::AlertReceived(_) => format!(
                        "the server refused the handshake: if it asks for a client \
                         certificate, name one its certificate authority signed with {}",
                        names.client_cert
                    ),
                    _ => "check the server's TLS setup and the URL's TLS settings".to_owned(),
                },
            ),
            Refusal::Other(e) => (
                format!("the TLS handshake failed: {e}"),
                "check the server's TLS setup and the URL's TLS settings".to_owned(),
            ),
        };
        Error::database(format!(
            "cannot connect to the {} server at {server} with {}={}: {reason}; no user name, \
             password or data was sent",
            names.engine,
            names.mode,
            names.mode_name(tls.mode)
        ))
        .hint(hint)
    }
}

/// Takes the TLS settings out of `url`'s query, returning the URL without them (for the driver)
/// and the settings. `shown` is the URL as messages show it.
pub(crate) fn split(url: &str, names: &Names, shown: &str) -> Result<(String, Tls)> {
    let mut tls = Tls {
        mode: Mode::Prefer,
        root_cert: None,
        cert: None,
        key: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), tls));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || -> Result<String> {
            percent_decode_str(raw)
                .decode_utf8()
                .map(|v| v.into_owned())
                .map_err(|_| {
                    Error::usage(format!(
                        "database `{shown}`: the value of `{key}` is not UTF-8 once decoded"
                    ))
                })
        };
        if key == names.mode {
            let value = value()?;
            tls.mode = mode(names, &value, shown)?;
        } else if key == names.root_cert {
            tls.root_cert = Some(PathBuf::from(value()?));
        } else if key == names.cert {
            tls.cert = Some(PathBuf::from(value()?));
        } else if key == names.key {
            tls.key = Some(PathBuf::from(value()?));
        } else if names.driver_params.contains(&key) {
            return Err(Error::usage(format!(
                "database `{shown}`: probtrack does not take the driver's `{key}`"
            ))
            .hint(format!(
                "say it with {}'s names: `{}={}`, `{}=FILE`, `{}=FILE`, `{}=FILE`",
                names.engine,
                names.mode,
                names.mode_list(),
                names.root_cert,
                names.cert,
                names.key
            )));
        } else {
            kept.push(pair);
        }
    }
    if tls.cert.is_some() != tls.key.is_some() {
        return Err(Error::usage(format!(
            "database `{shown}`: `{}` and `{}` go together",
            names.cert, names.key
        ))
        .hint("name both the client's certificate and its private key, or neither"));
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, tls))
}

fn mode(names: &Names, value: &str, shown: &str) -> Result<Mode> {
    // MySQL's option values are case-insensitive; libpq's are not.
    let found = names.modes.iter().position(|m| {
        if names.mode == "sslmode" {
            *m == value
        } else {
            m.eq_ignore_ascii_case(value)
        }
    });
    if let Some(i) = found {
        return Ok(MODES[i]);
    }
    let err = Error::usage(format!(
        "database `{shown}`: `{}={value}` is not a TLS mode probtrack offers",
        names.mode
    ));
    Err(match names.refused.iter().find(|(m, _)| *m == value) {
        Some((_, instead)) => err.hint(*instead),
        None => err.hint(format!(
            "write `{}={}`; `{}` checks the server's certificate and its name, which is what a \
             connection off this host needs",
            names.mode,
            names.mode_list(),
            names.modes[4]
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_taken_out_and_the_rest_kept() {
        let (url, tls) = split(
            "postgres://u@h/db?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem",
            &POSTGRES,
            "x",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?connect_timeout=3");
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/tmp/ca.pem")));

        let (url, tls) = split(
            "mysql://u@h/db?ssl-mode=verify_identity&ssl-ca=ca.pem",
            &MYSQL,
            "x",
        )
        .unwrap();
        assert_eq!(url, "mysql://u@h/db");
        assert_eq!(tls.mode, Mode::VerifyFull);
    }

    #[test]
    fn unknown_modes_and_driver_names_are_refused() {
        let e = split("postgres://h/db?sslmode=allow", &POSTGRES, "x").unwrap_err();
        assert!(e.to_string().contains("sslmode=allow"), "{e}");
        assert!(split("postgres://h/db?sslmode=VERIFY-FULL", &POSTGRES, "x").is_err());
        assert!(split("mysql://h/db?danger_accept_invalid_certs=true", &MYSQL, "x").is_err());
        assert!(split("mysql://h/db?ssl-cert=c.pem", &MYSQL, "x").is_err());
    }
}
