//! The embedded default backend: one SQLite file, in WAL mode, with foreign keys on and a busy
//! timeout so that concurrent ingests wait for each other rather than fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bstr::BString;
use probtrack_parsers::{Kind, Status};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::details::{self, Details};
use super::key;
use super::migrate;
use super::{
    BadRange, BuildFilter, BuildRecord, BuildRef, Cell, ChangeRecord, ChangeRef, ColumnType,
    Counts, FailureRow, Id, LaneBuild, LaneRecord, LinkRecord, NewBuild, NewTest, NoteRecord,
    NotificationRecord, OpenMode, ProblemBuilder, ProblemFilter, ProblemRecord, ResultRecord, Run,
    Store, Table, TestRecord,
};
use crate::clock::{self, Micros};
use crate::error::{Error, Result};

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes of the database file SQLite may memory-map for reads (`PRAGMA mmap_size`; SQLite caps
/// it at its own limit); the rest of a larger file is read as before.
const MMAP_SIZE: i64 = 1 << 30;

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Message and details ids looked up or created in the current write, by key: a batch of
    /// builds repeats the same few texts. Forgotten when the write ends or rolls back.
    text_ids: HashMap<(TextKind, [u8; 16]), Id>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum TextKind {
    Message,
    Details,
}

/// Report text: TEXT when it is valid UTF-8, otherwise a BLOB of the original bytes.
fn text(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::Text(s.to_owned()),
        Err(_) => Value::Blob(bytes.to_vec()),
    }
}

fn bytes(value: ValueRef<'_>) -> BString {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => BString::from(t),
        ValueRef::Null => BString::default(),
        ValueRef::Integer(i) => BString::from(i.to_string()),
        ValueRef::Real(r) => BString::from(r.to_string()),
    }
}

fn opt_bytes(value: ValueRef<'_>) -> Option<BString> {
    match value {
        ValueRef::Null => None,
        other => Some(bytes(other)),
    }
}

fn status(text: &str) -> rusqlite::Result<Status> {
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn opt_status(text: Option<String>) -> rusqlite::Result<Option<Status>> {
    text.as_deref().map(status).transpose()
}

fn kind(text: &str) -> rusqlite::Result<Kind> {
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

const BUILD_COLUMNS: &str = "b.id, bl.name, b.number, b.lane_id, l.branch, b.revision, b.time, \
     b.finished_at, b.result, b.properties, b.clean, b.passed, b.failed, b.error, b.skipped, \
     b.expected_failure, b.unexpected_success, b.flaky";

fn build_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<BuildRecord> {
    let branch: String = row.get(4)?;
    let count =
        |i: usize| -> rusqlite::Result<u64> { row.get::<_, i64>(i).map(|v| v.max(0) as u64) };
    Ok(BuildRecord {
        id: row.get(0)?,
        builder: row.get(1)?,
        number: row.get(2)?,
        lane: row.get(3)?,
        branch: (!branch.is_empty()).then_some(branch),
        revision: row.get(5)?,
        time: row.get(6)?,
        finished_at: row.get(7)?,
        result: row.get(8)?,
        properties: row.get(9)?,
        clean: row.get(10)?,
        counts: Counts {
            passed: count(11)?,
            failed: count(12)?,
            error: count(13)?,
            skipped: count(14)?,
            expected_failure: count(15)?,
            unexpected_success: count(16)?,
            flaky: count(17)?,
        },
    })
}

fn test_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<TestRecord> {
    Ok(TestRecord {
        id: row.get(0)?,
        name: bytes(row.get_ref(1)?),
        kind: kind(&row.get::<_, String>(2)?)?,
        file: opt_bytes(row.get_ref(3)?),
        runner_id: row.get(4)?,
    })
}

/// The columns `result_record` reads, from `results r`, `messages m` and `details d`.
const RESULT_COLUMNS: &str =
    "r.test_id, r.status, r.duration, m.text, r.attempts, r.details, d.data";

fn result_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<ResultRecord> {
    Ok(ResultRecord {
        test: row.get(0)?,
        status: status(&row.get::<_, String>(1)?)?,
        duration: row.get(2)?,
        message: opt_bytes(row.get_ref(3)?),
        attempts: row.get::<_, i64>(4)?.clamp(1, i64::from(u32::MAX)) as u32,
        details: details_at(row, 5)?.map(Details::from),
    })
}

/// A result's details from columns `at` (inline, schema 2) and `at + 1` (packed, schema 3).
fn details_at(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<String>> {
    let packed = match row.get_ref(at + 1)? {
        ValueRef::Blob(b) => Some(b),
        _ => None,
    };
    Ok(details::either(row.get(at)?, packed))
}

/// Whether this process may write the database file and its directory (where SQLite keeps its
/// write-ahead log).
fn writable(path: &Path) -> bool {
    if std::fs::OpenOptions::new().append(true).open(path).is_err() {
        return false;
    }
    let wal = path.with_file_name(format!(
        "{}-wal",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    if wal.exists() {
        return std::fs::OpenOptions::new().append(true).open(wal).is_ok();
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".probtrack-write-probe-{}", std::process::id()));
    let ok = std::fs::File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

impl SqliteStore {
    pub fn open(path: &Path, mode: OpenMode) -> Result<SqliteStore> {
        let exists = path.exists();
        if !exists && mode == OpenMode::Existing {
            return Err(Error::database(format!(
                "no probtrack database at {}",
                path.display()
            ))
            .hint("ingest a report to create it: `probtrack --db PATH ingest --builder NAME --build N REPORT`")
            .hint("or name an existing database with --db or PROBTRACK_DB"));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if mode == OpenMode::Create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let read_only = exists && !writable(path);
        if read_only && mode == OpenMode::Create {
            return Err(Error::database(format!(
                "the database {} is read-only: nothing was written",
                path.display()
            ))
            .hint(
                "check the permissions of the file and its directory, or the file system's mount",
            ));
        }
        let conn = if read_only {
            // Queries still answer. A database in WAL mode on a read-only file system can be read
            // only as immutable (no other process can write it there either).
            let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(path, ro)
                .and_then(|conn| {
                    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                        r.get::<_, i64>(0)
                    })?;
                    Ok(conn)
                })
                .or_else(|_| {
                    let uri = format!("file:{}?immutable=1", path.display());
                    Connection::open_with_flags(uri, ro | OpenFlags::SQLITE_OPEN_URI)
                })
        } else {
            Connection::open_with_flags(path, flags)
        }
        .map_err(|e| {
            Error::from(e).context(format!("cannot open the database {}", path.display()))
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            text_ids: HashMap::new(),
        };
        store.prepare()?;
        // Reads that seek scattered `results` rows (flaky's message variety: one seek per result
        // of a listed test, each into another page) were a `pread` each: 3/4 of `flaky` on a
        // 9.9 M-result database. Mapped pages are read without a syscall or a copy. Only for the
        // commands that open an existing database: the mapped pages a process touches count in
        // its RSS, and ingest and import (which gain nothing from it) would show the database.
        if mode == OpenMode::Existing {
            store.conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        }
        Ok(store)
    }

    /// `PRAGMA journal_mode=WAL`, waiting out other writers. On a file still in rollback mode
    /// (a new one) the switch reads, then upgrades to a write; SQLite answers such an upgrade
    /// with `SQLITE_BUSY` at once rather than call the busy handler (two readers upgrading
    /// would deadlock), so builders that ingest into a new shared file at the same moment
    /// would fail. Retried here until the busy timeout; once any process has switched, the
    /// pragma only reads.
    fn switch_to_wal(&self) -> rusqlite::Result<()> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            match self.conn.pragma_update(None, "journal_mode", "WAL") {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                outcome => return outcome,
            }
        }
    }

    fn prepare(&mut self) -> Result<()> {
        let not_ours = |path: &Path| {
            Error::database(format!(
                "{} is not a probtrack database (not an SQLite file)",
                path.display()
            ))
            .hint("name another file with --db, or move this one away")
        };
        // WAL lets readers go on while one writer ingests; it needs write access once.
        if !self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            self.switch_to_wal()
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::NotADatabase) => not_ours(&self.path),
                    _ => Error::from(e),
                })?;
            self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // 8 MiB of page cache (the default is 2 MiB): ingest revisits the same index pages often.
        self.conn.pragma_update(None, "cache_size", -8192)?;
        self.conn.set_prepared_statement_cache_capacity(64);
        let found = self
            .schema_version()
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => not_ours(&self.path),
                _ => Error::from(e),
            })?;
        let pending = migrate::pending(migrate::SQLITE, found)?;
        if pending.is_empty() {
            return Ok(());
        }
        if found == 0 && self.has_foreign_tables()? {
            return Err(Error::database(format!(
                "{} is an SQLite database, but not one of probtrack's",
                self.path.display()
            ))
            .hint("name another file with --db"));
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let outcome = (|| -> Result<()> {
            // Another process may have migrated while we waited for the lock.
            let found = self.schema_version()?;
            for migration in migrate::pending(migrate::SQLITE, found)? {
                self.conn.execute_batch(migration.sql).map_err(|e| {
                    Error::from(e).context(format!(
                        "migration {} ({}) failed",
                        migration.version, migration.name
                    ))
                })?;
                self.conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                    params![migration.version, clock::to_micros(clock::now())],
                )?;
            }
            Ok(())
        })();
        match outcome {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(())
    }

    fn schema_version(&self) -> rusqlite::Result<i64> {
        let has_table: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |row| row.get(0),
        )?;
        if !has_table {
            return Ok(0);
        }
        self.conn.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )
    }

    fn has_foreign_tables(&self) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table'",
            [],
            |row| row.get(0),
        )?)
    }

    /// The underlying connection, for tests and tools that check the file itself.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn user_id(&mut self, name: &str) -> Result<Id> {
        self.conn
            .prepare_cached("INSERT INTO users (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
            .execute([name])?;
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM users WHERE name = ?1")?
            .query_row([name], |row| row.get(0))?)
    }
}

