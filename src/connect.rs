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
