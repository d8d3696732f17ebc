//! PostgreSQL: a shared database server for many builders. (Being written.)

use super::OpenMode;
use crate::error::{Error, Result};

pub enum PostgresStore {}

impl PostgresStore {
    pub fn open(url: &str, _mode: OpenMode) -> Result<Box<dyn super::Store>> {
        Err(Error::usage(format!(
            "database `{}`: this build of probtrack cannot open PostgreSQL databases yet",
            super::redact(url)
        )))
    }
}
