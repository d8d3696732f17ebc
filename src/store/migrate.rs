//! Schema versions: each backend's numbered migrations, applied in order and recorded in the
//! `schema_version` table. An older database is upgraded in place; a newer one is refused.

use crate::error::{Error, Result};

/// One step of the schema.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The SQLite migrations, oldest first.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "triage",
        sql: include_str!("migrations/sqlite/0002_triage.sql"),
    },
    Migration {
        version: 3,
        name: "details",
        sql: include_str!("migrations/sqlite/0003_details.sql"),
    },
];

/// The PostgreSQL migrations, oldest first: the same versions as SQLite's, step for step.
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "triage",
        sql: include_str!("migrations/postgres/0002_triage.sql"),
    },
    Migration {
        version: 3,
        name: "details",
        sql: include_str!("migrations/postgres/0003_details.sql"),
    },
];

/// The MySQL/MariaDB migrations, oldest first: the same versions as SQLite's, step for step.
pub const MYSQL: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/mysql/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "triage",
        sql: include_str!("migrations/mysql/0002_triage.sql"),
    },
    Migration {
        version: 3,
        name: "details",
        sql: include_str!("migrations/mysql/0003_details.sql"),
    },
];

/// The newest schema version this probtrack knows.
pub fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

/// What to do with a database at `found`.
pub fn pending(migrations: &[Migration], found: i64) -> Result<&[Migration]> {
    let latest = latest(migrations);
    if found > latest {
        return Err(Error::database(format!(
            "the database has schema version {found}, newer than this probtrack knows (version {latest})"
        ))
        .hint("a newer probtrack wrote it: upgrade probtrack to use this database"));
    }
    let start = migrations
        .iter()
        .position(|m| m.version > found)
        .unwrap_or(migrations.len());
    Ok(&migrations[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_in_order_from_one_and_kept_equal_across_backends() {
        for (i, migration) in SQLITE.iter().enumerate() {
            assert_eq!(migration.version, i as i64 + 1, "{}", migration.name);
        }
        for backend in [POSTGRES, MYSQL] {
            let steps: Vec<_> = backend.iter().map(|m| (m.version, m.name)).collect();
            let sqlite: Vec<_> = SQLITE.iter().map(|m| (m.version, m.name)).collect();
            assert_eq!(steps, sqlite);
        }
    }

    #[test]
    fn a_newer_database_is_refused_naming_both_versions() {
        let err = pending(SQLITE, latest(SQLITE) + 1).err().expect("refused");
        assert!(err
            .message
            .contains(&format!("version {}", latest(SQLITE) + 1)));
        assert!(err.message.contains(&format!("version {}", latest(SQLITE))));
        assert!(pending(SQLITE, latest(SQLITE)).expect("current").is_empty());
        assert_eq!(pending(SQLITE, 0).expect("new").len(), SQLITE.len());
    }
}
