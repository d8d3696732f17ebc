//! Reaching a database server safely: what a server URL says about TLS (`tls.rs`), the URL's
//! settings, TLS connector and password lookup for PostgreSQL (`postgres.rs`) and the driver's
//! options for MySQL/MariaDB (`mysql.rs`), passwords read from a file (`password_file.rs`), and
//! each driver's errors in probtrack's words (what went wrong, whether a retry may help).
//!
//! None of it is storage: it knows no table and runs no query. The store's engines call it to
//! connect and to word a failed statement, and it answers with a connection or with an error that
//! says why (never with a password).

pub(crate) mod mysql;
pub(crate) mod password_file;
pub(crate) mod postgres;
pub(crate) mod tls;

/// A database URL with any password replaced by `***`, for messages: the one in its user part and
/// any `password=` parameter. Everything up to the last `@` counts as the user part, so that a
/// password with an unescaped `/`, `?` or `@` in it is hidden too.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (user, rest) = match rest.rsplit_once('@') {
        Some((userinfo, rest)) => match userinfo.split_once(':') {
            Some((user, _)) => (format!("{user}:***@"), rest),
            None => (format!("{userinfo}@"), rest),
        },
        None => (String::new(), rest),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{user}{rest}")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_wherever_the_url_holds_them() {
        for url in [
            "postgres://u:s3cret@db.example:6543/x",
            "postgres://u:s3/cr?et@db.example/x?sslmode=require",
            "mysql://u:s3@cret@db/x",
            "postgres://u@db/x?sslmode=verify-full&password=s3cret",
            "mysql://db/x?PASSWORD=s3cret&ssl-mode=REQUIRED",
        ] {
            let shown = redact(url);
            assert!(!shown.contains("s3"), "{url} shown as {shown}");
            assert!(shown.contains("***"), "{url} shown as {shown}");
        }
        assert_eq!(
            redact("postgres://u@db:5432/x?sslmode=verify-full"),
            "postgres://u@db:5432/x?sslmode=verify-full"
        );
    }
}
