//! MySQL or MariaDB: a shared database server for many builders. (Being written.)

use super::OpenMode;
use crate::error::{Error, Result};

pub enum MysqlStore {}

impl MysqlStore {
    pub fn open(url: &str, _mode: OpenMode) -> Result<Box<dyn super::Store>> {
        Err(Error::usage(format!(
            "database `{}`: this build of probtrack cannot open MySQL or MariaDB databases yet",
            super::redact(url)
        )))
    }
}
