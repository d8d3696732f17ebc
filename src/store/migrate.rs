//! Schema versions: each backend's numbered migrations, applied in order and recorded in the
//! `schema_version` table. An older database is upgraded in place; a newer one is refused.

use super::engine::{p, Engine, Fields};
use super::OpenMode;
use crate::clock;
use crate::error::{Error, Result};

/// One step of the schema.
pub(super) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Each engine's migrations, oldest first, from the files `migrations/DIR/FILE`: every engine has
/// the same versions, step for step (`ENGINE "DIR", …; [VERSION NAME FILE, …]`).
macro_rules! migrations {
    ($($engine:ident $dir:literal),*; $list:tt) => {
        $(migrations!(@one $engine $dir $list);)*
    };
    (@one $engine:ident $dir:literal [$($version:literal $name:ident $file:literal),*]) => {
        pub(super) const $engine: &[Migration] = &[$(Migration {
            version: $version,
            name: stringify!($name),
            sql: include_str!(concat!("migrations/", $dir, "/", $file)),
        }),*];
    };
}

migrations!(SQLITE "sqlite", POSTGRES "postgres", MYSQL "mysql"; [
    1 initial "0001_initial.sql", 2 triage "0002_triage.sql", 3 details "0003_details.sql",
    4 metrics "0004_metrics.sql", 5 coverage "0005_coverage.sql",
    6 coverage_hits "0006_coverage_hits.sql", 7 durations "0007_durations.sql",
    8 metric_state "0008_metric_state.sql", 9 details_bases "0009_details_bases.sql",
    10 compiled_sets "0010_compiled_sets.sql",
    11 metric_values_by_build "0011_metric_values_by_build.sql",
    12 ids_never_reused "0012_ids_never_reused.sql"
]);

/// The newest schema version this probtrack knows.
pub(super) fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

/// What to do with a database at `found`.
pub(super) fn pending(migrations: &[Migration], found: i64) -> Result<&[Migration]> {
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

/// The schema version of the database, 0 where it has none, or `None` where it holds tables that
/// are not probtrack's. A database that has a `schema_version` table answers in one statement,
/// the one every command pays; where reading it fails, [`look_closer`] tells why.
fn look<E: Engine>(engine: &mut E) -> Result<Option<i64>> {
    let sql = "SELECT coalesce(max(version), 0) FROM schema_version";
    match engine.first(sql, &[], |r| r.id(0)) {
        Ok(found) => Ok(found.or(Some(0))),
        Err(_) => look_closer(engine),
    }
}

/// [`look`] where there is no `schema_version` table to read (or it could not be read). One look,
/// one statement: whether there is a `schema_version` table and whether there is any table are
/// answered together, so that a process that makes the schema at the same moment is seen either
/// before or after, never half (its tables but not yet its version table). SQLite and PostgreSQL
/// make a schema in one transaction; MySQL, whose DDL commits as it goes, makes `schema_version`
/// first.
fn look_closer<E: Engine>(engine: &mut E) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT count(*), coalesce(sum(CASE WHEN name = 'schema_version' THEN 1 ELSE 0 END), 0) \
         FROM ({}) t",
        E::TABLES
    );
    let found = engine.first(&sql, &[], |r| Ok((r.id(0)?, r.id(1)?)))?;
    match found.unwrap_or_default() {
        (0, _) => Ok(Some(0)),
        (_, 0) => Ok(None),
        _ => {
            let sql = "SELECT coalesce(max(version), 0) FROM schema_version";
            Ok(engine.first(sql, &[], |r| r.id(0))?.or(Some(0)))
        }
    }
}

/// Checks the schema of a database just opened and applies the pending migrations. Many first
/// ingests may start at once on a new database: all but one wait for the schema lock, then look
/// again and find the schema made (or, under the lock, tell other tables from probtrack's).
pub(crate) fn prepare<E: Engine>(engine: &mut E, mode: OpenMode) -> Result<()> {
    let Some(found) = look(engine)? else {
        return Err(engine.foreign());
    };
    if pending(E::MIGRATIONS, found)?.is_empty() {
        return Ok(());
    }
    if found == 0 && mode == OpenMode::Existing && engine.is_server() {
        return Err(missing(&engine.location(), "URL"));
    }
    engine.lock_schema()?;
    let outcome = (|| -> Result<()> {
        // Another process may have migrated while we waited for the lock. (Not `look`: a failed
        // statement would end PostgreSQL's transaction.)
        let Some(found) = look_closer(engine)? else {
            return Err(engine.foreign());
        };
        for migration in pending(E::MIGRATIONS, found)? {
            engine
                .apply(migration.sql)
                .and_then(|()| match (migration.version, migration.name) {
                    (DURATIONS, _) => rewrite_durations(engine),
                    (_, DETAILS_BASES) => rewrite_details(engine),
                    _ => Ok(()),
                })
                .map_err(|e| {
                    e.context(format!(
                        "migration {} ({}) failed",
                        migration.version, migration.name
                    ))
                })?;
            engine.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                &p![migration.version, clock::to_micros(clock::now())],
            )?;
        }
        Ok(())
    })();
    let unlocked = engine.unlock_schema(outcome.is_ok());
    outcome.and(unlocked)
}

/// The migration that changes the format of `builds.durations`.
const DURATIONS: i64 = 7;

