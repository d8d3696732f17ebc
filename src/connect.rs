//! Reaching a database server safely: what a server URL says about TLS (`tls.rs`), the TLS
//! connector and password lookup for PostgreSQL (`postgres.rs`) and the driver's TLS options for
//! MySQL/MariaDB (`mysql.rs`), and passwords read from a file (`password_file.rs`).
//!
//! None of it is storage: it knows no table and runs no query. The store's engines call it while
//! they connect, and it answers with a connection's settings or with an error that says why a
//! connection was refused (never with a password).

pub(crate) mod mysql;
pub(crate) mod password_file;
pub(crate) mod postgres;
pub(crate) mod tls;