impl Store for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn begin_write(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        self.text_ids.clear();
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn savepoint(&mut self) -> Result<()> {
        self.conn.execute_batch("SAVEPOINT build")?;
        Ok(())
    }

    fn release_savepoint(&mut self) -> Result<()> {
        self.conn.execute_batch("RELEASE build")?;
        Ok(())
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.conn
            .execute_batch("ROLLBACK TO build; RELEASE build")?;
        Ok(())
    }

    fn builder_id(&mut self, name: &str) -> Result<Option<Id>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM builders WHERE name = ?1")?
            .query_row([name], |row| row.get(0))
            .optional()?)
    }

    fn create_builder(&mut self, name: &str) -> Result<Id> {
        self.conn
            .prepare_cached(
                "INSERT INTO builders (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            )?
            .execute([name])?;
        self.builder_id(name)?.ok_or_else(|| {
            Error::database(format!("builder `{name}` vanished while being created"))
        })
    }

    fn lane_id(&mut self, builder: Id, branch: Option<&str>) -> Result<Id> {
        let branch = branch.unwrap_or("");
        self.conn
            .prepare_cached(
                "INSERT INTO lanes (builder_id, branch) VALUES (?1, ?2) \
                 ON CONFLICT (builder_id, branch) DO NOTHING",
            )?
            .execute(params![builder, branch])?;
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM lanes WHERE builder_id = ?1 AND branch = ?2")?
            .query_row(params![builder, branch], |row| row.get(0))?)
    }

    fn lanes(&mut self) -> Result<Vec<LaneRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.id, b.name, l.branch, l.pruned_before FROM lanes l \
             JOIN builders b ON b.id = l.builder_id ORDER BY b.name, l.branch",
        )?;
        let rows = stmt.query_map([], |row| {
            let branch: String = row.get(2)?;
            Ok(LaneRecord {
                id: row.get(0)?,
                builder: row.get(1)?,
                branch: (!branch.is_empty()).then_some(branch),
                pruned_before: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_pruned_before(&mut self, lane: Id, number: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE lanes SET pruned_before = max(coalesce(pruned_before, ?2), ?2) WHERE id = ?1",
            )?
            .execute(params![lane, number])?;
        Ok(())
    }

    fn find_build(&mut self, builder: &str, number: i64) -> Result<Option<BuildRecord>> {
        let sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b JOIN builders bl ON bl.id = b.builder_id \
             JOIN lanes l ON l.id = b.lane_id WHERE bl.name = ?1 AND b.number = ?2"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![builder, number], build_record)
            .optional()?)
    }

    fn insert_build(&mut self, build: &NewBuild) -> Result<Id> {
        self.conn
            .prepare_cached(
                "INSERT INTO builds (builder_id, number, lane_id, revision, time, finished_at, \
                 result, properties, clean, ingested_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                build.builder,
                build.number,
                build.lane,
                build.revision,
                build.time,
                build.finished_at,
                build.result,
                build.properties,
                build.clean,
                build.ingested_at
            ])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn update_build(&mut self, id: Id, build: &NewBuild) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE builds SET lane_id = ?2, revision = ?3, time = ?4, finished_at = ?5, \
                 result = ?6, properties = ?7, clean = ?8, ingested_at = ?9 WHERE id = ?1",
            )?
            .execute(params![
                id,
                build.lane,
                build.revision,
                build.time,
                build.finished_at,
                build.result,
                build.properties,
                build.clean,
                build.ingested_at
            ])?;
        Ok(())
    }

    fn set_build_outcome(&mut self, id: Id, counts: &Counts, durations: &[u8]) -> Result<()> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached(
                "UPDATE builds SET passed = ?2, failed = ?3, error = ?4, skipped = ?5, \
                 expected_failure = ?6, unexpected_success = ?7, flaky = ?8, durations = ?9 \
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                n(counts.passed),
                n(counts.failed),
                n(counts.error),
                n(counts.skipped),
                n(counts.expected_failure),
                n(counts.unexpected_success),
                n(counts.flaky),
                durations
            ])?;
        Ok(())
    }

    fn delete_build(&mut self, id: Id) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM builds WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    fn clear_build(&mut self, id: Id) -> Result<()> {
        for sql in [
            "DELETE FROM reports WHERE build_id = ?1",
            "DELETE FROM results WHERE build_id = ?1",
            "DELETE FROM build_changes WHERE build_id = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([id])?;
        }
        Ok(())
    }

    fn lane_builds(&mut self, lane: Id) -> Result<Vec<LaneBuild>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT number, id, revision, time FROM builds WHERE lane_id = ?1 ORDER BY number",
        )?;
        let rows = stmt.query_map([lane], |row| {
            Ok(LaneBuild {
                number: row.get(0)?,
                id: row.get(1)?,
                revision: row.get(2)?,
                time: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn recent_builds(&mut self, filter: &BuildFilter) -> Result<Vec<BuildRecord>> {
        let mut sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b JOIN builders bl ON bl.id = b.builder_id \
             JOIN lanes l ON l.id = b.lane_id WHERE 1 = 1"
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(builder) = &filter.builder {
            args.push(Value::Text(builder.clone()));
            sql += &format!(" AND bl.name = ?{}", args.len());
        }
        if let Some(branch) = &filter.branch {
            args.push(Value::Text(branch.clone().unwrap_or_default()));
            sql += &format!(" AND l.branch = ?{}", args.len());
        }
        args.push(Value::Integer(
            i64::try_from(filter.limit).unwrap_or(i64::MAX),
        ));
        sql += &format!(
            " ORDER BY b.time DESC, bl.name, b.number DESC LIMIT ?{}",
            args.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), build_record)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn build_durations(&mut self, build: Id) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT durations FROM builds WHERE id = ?1")?
            .query_row([build], |row| row.get(0))
            .optional()?
            .flatten())
    }

    fn report_exists(&mut self, build: Id, hash: &[u8]) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM reports WHERE build_id = ?1 AND hash = ?2")?
            .exists(params![build, hash])?)
    }

    fn insert_report(
        &mut self,
        build: Id,
        hash: &[u8],
        name: &str,
        parser: &str,
        results: u64,
        at: Micros,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO reports (build_id, hash, name, parser, results, ingested_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                build,
                hash,
                name,
                parser,
                i64::try_from(results).unwrap_or(i64::MAX),
                at
            ])?;
        Ok(())
    }

    fn upsert_change(&mut self, change: &ChangeRecord) -> Result<Id> {
        let user = match &change.author {
            Some(author) => Some(self.user_id(author)?),
            None => None,
        };
        // What is known about a change only grows: a later, fuller record fills in the blanks.
        self.conn
            .prepare_cached(
                "INSERT INTO changes (revision, user_id, time, comments, parents) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (revision) DO UPDATE SET \
                 user_id = coalesce(excluded.user_id, user_id), \
                 time = coalesce(excluded.time, time), \
                 comments = coalesce(excluded.comments, comments), \
                 parents = coalesce(excluded.parents, parents)",
            )?
            .execute(params![
                change.revision,
                user,
                change.time,
                change.comments,
                change.parents
            ])?;
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM changes WHERE revision = ?1")?
            .query_row([&change.revision], |row| row.get(0))?)
    }

    fn link_change(&mut self, build: Id, change: Id) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO build_changes (build_id, change_id) VALUES (?1, ?2) \
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![build, change])?;
        Ok(())
    }

    fn build_changes(&mut self, build: Id) -> Result<Vec<ChangeRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM build_changes bc \
             JOIN changes c ON c.id = bc.change_id LEFT JOIN users u ON u.id = c.user_id \
             WHERE bc.build_id = ?1 ORDER BY coalesce(c.time, 0), c.revision",
        )?;
        let rows = stmt.query_map([build], |row| {
            Ok(ChangeRecord {
                revision: row.get(0)?,
                author: row.get(1)?,
                time: row.get(2)?,
                comments: row.get(3)?,
                parents: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn change(&mut self, revision: &str) -> Result<Option<ChangeRecord>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM changes c \
                 LEFT JOIN users u ON u.id = c.user_id WHERE c.revision = ?1",
            )?
            .query_row([revision], |row| {
                Ok(ChangeRecord {
                    revision: row.get(0)?,
                    author: row.get(1)?,
                    time: row.get(2)?,
                    comments: row.get(3)?,
                    parents: row.get(4)?,
                })
            })
            .optional()?)
    }

    fn test_ids(&mut self, tests: &[NewTest]) -> Result<Vec<Id>> {
        // Look the tests up by key, a chunk at a time; create the ones that are new.
        const CHUNK: usize = 500;
        let keys: Vec<[u8; 16]> = tests.iter().map(|t| key(&t.name)).collect();
        let mut found: HashMap<[u8; 16], (Id, Option<String>)> =
            HashMap::with_capacity(tests.len());
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "SELECT name_hash, id, runner_id FROM tests WHERE name_hash IN ({})",
                vec!["?"; chunk.len()].join(",")
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(chunk.iter().map(|k| &k[..])))?;
            while let Some(row) = rows.next()? {
                let hash: Vec<u8> = row.get(0)?;
                if let Ok(hash) = <[u8; 16]>::try_from(hash.as_slice()) {
                    found.insert(hash, (row.get(1)?, row.get(2)?));
                }
            }
        }
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO tests (name_hash, name, kind, file, runner_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut update = self
            .conn
            .prepare_cached("UPDATE tests SET runner_id = ?2 WHERE id = ?1")?;
        let mut ids = Vec::with_capacity(tests.len());
        for (test, hash) in tests.iter().zip(&keys) {
            let id = match found.get(hash).cloned() {
                Some((id, runner_id)) => {
                    if test.runner_id.is_some() && runner_id != test.runner_id {
                        update.execute(params![id, test.runner_id])?;
                        found.insert(*hash, (id, test.runner_id.clone()));
                    }
                    id
                }
                None => {
                    insert.execute(params![
                        &hash[..],
                        text(&test.name),
                        test.kind.as_str(),
                        test.file.as_ref().map(|f| text(f)),
                        test.runner_id
                    ])?;
                    let id = self.conn.last_insert_rowid();
                    found.insert(*hash, (id, test.runner_id.clone()));
                    id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }

    fn tests_by_id(&mut self, ids: &[Id]) -> Result<HashMap<Id, TestRecord>> {
        let mut out = HashMap::with_capacity(ids.len());
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, kind, file, runner_id FROM tests WHERE id = ?1")?;
        for id in ids {
            if let Some(record) = stmt.query_row([id], test_record).optional()? {
                out.insert(*id, record);
            }
        }
        Ok(out)
    }

    fn test_by_name(&mut self, name: &[u8]) -> Result<Option<TestRecord>> {
        let hash = key(name);
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, name, kind, file, runner_id FROM tests WHERE name_hash = ?1",
            )?
            .query_row([&hash[..]], test_record)
            .optional()?)
    }

    fn tests_containing(&mut self, part: &[u8], limit: usize) -> Result<Vec<TestRecord>> {
        // instr() compares bytes, so the match is case-sensitive and exact for any text.
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, kind, file, runner_id FROM tests \
             WHERE instr(CAST(name AS BLOB), ?1) > 0 ORDER BY name LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![part, i64::try_from(limit).unwrap_or(i64::MAX)],
            test_record,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn lane_runs(&mut self, lane: Id) -> Result<HashMap<Id, Vec<Run>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT test_id, first_number, status FROM runs WHERE lane_id = ?1 \
             ORDER BY test_id, first_number",
        )?;
        let mut rows = stmt.query([lane])?;
        let mut out: HashMap<Id, Vec<Run>> = HashMap::new();
        while let Some(row) = rows.next()? {
            out.entry(row.get(0)?).or_default().push(Run {
                first: row.get(1)?,
                status: opt_status(row.get(2)?)?,
            });
        }
        Ok(out)
    }

    fn write_runs(&mut self, lane: Id, test: Id, delete: &[i64], upsert: &[Run]) -> Result<()> {
        for first in delete {
            self.conn
                .prepare_cached(
                    "DELETE FROM runs WHERE lane_id = ?1 AND test_id = ?2 AND first_number = ?3",
                )?
                .execute(params![lane, test, first])?;
        }
        for run in upsert {
            self.conn
                .prepare_cached(
                    "INSERT INTO runs (lane_id, test_id, first_number, status) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (lane_id, test_id, first_number) DO UPDATE SET status = excluded.status",
                )?
                .execute(params![lane, test, run.first, run.status.map(Status::as_str)])?;
        }
        Ok(())
    }

    fn lane_compile_tests(&mut self, lane: Id) -> Result<Vec<(Id, Option<BString>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT t.id, t.file FROM runs r JOIN tests t ON t.id = r.test_id \
             WHERE r.lane_id = ?1 AND t.kind = 'compile'",
        )?;
        let rows = stmt.query_map([lane], |row| Ok((row.get(0)?, opt_bytes(row.get_ref(1)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn write_runs_many(&mut self, lane: Id, writes: &[(Id, Vec<i64>, Vec<Run>)]) -> Result<()> {
        let mut delete = self.conn.prepare_cached(
            "DELETE FROM runs WHERE lane_id = ?1 AND test_id = ?2 AND first_number = ?3",
        )?;
        let mut upsert = self.conn.prepare_cached(
            "INSERT INTO runs (lane_id, test_id, first_number, status) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (lane_id, test_id, first_number) DO UPDATE SET status = excluded.status",
        )?;
        for (test, deletes, upserts) in writes {
            for first in deletes {
                delete.execute(params![lane, test, first])?;
            }
            for run in upserts {
                upsert.execute(params![
                    lane,
                    test,
                    run.first,
                    run.status.map(Status::as_str)
                ])?;
            }
        }
        Ok(())
    }

    fn test_runs(&mut self, test: Id) -> Result<Vec<(Id, Vec<Run>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT lane_id, first_number, status FROM runs WHERE test_id = ?1 \
             ORDER BY lane_id, first_number",
        )?;
        let mut rows = stmt.query([test])?;
        let mut out: Vec<(Id, Vec<Run>)> = Vec::new();
        while let Some(row) = rows.next()? {
            let lane: Id = row.get(0)?;
            let run = Run {
                first: row.get(1)?,
                status: opt_status(row.get(2)?)?,
            };
            match out.last_mut() {
                Some((last, runs)) if *last == lane => runs.push(run),
                _ => out.push((lane, vec![run])),
            }
        }
        Ok(out)
    }

    fn build_results(&mut self, build: Id) -> Result<Vec<ResultRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RESULT_COLUMNS} FROM results r LEFT JOIN messages m ON m.id = r.message_id \
             LEFT JOIN details d ON d.id = r.details_id WHERE r.build_id = ?1"
        ))?;
        let rows = stmt.query_map([build], result_record)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn test_results(&mut self, test: Id) -> Result<HashMap<Id, ResultRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RESULT_COLUMNS}, r.build_id FROM results r \
             LEFT JOIN messages m ON m.id = r.message_id \
             LEFT JOIN details d ON d.id = r.details_id WHERE r.test_id = ?1"
        ))?;
        let mut rows = stmt.query([test])?;
        let mut out = HashMap::new();
        while let Some(row) = rows.next()? {
            out.insert(row.get::<_, Id>(7)?, result_record(row)?);
        }
        Ok(out)
    }

    fn failure_messages(&mut self, test: Id) -> Result<Vec<BString>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.text FROM messages m WHERE m.id IN (SELECT DISTINCT message_id FROM results \
             WHERE test_id = ?1 AND status IN ('failed', 'error'))",
        )?;
        let rows = stmt.query_map([test], |row| Ok(bytes(row.get_ref(0)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn replace_build_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM results WHERE build_id = ?1")?
            .execute([build])?;
        for result in results {
            let message = match &result.message {
                Some(text) => Some(self.message_id(text)?),
                None => None,
            };
            let details = match &result.details {
                Some(details) => Some(self.details_id(details)?),
                None => None,
            };
            self.conn
                .prepare_cached(
                    "INSERT INTO results (build_id, test_id, status, duration, message_id, \
                     attempts, details_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    build,
                    result.test,
                    result.status.as_str(),
                    result.duration,
                    message,
                    result.attempts,
                    details
                ])?;
        }
        Ok(())
    }

    fn result_message(&mut self, build: Id, test: Id) -> Result<Option<BString>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT m.text FROM results r JOIN messages m ON m.id = r.message_id \
                 WHERE r.build_id = ?1 AND r.test_id = ?2",
            )?
            .query_row(params![build, test], |row| Ok(bytes(row.get_ref(0)?)))
            .optional()?)
    }

    fn result_text(&mut self, build: Id, test: Id) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT r.details, d.data FROM results r LEFT JOIN details d ON d.id = r.details_id \
                 WHERE r.build_id = ?1 AND r.test_id = ?2",
            )?
            .query_row(params![build, test], |row| details_at(row, 0))
            .optional()?
            .and_then(|d| details::text_of(d.as_deref())))
    }

    fn blamelists(&mut self, builds: &[Id]) -> Result<HashMap<Id, Vec<ChangeRef>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.revision, u.name FROM build_changes bc JOIN changes c ON c.id = bc.change_id \
             LEFT JOIN users u ON u.id = c.user_id WHERE bc.build_id = ?1 \
             ORDER BY coalesce(c.time, 0), c.revision",
        )?;
        let mut out = HashMap::new();
        for build in builds {
            let rows = stmt.query_map([build], |row| {
                Ok(ChangeRef {
                    id: row.get(0)?,
                    revision: row.get(1)?,
                    author: row.get(2)?,
                })
            })?;
            out.insert(*build, rows.collect::<rusqlite::Result<Vec<_>>>()?);
        }
        Ok(out)
    }

    fn unlink_changes(&mut self, build: Id) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM build_changes WHERE build_id = ?1")?
            .execute([build])?;
        Ok(())
    }

    fn retire_builder(&mut self, name: &str, at: Option<Micros>) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached("UPDATE builders SET retired_at = ?2 WHERE name = ?1")?
            .execute(params![name, at])?;
        Ok(changed > 0)
    }

    fn retired_builders(&mut self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name FROM builders WHERE retired_at IS NOT NULL ORDER BY name",
        )?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn lane_tests(&mut self, lane: Id) -> Result<Vec<Id>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT test_id FROM runs WHERE lane_id = ?1")?;
        let rows = stmt.query_map([lane], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn tests_with_recent_problems(
        &mut self,
        builder: &str,
        branch: Option<&str>,
        since: i64,
    ) -> Result<Vec<Id>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT p.test_id FROM problems p \
             JOIN problem_builders pb ON pb.problem_id = p.id \
             JOIN builders b ON b.id = pb.builder_id \
             WHERE b.name = ?1 AND p.branch = ?2 \
             AND (pb.fixed_number IS NULL OR pb.fixed_number >= ?3)",
        )?;
        let rows = stmt.query_map(params![builder, branch.unwrap_or(""), since], |row| {
            row.get(0)
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn test_problem_keys(&mut self, test: Id, branch: Option<&str>) -> Result<Vec<(Id, Id)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, first_build_id FROM problems WHERE test_id = ?1 AND branch = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![test, branch.unwrap_or("")], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn save_problem(&mut self, p: &ProblemRecord) -> Result<Id> {
        let message = match &p.message {
            Some(text) => Some(self.message_id(text)?),
            None => None,
        };
        let fixed = p.fixed.as_ref();
        // One statement for new and known Problems: an upsert keeps the row (and what hangs on
        // its id), where a replace would delete it.
        self.conn
            .prepare_cached(
                "INSERT INTO problems (id, test_id, branch, first_build_id, first_builder, \
                 first_number, first_time, first_revision, last_builder, last_number, last_time, \
                 last_revision, fixed_builder, fixed_number, fixed_time, fixed_revision, state, \
                 intermittent, failures, message_id, updated_at, cluster) VALUES (?1, ?2, ?3, ?4, \
                 ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
                 ?22) \
                 ON CONFLICT (id) DO UPDATE SET test_id = excluded.test_id, \
                 branch = excluded.branch, first_build_id = excluded.first_build_id, \
                 first_builder = excluded.first_builder, first_number = excluded.first_number, \
                 first_time = excluded.first_time, first_revision = excluded.first_revision, \
                 last_builder = excluded.last_builder, last_number = excluded.last_number, \
                 last_time = excluded.last_time, last_revision = excluded.last_revision, \
                 fixed_builder = excluded.fixed_builder, fixed_number = excluded.fixed_number, \
                 fixed_time = excluded.fixed_time, fixed_revision = excluded.fixed_revision, \
                 state = excluded.state, intermittent = excluded.intermittent, \
                 failures = excluded.failures, message_id = excluded.message_id, \
                 updated_at = excluded.updated_at, cluster = excluded.cluster",
            )?
            .execute(params![
                (p.id != 0).then_some(p.id),
                p.test,
                p.branch.as_deref().unwrap_or(""),
                p.first_build,
                p.first_failure.builder,
                p.first_failure.number,
                p.first_failure.time,
                p.first_failure.revision,
                p.last_failure.builder,
                p.last_failure.number,
                p.last_failure.time,
                p.last_failure.revision,
                fixed.map(|f| &f.builder),
                fixed.map(|f| f.number),
                fixed.map(|f| f.time),
                fixed.and_then(|f| f.revision.as_ref()),
                p.state(),
                p.intermittent,
                i64::try_from(p.failures).unwrap_or(i64::MAX),
                message,
                clock::to_micros(clock::now()),
                p.cluster,
            ])?;
        let id = if p.id == 0 {
            self.conn.last_insert_rowid()
        } else {
            for sql in [
                "DELETE FROM problem_builders WHERE problem_id = ?1",
                "DELETE FROM problem_changes WHERE problem_id = ?1",
            ] {
                self.conn.prepare_cached(sql)?.execute([p.id])?;
            }
            p.id
        };
        for b in &p.builders {
            let builder = self.create_builder(&b.builder)?;
            self.conn
                .prepare_cached(
                    "INSERT INTO problem_builders (problem_id, builder_id, first_number, \
                     last_number, fixed_number) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    id,
                    builder,
                    b.first_number,
                    b.last_number,
                    b.fixed_number
                ])?;
        }
        for (role, changes) in [("start", &p.started_by), ("fix", &p.fixed_by)] {
            for change in changes {
                self.conn
                    .prepare_cached(
                        "INSERT INTO problem_changes (problem_id, role, change_id) VALUES (?1, ?2, ?3) \
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![id, role, change.id])?;
            }
        }
        Ok(id)
    }

    fn delete_problem(&mut self, id: Id) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM problems WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    fn problems(&mut self, filter: &ProblemFilter) -> Result<Vec<ProblemRecord>> {
        let mut sql = String::from(
            "SELECT p.id, p.test_id, t.name, t.kind, p.branch, p.first_build_id, \
             p.first_builder, p.first_number, p.first_time, p.first_revision, \
             p.last_builder, p.last_number, p.last_time, p.last_revision, \
             p.fixed_builder, p.fixed_number, p.fixed_time, p.fixed_revision, \
             p.state, p.intermittent, p.failures, m.text, p.cluster \
             FROM problems p JOIN tests t ON t.id = p.test_id \
             LEFT JOIN messages m ON m.id = p.message_id WHERE 1 = 1",
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(open) = filter.open {
            args.push(Value::Text(if open { "open" } else { "fixed" }.to_owned()));
            sql += &format!(" AND p.state = ?{}", args.len());
        }
        if !filter.hidden {
            sql += " AND p.state <> 'hidden'";
        }
        if let Some(intermittent) = filter.intermittent {
            args.push(Value::Integer(i64::from(intermittent)));
            sql += &format!(" AND p.intermittent = ?{}", args.len());
        }
        if let Some(branch) = &filter.branch {
            args.push(Value::Text(branch.clone().unwrap_or_default()));
            sql += &format!(" AND p.branch = ?{}", args.len());
        }
        if let Some(test) = filter.test {
            args.push(Value::Integer(test));
            sql += &format!(" AND p.test_id = ?{}", args.len());
        }
        if let Some(build) = filter.first_build {
            args.push(Value::Integer(build));
            sql += &format!(" AND p.first_build_id = ?{}", args.len());
        }
        if let Some(ids) = &filter.ids {
            // One statement text for any list, so that it is prepared once.
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            args.push(Value::Text(format!("[{}]", list.join(","))));
            sql += &format!(
                " AND p.id IN (SELECT value FROM json_each(?{}))",
                args.len()
            );
        }
        sql += " ORDER BY p.last_time DESC, p.id DESC";
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let build_ref =
            |row: &rusqlite::Row<'_>, at: usize| -> rusqlite::Result<Option<BuildRef>> {
                let builder: Option<String> = row.get(at)?;
                Ok(match builder {
                    Some(builder) => Some(BuildRef {
                        builder,
                        number: row.get(at + 1)?,
                        time: row.get(at + 2)?,
                        revision: row.get(at + 3)?,
                    }),
                    None => None,
                })
            };
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |row| {
            let branch: String = row.get(4)?;
            let missing = || {
                rusqlite::Error::InvalidColumnType(6, "builder".into(), rusqlite::types::Type::Null)
            };
            Ok(ProblemRecord {
                id: row.get(0)?,
                test: row.get(1)?,
                test_name: bytes(row.get_ref(2)?),
                kind: kind(&row.get::<_, String>(3)?)?,
                branch: (!branch.is_empty()).then_some(branch),
                first_build: row.get(5)?,
                first_failure: build_ref(row, 6)?.ok_or_else(missing)?,
                last_failure: build_ref(row, 10)?.ok_or_else(missing)?,
                fixed: build_ref(row, 14)?,
                open: row.get::<_, String>(18)? == "open",
                hidden: row.get::<_, String>(18)? == "hidden",
                intermittent: row.get(19)?,
                failures: row.get::<_, i64>(20)?.max(0) as u64,
                message: opt_bytes(row.get_ref(21)?),
                cluster: row.get(22)?,
                builders: Vec::new(),
                started_by: Vec::new(),
                fixed_by: Vec::new(),
            })
        })?;
        let mut problems: Vec<ProblemRecord> = rows.collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        let mut builders = self.conn.prepare_cached(
            "SELECT b.name, pb.first_number, pb.last_number, pb.fixed_number FROM problem_builders pb \
             JOIN builders b ON b.id = pb.builder_id WHERE pb.problem_id = ?1 ORDER BY b.name",
        )?;
        let mut changes = self.conn.prepare_cached(
            "SELECT pc.role, c.id, c.revision, u.name FROM problem_changes pc \
             JOIN changes c ON c.id = pc.change_id LEFT JOIN users u ON u.id = c.user_id \
             WHERE pc.problem_id = ?1 ORDER BY coalesce(c.time, 0), c.revision",
        )?;
        for p in &mut problems {
            p.builders = builders
                .query_map([p.id], |row| {
                    Ok(ProblemBuilder {
                        builder: row.get(0)?,
                        first_number: row.get(1)?,
                        last_number: row.get(2)?,
                        fixed_number: row.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut rows = changes.query([p.id])?;
            while let Some(row) = rows.next()? {
                let role: String = row.get(0)?;
                let change = ChangeRef {
                    id: row.get(1)?,
                    revision: row.get(2)?,
                    author: row.get(3)?,
                };
                if role == "start" {
                    p.started_by.push(change);
                } else {
                    p.fixed_by.push(change);
                }
            }
        }
        Ok(problems)
    }

    fn set_link(&mut self, problem: Id, url: &str, open: bool, at: Micros) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO problem_links (problem_id, url, state, added_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (problem_id, url) DO UPDATE SET state = excluded.state",
            )?
            .execute(params![problem, url, if open { "open" } else { "closed" }, at])?;
        Ok(())
    }

    fn remove_link(&mut self, problem: Id, url: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM problem_links WHERE problem_id = ?1 AND url = ?2")?
            .execute(params![problem, url])?
            > 0)
    }

    fn links(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<LinkRecord>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT url, state, added_at FROM problem_links WHERE problem_id = ?1 ORDER BY added_at, id",
        )?;
        let mut out = HashMap::new();
        for &problem in problems {
            let rows = stmt.query_map([problem], |row| {
                Ok(LinkRecord {
                    problem,
                    url: row.get(0)?,
                    open: row.get::<_, String>(1)? == "open",
                    added_at: row.get(2)?,
                })
            })?;
            let list: Vec<LinkRecord> = rows.collect::<rusqlite::Result<_>>()?;
            if !list.is_empty() {
                out.insert(problem, list);
            }
        }
        Ok(out)
    }

    fn add_note(
        &mut self,
        problem: Id,
        text: &str,
        author: Option<&str>,
        at: Micros,
    ) -> Result<Id> {
        self.conn
            .prepare_cached(
                "INSERT INTO problem_notes (problem_id, text, author, added_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![problem, text, author, at])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn notes(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<NoteRecord>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, text, author, added_at FROM problem_notes WHERE problem_id = ?1 \
             ORDER BY added_at, id",
        )?;
        let mut out = HashMap::new();
        for &problem in problems {
            let rows = stmt.query_map([problem], |row| {
                Ok(NoteRecord {
                    id: row.get(0)?,
                    problem,
                    text: row.get(1)?,
                    author: row.get(2)?,
                    added_at: row.get(3)?,
                })
            })?;
            let list: Vec<NoteRecord> = rows.collect::<rusqlite::Result<_>>()?;
            if !list.is_empty() {
                out.insert(problem, list);
            }
        }
        Ok(out)
    }

    fn add_bad_range(
        &mut self,
        builder: Id,
        from: i64,
        to: Option<i64>,
        reason: &str,
        at: Micros,
    ) -> Result<Id> {
        self.conn
            .prepare_cached(
                "INSERT INTO bad_ranges (builder_id, from_number, to_number, reason, added_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![builder, from, to, reason, at])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn remove_bad_ranges(&mut self, builder: &str, from: i64) -> Result<Vec<BadRange>> {
        let found: Vec<BadRange> = self
            .bad_ranges()?
            .into_iter()
            .filter(|r| r.builder == builder && r.from == from)
            .collect();
        for range in &found {
            self.conn
                .prepare_cached("DELETE FROM bad_ranges WHERE id = ?1")?
                .execute([range.id])?;
        }
        Ok(found)
    }

    fn bad_ranges(&mut self) -> Result<Vec<BadRange>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, b.name, r.from_number, r.to_number, r.reason, r.added_at \
             FROM bad_ranges r JOIN builders b ON b.id = r.builder_id ORDER BY b.name, r.from_number, r.id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(BadRange {
                id: row.get(0)?,
                builder: row.get(1)?,
                from: row.get(2)?,
                to: row.get(3)?,
                reason: row.get(4)?,
                added_at: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn rename_test(&mut self, old: Id, new: Id, at: Micros) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO test_renames (old_test_id, new_test_id, renamed_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (old_test_id) DO UPDATE SET new_test_id = excluded.new_test_id, \
                 renamed_at = excluded.renamed_at",
            )?
            .execute(params![old, new, at])?;
        Ok(())
    }

    fn renames(&mut self) -> Result<Vec<(Id, Id)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT old_test_id, new_test_id FROM test_renames ORDER BY renamed_at, old_test_id",
        )?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn move_problems(&mut self, old: Id, new: Id) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE problems SET test_id = ?2 WHERE test_id = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM problems q WHERE q.test_id = ?2 AND q.branch = problems.branch \
                  AND q.first_build_id = problems.first_build_id)",
            )?
            .execute(params![old, new])?;
        Ok(())
    }

    fn failures(&mut self, branch: Option<&str>, since: Option<Micros>) -> Result<Vec<FailureRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.test_id, t.name, bl.name, b.number, b.time, b.revision, m.text, \
             r.details, d.data \
             FROM results r JOIN builds b ON b.id = r.build_id \
             LEFT JOIN details d ON d.id = r.details_id \
             JOIN builders bl ON bl.id = b.builder_id JOIN lanes l ON l.id = b.lane_id \
             JOIN tests t ON t.id = r.test_id LEFT JOIN messages m ON m.id = r.message_id \
             WHERE r.status IN ('failed', 'error') AND l.branch = ?1 AND b.time >= ?2 \
             ORDER BY b.time, bl.name, b.number, r.test_id",
        )?;
        let rows = stmt.query_map(
            params![branch.unwrap_or(""), since.unwrap_or(i64::MIN)],
            |row| {
                let text = details::text_of(details_at(row, 7)?.as_deref());
                Ok(FailureRow {
                    test: row.get(0)?,
                    test_name: bytes(row.get_ref(1)?),
                    builder: row.get(2)?,
                    number: row.get(3)?,
                    time: row.get(4)?,
                    revision: row.get(5)?,
                    message: opt_bytes(row.get_ref(6)?),
                    text,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn notifications(&mut self) -> Result<Vec<NotificationRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT problem_id, event, target, sent_at, attempts, last_error FROM notifications \
             ORDER BY problem_id, event, target",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(NotificationRecord {
                problem: row.get(0)?,
                event: row.get(1)?,
                target: row.get(2)?,
                sent_at: row.get(3)?,
                attempts: row.get(4)?,
                last_error: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn record_notification(
        &mut self,
        problem: Id,
        event: &str,
        target: &str,
        sent_at: Option<Micros>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO notifications (problem_id, event, target, sent_at, attempts, last_error) \
                 VALUES (?1, ?2, ?3, ?4, 1, ?5) ON CONFLICT (problem_id, event, target) DO UPDATE SET \
                 sent_at = coalesce(notifications.sent_at, excluded.sent_at), \
                 attempts = notifications.attempts + 1, last_error = excluded.last_error",
            )?
            .execute(params![problem, event, target, sent_at, error])?;
        Ok(())
    }

    fn notify_baseline(&mut self) -> Result<Option<Micros>> {
        Ok(self
            .conn
            .prepare_cached("SELECT set_at FROM notify_baseline WHERE id = 1")?
            .query_row([], |row| row.get(0))
            .optional()?)
    }

    fn set_notify_baseline(&mut self, at: Micros) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO notify_baseline (id, set_at) VALUES (1, ?1) \
                 ON CONFLICT (id) DO UPDATE SET set_at = excluded.set_at",
            )?
            .execute([at])?;
        Ok(())
    }

    fn read_table(
        &mut self,
        table: &Table,
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.column_list(),
            table.name,
            table.order_list()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(table.columns.len());
            for (i, column) in table.columns.iter().enumerate() {
                cells.push(match (row.get_ref(i)?, column.kind) {
                    (ValueRef::Null, _) => Cell::Null,
                    (ValueRef::Integer(v), _) => Cell::Int(v),
                    (ValueRef::Real(v), _) => Cell::Real(v),
                    (ValueRef::Text(t), ColumnType::Bytes | ColumnType::Blob)
                    | (ValueRef::Blob(t), ColumnType::Bytes | ColumnType::Blob) => {
                        Cell::Bytes(t.to_vec())
                    }
                    (ValueRef::Text(t) | ValueRef::Blob(t), _) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            each(cells)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.column_list(),
            vec!["?"; table.columns.len()].join(", ")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for row in rows {
            Cell::check_row(table, row)?;
            let values = row
                .iter()
                .zip(table.columns)
                .map(|(cell, column)| match cell {
                    Cell::Null => Value::Null,
                    Cell::Int(v) => Value::Integer(*v),
                    Cell::Real(v) => Value::Real(*v),
                    Cell::Text(t) => Value::Text(t.clone()),
                    Cell::Bytes(b) if column.kind == ColumnType::Bytes => text(b),
                    Cell::Bytes(b) => Value::Blob(b.clone()),
                });
            stmt.execute(rusqlite::params_from_iter(values))?;
        }
        Ok(())
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let n: i64 =
            self.conn
                .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |row| {
                    row.get(0)
                })?;
        Ok(n.max(0) as u64)
    }

    fn finish_copy(&mut self) -> Result<()> {
        // INTEGER PRIMARY KEY takes the next id above the largest one by itself.
        Ok(())
    }
}

impl SqliteStore {
    fn details_id(&mut self, details: &Details) -> Result<Id> {
        let hash = details.key();
        if let Some(&id) = self.text_ids.get(&(TextKind::Details, hash)) {
            return Ok(id);
        }
        let id = self.lookup_details_id(details, hash)?;
        self.text_ids.insert((TextKind::Details, hash), id);
        Ok(id)
    }

    fn lookup_details_id(&mut self, details: &Details, hash: [u8; 16]) -> Result<Id> {
        let found: Option<Id> = self
            .conn
            .prepare_cached("SELECT id FROM details WHERE hash = ?1")?
            .query_row([&hash[..]], |row| row.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.conn
            .prepare_cached("INSERT INTO details (hash, data) VALUES (?1, ?2)")?
            .execute(params![&hash[..], &*details.packed()])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn message_id(&mut self, message: &[u8]) -> Result<Id> {
        let hash = key(message);
        if let Some(&id) = self.text_ids.get(&(TextKind::Message, hash)) {
            return Ok(id);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO messages (hash, text) VALUES (?1, ?2) ON CONFLICT (hash) DO NOTHING",
            )?
            .execute(params![&hash[..], text(message)])?;
        let id = self
            .conn
            .prepare_cached("SELECT id FROM messages WHERE hash = ?1")?
            .query_row([&hash[..]], |row| row.get::<_, Id>(0))?;
        self.text_ids.insert((TextKind::Message, hash), id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builders that ingest into a new shared file at the same moment all switch it to WAL; the
    /// switch upgrades a read to a write, where SQLite does not wait (it would deadlock), so the
    /// store waits itself.
    #[test]
    fn a_new_database_opens_while_another_process_holds_its_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let hold = Duration::from_millis(300);
        let release = std::thread::spawn(move || {
            std::thread::sleep(hold);
            holder.execute_batch("ROLLBACK").unwrap();
        });
        let started = Instant::now();
        let store = SqliteStore::open(&path, OpenMode::Create);
        release.join().unwrap();
        let mut store = store.unwrap();
        assert!(started.elapsed() >= hold, "it waited for the lock");
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert!(
            store.lanes().unwrap().is_empty(),
            "and it is a probtrack database"
        );
    }
}