/// Migration 7's data step: each build's durations blob of the older format, rewritten in the
/// current one, a build at a time (a blob already current is left alone, so a migration that was
/// interrupted on MySQL, whose DDL is not transactional, completes).
fn rewrite_durations<E: Engine>(engine: &mut E) -> Result<()> {
    let sql = "SELECT id FROM builds WHERE durations IS NOT NULL ORDER BY id";
    for build in engine.all(sql, &[], |r| r.id(0))? {
        let sql = "SELECT durations FROM builds WHERE id = ?1";
        let upgraded = engine.first(sql, &p![build], |r| {
            r.with_bytes(0, |b| b.and_then(crate::durations::upgrade))
        })?;
        if let Some(blob) = upgraded.flatten() {
            engine.execute(
                "UPDATE builds SET durations = ?1 WHERE id = ?2",
                &p![&blob[..], build],
            )?;
        }
    }
    Ok(())
}

/// The migration that lets a details object be stored against a base, found by its name (its
/// number may change while another migration is merged before it).
const DETAILS_BASES: &str = "details_bases";

/// The data step of the migration that adds `details.base_id`: each object stored on its own
/// that a result uses, in id order, deflated again against the newest base of the test and lane
/// of the first result that used it, on the rule an ingest followed when this migration was
/// written (`details::resembles`; an ingest now finds the base as `SqlStore::pack_details`
/// says, and either is a valid base); else it stays alone and is the base of the next ones. An
/// object that is already some object's base stays alone, and one already stored against a base
/// is left, so a migration that was interrupted on MySQL, whose DDL is not transactional,
/// completes.
fn rewrite_details<E: Engine>(engine: &mut E) -> Result<()> {
    use std::collections::{HashMap, HashSet};
    let mut first_use: HashMap<i64, (i64, i64)> = HashMap::new();
    engine.query(
        "SELECT r.details_id, r.test_id, b.lane_id FROM results r \
         JOIN builds b ON b.id = r.build_id WHERE r.details_id IS NOT NULL \
         ORDER BY r.details_id, b.id",
        &[],
        |r| {
            first_use.entry(r.id(0)?).or_insert((r.id(1)?, r.id(2)?));
            Ok(())
        },
    )?;
    let sql = "SELECT DISTINCT base_id FROM details WHERE base_id IS NOT NULL";
    let bases_in_use: HashSet<i64> = engine.all(sql, &[], |r| r.id(0))?.into_iter().collect();
    let sql = "SELECT id FROM details WHERE base_id IS NULL ORDER BY id";
    let alone = engine.all(sql, &[], |r| r.id(0))?;
    let unpacked = |engine: &mut E, id: i64| -> Result<Option<(String, usize)>> {
        let sql = "SELECT data FROM details WHERE id = ?1";
        let found = engine.first(sql, &p![id], |r| {
            r.with_bytes(0, |b| {
                b.and_then(|b| Some((crate::details::unpack(b)?, b.len())))
            })
        })?;
        Ok(found.flatten())
    };
    // The newest base of each test and lane, in the order the objects were stored.
    let mut newest: HashMap<(i64, i64), i64> = HashMap::new();
    for id in alone {
        let Some(&place) = first_use.get(&id) else {
            continue;
        };
        let base = newest.get(&place).copied();
        match base {
            Some(base) if !bases_in_use.contains(&id) => {
                let (Some((json, _)), Some((base_json, base_size))) =
                    (unpacked(engine, id)?, unpacked(engine, base)?)
                else {
                    continue;
                };
                let on = crate::details::pack_on(&json, &base_json);
                if crate::details::resembles(on.len(), base_size) {
                    engine.execute(
                        "UPDATE details SET data = ?1, base_id = ?2 WHERE id = ?3",
                        &p![&on[..], base, id],
                    )?;
                    continue;
                }
                newest.insert(place, id);
            }
            _ => {
                newest.insert(place, id);
            }
        }
    }
    Ok(())
}

/// The statements of a migration file, for an engine that runs them one at a time: split at a
/// `;` that ends a line, comment lines left out.
pub(crate) fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            let statement = current.trim().trim_end_matches(';').trim().to_owned();
            if !statement.is_empty() {
                out.push(statement);
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// The error for a database that is not there when a command needs one: how to make it.
/// `placeholder` is what `--db` takes on that engine (`PATH` or `URL`).
pub(crate) fn missing(location: &str, placeholder: &str) -> Error {
    Error::database(format!("no probtrack database at {location}"))
        .hint(format!(
            "ingest a report to create it: `probtrack --db {placeholder} ingest --builder NAME --build N REPORT`"
        ))
        .hint("or name an existing database with --db or PROBTRACK_DB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_in_order_from_one_and_kept_equal_across_backends() {
        // From one, each after the one before.
        for (i, migration) in SQLITE.iter().enumerate() {
            let expected = i as i64 + 1;
            assert_eq!(migration.version, expected, "{}", migration.name);
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

    #[test]
    fn a_migration_file_splits_into_its_statements() {
        let sql = "-- a comment\nCREATE TABLE a (\n  x INT -- inline\n);\n\nALTER TABLE a ADD y INT;\nSELECT 1";
        assert_eq!(
            statements(sql),
            [
                "CREATE TABLE a (\n  x INT -- inline\n)",
                "ALTER TABLE a ADD y INT",
                "SELECT 1"
            ]
        );
    }
}
