//! MySQL or MariaDB: a shared database server for many builders. Mirrors `sqlite.rs` method for
//! method: the same answers, in the same order.
//!
//! Writers take turns: [`Store::begin_write`] takes a named lock for the whole database
//! (`GET_LOCK`) before it starts a transaction, as SQLite's `BEGIN IMMEDIATE` does. Text that came
//! from a report is kept as its bytes (LONGBLOB); other text uses a binary collation, and text
//! identities of any length are unique through generated MD5 key columns (see
//! `migrations/mysql/0001_initial.sql` and `docs/schema.md`).

use std::collections::HashMap;

use bstr::BString;
use mysql::prelude::{FromValue, Queryable};
use mysql::{Conn, Opts, OptsBuilder, Params, Row, Value};
use probtrack_parsers::{Kind, Status};

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

/// How long a writer waits for another to finish before giving up, in seconds.
const WRITE_LOCK_TIMEOUT: u32 = 600;
/// How long a first open waits for another process's migration, in seconds.
const MIGRATE_LOCK_TIMEOUT: u32 = 300;
/// Rows per multi-row statement, and a byte budget per statement well below `max_allowed_packet`.
const CHUNK_ROWS: usize = 1000;
const CHUNK_BYTES: usize = 4 << 20;

/// A lock name unique to the connection's database (lock names are server-wide, at most 64
/// characters).
fn lock_name(prefix: &str) -> String {
    format!("CONCAT('{prefix}:', IF(CHAR_LENGTH(DATABASE()) <= 40, DATABASE(), MD5(DATABASE())))")
}

pub struct MysqlStore {
    conn: Conn,
    /// The URL with any password redacted.
    shown: String,
    /// Between `begin_write` and `commit`/`rollback`: the transaction and write lock are held.
    writing: bool,
}

/// A MySQL error as a probtrack error, with what to do about it.
fn my_error(e: mysql::Error) -> Error {
    match &e {
        mysql::Error::MySqlError(server) => {
            let err = Error::database(format!(
                "database error {}: {}",
                server.code, server.message
            ));
            match server.code {
                1049 => err.hint(
                    "probtrack does not create server databases: run `CREATE DATABASE name` \
                     (as a user allowed to), then try again",
                ),
                1044 | 1045 | 1142 | 1143 | 1698 => err.hint(
                    "check the user name and password in the URL, and that the user has \
                     privileges on the database (GRANT ALL ON name.* TO user)",
                ),
                1205 | 1213 => err.hint(
                    "another session held rows this command needed (a lock wait timeout or \
                     deadlock); nothing was written: try again",
                ),
                1153 => err.hint("raise the server's max_allowed_packet"),
                _ => err,
            }
        }
        mysql::Error::IoError(io) => Error::database(format!("database connection error: {io}"))
            .hint("the connection to the server was lost; check the server and try again"),
        mysql::Error::DriverError(driver) => Error::database(format!("database error: {driver}")),
        other => Error::database(format!("database error: {other}")),
    }
}

trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, mysql::Error> {
    fn db(self) -> Result<T> {
        self.map_err(my_error)
    }
}

macro_rules! args {
    ($($v:expr),* $(,)?) => {
        Params::Positional(vec![$(Value::from($v)),*])
    };
}

/// Column `i` of a row, converted.
fn col<T: FromValue>(row: &Row, i: usize) -> Result<T> {
    match row.get_opt::<T, usize>(i) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(Error::database(format!(
            "unexpected value in column {i} of a database row: {e}"
        ))),
        None => Err(Error::database(format!("a database row has no column {i}"))),
    }
}

fn bytes(row: &Row, i: usize) -> Result<BString> {
    Ok(BString::from(col::<Vec<u8>>(row, i)?))
}

fn opt_bytes(row: &Row, i: usize) -> Result<Option<BString>> {
    Ok(col::<Option<Vec<u8>>>(row, i)?.map(BString::from))
}

fn status(text: &str) -> Result<Status> {
    text.parse()
        .map_err(|e: String| Error::database(format!("bad status in the database: {e}")))
}

fn opt_status(text: Option<String>) -> Result<Option<Status>> {
    text.as_deref().map(status).transpose()
}

fn kind(text: &str) -> Result<Kind> {
    text.parse()
        .map_err(|e: String| Error::database(format!("bad test kind in the database: {e}")))
}

fn branch(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A result's details from columns `at` (inline, schema 2) and `at + 1` (packed, schema 3).
fn details_at(row: &Row, at: usize) -> Result<Option<String>> {
    let packed: Option<Vec<u8>> = col(row, at + 1)?;
    Ok(details::either(col(row, at)?, packed.as_deref()))
}

/// The columns `result_record` reads, from `results r`, `messages m` and `details d`.
const RESULT_COLUMNS: &str =
    "r.test_id, r.status, r.duration, m.text, r.attempts, r.details, d.data";

/// `?, ?, ?` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// An exact match of a text identity column that has an MD5 `key` column beside it.
fn same(column: &str, key: &str) -> String {
    format!("{key} = UNHEX(MD5(?)) AND {column} = ?")
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Bytes(b) => b.len() + 8,
        _ => 9,
    }
}

const BUILD_COLUMNS: &str = "b.id, bl.name, b.number, b.lane_id, l.branch, b.revision, b.time, \
     b.finished_at, b.result, b.properties, b.clean, b.passed, b.failed, b.error, b.skipped, \
     b.expected_failure, b.unexpected_success, b.flaky";

fn build_record(row: &Row) -> Result<BuildRecord> {
    let n = |i: usize| -> Result<u64> { col::<i64>(row, i).map(|v| v.max(0) as u64) };
    Ok(BuildRecord {
        id: col(row, 0)?,
        builder: col(row, 1)?,
        number: col(row, 2)?,
        lane: col(row, 3)?,
        branch: branch(col(row, 4)?),
        revision: col(row, 5)?,
        time: col(row, 6)?,
        finished_at: col(row, 7)?,
        result: col(row, 8)?,
        properties: col(row, 9)?,
        clean: col::<i64>(row, 10)? != 0,
        counts: Counts {
            passed: n(11)?,
            failed: n(12)?,
            error: n(13)?,
            skipped: n(14)?,
            expected_failure: n(15)?,
            unexpected_success: n(16)?,
            flaky: n(17)?,
        },
    })
}

const TEST_COLUMNS: &str = "id, name, kind, file, runner_id";

fn test_record(row: &Row) -> Result<TestRecord> {
    Ok(TestRecord {
        id: col(row, 0)?,
        name: bytes(row, 1)?,
        kind: kind(&col::<String>(row, 2)?)?,
        file: opt_bytes(row, 3)?,
        runner_id: col(row, 4)?,
    })
}

fn result_record(row: &Row) -> Result<ResultRecord> {
    Ok(ResultRecord {
        test: col(row, 0)?,
        status: status(&col::<String>(row, 1)?)?,
        duration: col(row, 2)?,
        message: opt_bytes(row, 3)?,
        attempts: col::<i64>(row, 4)?.clamp(1, i64::from(u32::MAX)) as u32,
        details: details_at(row, 5)?.map(Details::from),
    })
}

fn change_record(row: &Row) -> Result<ChangeRecord> {
    Ok(ChangeRecord {
        revision: col(row, 0)?,
        author: col(row, 1)?,
        time: col(row, 2)?,
        comments: col(row, 3)?,
        parents: col(row, 4)?,
    })
}

/// The statements of a migration file: split at `;` that ends a line, comment lines left out.
fn statements(sql: &str) -> Vec<String> {
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

impl MysqlStore {
    pub fn open(url: &str, mode: OpenMode) -> Result<Box<dyn Store>> {
        let shown = super::redact(url);
        let opts = Opts::from_url(url).map_err(|e| {
            Error::usage(format!("database `{shown}`: not a usable MySQL URL ({e})"))
                .hint("write `mysql://USER:PASSWORD@HOST:PORT/DATABASE`")
        })?;
        if opts.get_db_name().is_none_or(str::is_empty) {
            return Err(
                Error::usage(format!("database `{shown}` names no database"))
                    .hint("write `mysql://USER@HOST:PORT/DATABASE`"),
            );
        }
        let address = format!("{}:{}", opts.get_ip_or_hostname(), opts.get_tcp_port());
        let name = opts.get_db_name().unwrap_or_default().to_owned();
        let builder = OptsBuilder::from_opts(opts)
            .stmt_cache_size(Some(128))
            .init(vec![
                "SET NAMES utf8mb4",
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,\
                 ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
                "SET SESSION time_zone = '+00:00'",
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                // ORDER BY on long text compares only max_sort_length bytes (default 1024): all
                // of a TEXT (64 KiB), with a sort buffer that holds many such keys.
                "SET SESSION max_sort_length = 65536",
                "SET SESSION sort_buffer_size = 8388608",
            ]);
        let refused = |why: String| {
            Error::database(format!(
                "cannot connect to the MySQL/MariaDB server at {address} ({shown}): {why}"
            ))
            .hint(format!(
                "start the server at {address}, or fix the host and port in the URL"
            ))
        };
        let conn = Conn::new(builder).map_err(|e| match e {
            mysql::Error::IoError(io) => refused(io.to_string()),
            mysql::Error::DriverError(driver) => refused(driver.to_string()),
            mysql::Error::MySqlError(ref server) if server.code == 1049 => Error::database(
                format!("cannot open the database {shown}: the server has no database `{name}`"),
            )
            .hint(format!(
                "probtrack does not create server databases: run `CREATE DATABASE {name}` \
                 (as a user allowed to), then try again"
            )),
            other => my_error(other).context(format!("cannot open the database {shown}")),
        })?;
        let mut store = MysqlStore {
            conn,
            shown,
            writing: false,
        };
        store.prepare(mode)?;
        Ok(Box::new(store))
    }

    fn prepare(&mut self, mode: OpenMode) -> Result<()> {
        let has_schema = self.has_table("schema_version")?;
        let found = if has_schema {
            self.schema_version()?
        } else {
            0
        };
        let pending = migrate::pending(migrate::MYSQL, found)?;
        if pending.is_empty() {
            return Ok(());
        }
        if !has_schema && self.has_tables()? {
            return Err(Error::database(format!(
                "{} is a MySQL/MariaDB database, but not one of probtrack's",
                self.shown
            ))
            .hint("create an empty database for probtrack (`CREATE DATABASE name`) and name it in the URL"));
        }
        if found == 0 && mode == OpenMode::Existing {
            return Err(Error::database(format!(
                "no probtrack database at {}",
                self.shown
            ))
            .hint("ingest a report to create it: `probtrack --db URL ingest --builder NAME --build N REPORT`")
            .hint("or name an existing database with --db or PROBTRACK_DB"));
        }
        let lock = lock_name("probtrack_migrate");
        let got: Option<Option<i64>> = self
            .conn
            .query_first(format!("SELECT GET_LOCK({lock}, {MIGRATE_LOCK_TIMEOUT})"))
            .db()?;
        if got != Some(Some(1)) {
            return Err(Error::database(format!(
                "another probtrack process held {} while it created or upgraded the schema",
                self.shown
            ))
            .hint("try again"));
        }
        let outcome = self.migrate();
        let _: Option<Option<i64>> = self
            .conn
            .query_first(format!("SELECT RELEASE_LOCK({lock})"))
            .db()?;
        outcome
    }

    /// Applies the pending migrations; the caller holds the migration lock. DDL commits as it goes,
    /// so every statement can run again after a failure half-way.
    fn migrate(&mut self) -> Result<()> {
        // Another process may have migrated while we waited for the lock.
        let found = if self.has_table("schema_version")? {
            self.schema_version()?
        } else {
            0
        };
        let collation = self.binary_collation()?;
        for migration in migrate::pending(migrate::MYSQL, found)? {
            let failed = |e: Error| {
                e.context(format!(
                    "migration {} ({}) failed",
                    migration.version, migration.name
                ))
            };
            let sql = migration.sql.replace("utf8mb4_bin", &collation);
            for statement in statements(&sql) {
                match self.conn.query_drop(&statement) {
                    Ok(()) => {}
                    // Already done by an earlier attempt: the table, column, index or key exists.
                    Err(mysql::Error::MySqlError(e))
                        if matches!(e.code, 1050 | 1060 | 1061 | 1826) => {}
                    Err(e) => return Err(failed(my_error(e))),
                }
            }
            self.conn
                .exec_drop(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    args![migration.version, clock::to_micros(clock::now())],
                )
                .db()
                .map_err(failed)?;
        }
        Ok(())
    }

    /// The binary collation to use: one that does not pad with spaces where the server has one
    /// (`'a' = 'a '` is false), so that equality is exact and ORDER BY is byte order.
    fn binary_collation(&mut self) -> Result<String> {
        let names: Vec<String> = self
            .conn
            .query(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
                 WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
            )
            .db()?;
        Ok(["utf8mb4_nopad_bin", "utf8mb4_0900_bin"]
            .into_iter()
            .find(|c| names.iter().any(|n| n == c))
            .unwrap_or("utf8mb4_bin")
            .to_owned())
    }

    fn has_table(&mut self, name: &str) -> Result<bool> {
        let n: Option<i64> = self
            .conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                args![name],
            )
            .db()?;
        Ok(n.unwrap_or(0) > 0)
    }

    fn has_tables(&mut self) -> Result<bool> {
        let n: Option<i64> = self
            .conn
            .query_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .db()?;
        Ok(n.unwrap_or(0) > 0)
    }

    fn schema_version(&mut self) -> Result<i64> {
        let v: Option<i64> = self
            .conn
            .query_first("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            .db()?;
        Ok(v.unwrap_or(0))
    }

    fn rows(&mut self, sql: &str, params: Params) -> Result<Vec<Row>> {
        self.conn.exec(sql, params).db()
    }

    fn first(&mut self, sql: &str, params: Params) -> Result<Option<Row>> {
        self.conn.exec_first(sql, params).db()
    }

    fn run(&mut self, sql: &str, params: Params) -> Result<u64> {
        self.conn.exec_drop(sql, params).db()?;
        Ok(self.conn.affected_rows())
    }

    fn insert(&mut self, sql: &str, params: Params) -> Result<Id> {
        self.conn.exec_drop(sql, params).db()?;
        Id::try_from(self.conn.last_insert_id())
            .map_err(|_| Error::database("the server returned an id out of range"))
    }

    fn id(&mut self, sql: &str, params: Params) -> Result<Option<Id>> {
        self.first(sql, params)?.map(|row| col(&row, 0)).transpose()
    }

    /// Runs `head VALUES (...), (...) tail` for many rows, a chunk at a time.
    fn insert_many(
        &mut self,
        head: &str,
        row_marks: &str,
        tail: &str,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Result<()> {
        let mut values: Vec<Value> = Vec::new();
        let mut n = 0;
        let mut size = 0;
        let flush = |conn: &mut Conn, values: &mut Vec<Value>, n: &mut usize| -> Result<()> {
            if *n == 0 {
                return Ok(());
            }
            let sql = format!("{head} VALUES {} {tail}", vec![row_marks; *n].join(", "));
            conn.exec_drop(sql, Params::Positional(std::mem::take(values)))
                .db()?;
            *n = 0;
            Ok(())
        };
        for row in rows {
            size += row.iter().map(value_size).sum::<usize>();
            values.extend(row);
            n += 1;
            if n >= CHUNK_ROWS || size >= CHUNK_BYTES {
                flush(&mut self.conn, &mut values, &mut n)?;
                size = 0;
            }
        }
        flush(&mut self.conn, &mut values, &mut n)
    }

    fn user_id(&mut self, name: &str) -> Result<Id> {
        let find = format!("SELECT id FROM users WHERE {}", same("name", "name_key"));
        if let Some(id) = self.id(&find, args![name, name])? {
            return Ok(id);
        }
        self.run(
            "INSERT INTO users (name) VALUES (?) ON DUPLICATE KEY UPDATE id = id",
            args![name],
        )?;
        self.id(&find, args![name, name])?
            .ok_or_else(|| Error::database(format!("user `{name}` vanished while being created")))
    }

    /// The ids of these message texts, creating the new ones (in order of first appearance).
    fn message_ids(&mut self, texts: &[&[u8]]) -> Result<HashMap<[u8; 16], Id>> {
        let keys: Vec<[u8; 16]> = texts.iter().map(|t| key(t)).collect();
        self.hashed_ids("messages", "text", &keys, |i| texts[i].to_vec())
    }

    /// The ids of these details objects (JSON text), created (packed) where new.
    fn details_ids(&mut self, objects: &[&Details]) -> Result<HashMap<[u8; 16], Id>> {
        let keys: Vec<[u8; 16]> = objects.iter().map(|d| d.key()).collect();
        self.hashed_ids("details", "data", &keys, |i| {
            objects[i].packed().into_owned()
        })
    }

    /// The ids of rows of `table` (keyed by `hash`) for `keys`, creating the missing ones with
    /// `column` = `value(i)` for the i-th key, in order of first appearance.
    fn hashed_ids(
        &mut self,
        table: &str,
        column: &str,
        keys: &[[u8; 16]],
        value: impl Fn(usize) -> Vec<u8>,
    ) -> Result<HashMap<[u8; 16], Id>> {
        let mut order: Vec<([u8; 16], usize)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, hash) in keys.iter().enumerate() {
            if seen.insert(*hash) {
                order.push((*hash, i));
            }
        }
        let mut found = self.ids_by_hash(table, "hash", order.iter().map(|(h, _)| *h))?;
        let new: Vec<Vec<Value>> = order
            .iter()
            .filter(|(h, _)| !found.contains_key(h))
            .map(|(h, i)| vec![Value::from(&h[..]), Value::from(value(*i))])
            .collect();
        if !new.is_empty() {
            let insert = format!("INSERT INTO {table} (hash, {column})");
            self.insert_many(&insert, "(?, ?)", "", new)?;
            let missing: Vec<[u8; 16]> = order
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| !found.contains_key(h))
                .collect();
            found.extend(self.ids_by_hash(table, "hash", missing)?);
        }
        Ok(found)
    }

    /// `hash -> id` of the rows of `table` whose `column` is one of `hashes`.
    fn ids_by_hash(
        &mut self,
        table: &str,
        column: &str,
        hashes: impl IntoIterator<Item = [u8; 16]>,
    ) -> Result<HashMap<[u8; 16], Id>> {
        let hashes: Vec<[u8; 16]> = hashes.into_iter().collect();
        let mut out = HashMap::with_capacity(hashes.len());
        for chunk in hashes.chunks(CHUNK_ROWS) {
            let sql = format!(
                "SELECT {column}, id FROM {table} WHERE {column} IN ({})",
                marks(chunk.len())
            );
            let params = Params::Positional(chunk.iter().map(|h| Value::from(&h[..])).collect());
            for row in self.rows(&sql, params)? {
                let hash: Vec<u8> = col(&row, 0)?;
                if let Ok(hash) = <[u8; 16]>::try_from(hash.as_slice()) {
                    out.insert(hash, col(&row, 1)?);
                }
            }
        }
        Ok(out)
    }

    fn release_write_lock(&mut self) -> Result<()> {
        let lock = lock_name("probtrack_write");
        let _: Option<Option<i64>> = self
            .conn
            .query_first(format!("SELECT RELEASE_LOCK({lock})"))
            .db()?;
        Ok(())
    }

    /// `AND p.id IN (...)`-style lists of ids, a chunk at a time.
    fn id_chunks(ids: &[Id]) -> impl Iterator<Item = String> + '_ {
        ids.chunks(CHUNK_ROWS).map(|chunk| {
            chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

impl Store for MysqlStore {
    fn location(&self) -> String {
        self.shown.clone()
    }

    fn begin_write(&mut self) -> Result<()> {
        let lock = lock_name("probtrack_write");
        let got: Option<Option<i64>> = self
            .conn
            .query_first(format!("SELECT GET_LOCK({lock}, {WRITE_LOCK_TIMEOUT})"))
            .db()?;
        if got != Some(Some(1)) {
            return Err(Error::database(format!(
                "another probtrack process held the write lock of {} for {} minutes",
                self.shown,
                WRITE_LOCK_TIMEOUT / 60
            ))
            .hint("another probtrack process held the database past the timeout; try again"));
        }
        if let Err(e) = self.conn.query_drop("START TRANSACTION") {
            let _ = self.release_write_lock();
            return Err(my_error(e));
        }
        self.writing = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let outcome = self.conn.query_drop("COMMIT").db();
        self.writing = false;
        let released = self.release_write_lock();
        outcome.and(released)
    }

    fn savepoint(&mut self) -> Result<()> {
        self.conn.query_drop("SAVEPOINT build").db()
    }

    fn release_savepoint(&mut self) -> Result<()> {
        self.conn.query_drop("RELEASE SAVEPOINT build").db()
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.conn.query_drop("ROLLBACK TO SAVEPOINT build").db()?;
        self.conn.query_drop("RELEASE SAVEPOINT build").db()
    }

    fn rollback(&mut self) -> Result<()> {
        if !self.writing {
            return Ok(());
        }
        let outcome = self.conn.query_drop("ROLLBACK").db();
        self.writing = false;
        let released = self.release_write_lock();
        outcome.and(released)
    }

    fn builder_id(&mut self, name: &str) -> Result<Option<Id>> {
        let sql = format!("SELECT id FROM builders WHERE {}", same("name", "name_key"));
        self.id(&sql, args![name, name])
    }

    fn create_builder(&mut self, name: &str) -> Result<Id> {
        if let Some(id) = self.builder_id(name)? {
            return Ok(id);
        }
        self.run(
            "INSERT INTO builders (name) VALUES (?) ON DUPLICATE KEY UPDATE id = id",
            args![name],
        )?;
        self.builder_id(name)?.ok_or_else(|| {
            Error::database(format!("builder `{name}` vanished while being created"))
        })
    }

    fn lane_id(&mut self, builder: Id, branch: Option<&str>) -> Result<Id> {
        let branch = branch.unwrap_or("");
        let find = format!(
            "SELECT id FROM lanes WHERE builder_id = ? AND {}",
            same("branch", "branch_key")
        );
        if let Some(id) = self.id(&find, args![builder, branch, branch])? {
            return Ok(id);
        }
        self.run(
            "INSERT INTO lanes (builder_id, branch) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = id",
            args![builder, branch],
        )?;
        self.id(&find, args![builder, branch, branch])?
            .ok_or_else(|| Error::database("a lane vanished while being created"))
    }

    fn lanes(&mut self) -> Result<Vec<LaneRecord>> {
        let rows = self.rows(
            "SELECT l.id, b.name, l.branch, l.pruned_before FROM lanes l \
             JOIN builders b ON b.id = l.builder_id ORDER BY b.name, l.branch",
            Params::Empty,
        )?;
        rows.iter()
            .map(|row| {
                Ok(LaneRecord {
                    id: col(row, 0)?,
                    builder: col(row, 1)?,
                    branch: branch(col(row, 2)?),
                    pruned_before: col(row, 3)?,
                })
            })
            .collect()
    }

    fn set_pruned_before(&mut self, lane: Id, number: i64) -> Result<()> {
        self.run(
            "UPDATE lanes SET pruned_before = GREATEST(COALESCE(pruned_before, ?), ?) WHERE id = ?",
            args![number, number, lane],
        )?;
        Ok(())
    }

    fn find_build(&mut self, builder: &str, number: i64) -> Result<Option<BuildRecord>> {
        let sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b JOIN builders bl ON bl.id = b.builder_id \
             JOIN lanes l ON l.id = b.lane_id WHERE {} AND b.number = ?",
            same("bl.name", "bl.name_key")
        );
        self.first(&sql, args![builder, builder, number])?
            .map(|row| build_record(&row))
            .transpose()
    }

    fn insert_build(&mut self, build: &NewBuild) -> Result<Id> {
        self.insert(
            "INSERT INTO builds (builder_id, number, lane_id, revision, time, finished_at, \
             result, properties, clean, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            args![
                build.builder,
                build.number,
                build.lane,
                build.revision.as_deref(),
                build.time,
                build.finished_at,
                build.result.as_deref(),
                build.properties.as_str(),
                i64::from(build.clean),
                build.ingested_at
            ],
        )
    }

    fn update_build(&mut self, id: Id, build: &NewBuild) -> Result<()> {
        self.run(
            "UPDATE builds SET lane_id = ?, revision = ?, time = ?, finished_at = ?, \
             result = ?, properties = ?, clean = ?, ingested_at = ? WHERE id = ?",
            args![
                build.lane,
                build.revision.as_deref(),
                build.time,
                build.finished_at,
                build.result.as_deref(),
                build.properties.as_str(),
                i64::from(build.clean),
                build.ingested_at,
                id
            ],
        )?;
        Ok(())
    }

    fn set_build_outcome(&mut self, id: Id, counts: &Counts, durations: &[u8]) -> Result<()> {
        self.run(
            "UPDATE builds SET passed = ?, failed = ?, error = ?, skipped = ?, \
             expected_failure = ?, unexpected_success = ?, flaky = ?, durations = ? WHERE id = ?",
            args![
                count(counts.passed),
                count(counts.failed),
                count(counts.error),
                count(counts.skipped),
                count(counts.expected_failure),
                count(counts.unexpected_success),
                count(counts.flaky),
                durations,
                id
            ],
        )?;
        Ok(())
    }

    fn delete_build(&mut self, id: Id) -> Result<()> {
        self.run("DELETE FROM builds WHERE id = ?", args![id])?;
        Ok(())
    }

    fn clear_build(&mut self, id: Id) -> Result<()> {
        for sql in [
            "DELETE FROM reports WHERE build_id = ?",
            "DELETE FROM results WHERE build_id = ?",
            "DELETE FROM build_changes WHERE build_id = ?",
        ] {
            self.run(sql, args![id])?;
        }
        Ok(())
    }

    fn lane_builds(&mut self, lane: Id) -> Result<Vec<LaneBuild>> {
        let rows = self.rows(
            "SELECT number, id, revision, time FROM builds WHERE lane_id = ? ORDER BY number",
            args![lane],
        )?;
        rows.iter()
            .map(|row| {
                Ok(LaneBuild {
                    number: col(row, 0)?,
                    id: col(row, 1)?,
                    revision: col(row, 2)?,
                    time: col(row, 3)?,
                })
            })
            .collect()
    }

    fn recent_builds(&mut self, filter: &BuildFilter) -> Result<Vec<BuildRecord>> {
        let mut sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b JOIN builders bl ON bl.id = b.builder_id \
             JOIN lanes l ON l.id = b.lane_id WHERE 1 = 1"
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(builder) = &filter.builder {
            sql += &format!(" AND {}", same("bl.name", "bl.name_key"));
            args.push(Value::from(builder.as_str()));
            args.push(Value::from(builder.as_str()));
        }
        if let Some(branch) = &filter.branch {
            let branch = branch.as_deref().unwrap_or("");
            sql += &format!(" AND {}", same("l.branch", "l.branch_key"));
            args.push(Value::from(branch));
            args.push(Value::from(branch));
        }
        args.push(Value::from(i64::try_from(filter.limit).unwrap_or(i64::MAX)));
        sql += " ORDER BY b.time DESC, bl.name, b.number DESC LIMIT ?";
        let rows = self.rows(&sql, Params::Positional(args))?;
        rows.iter().map(build_record).collect()
    }

    fn build_durations(&mut self, build: Id) -> Result<Option<Vec<u8>>> {
        Ok(self
            .first("SELECT durations FROM builds WHERE id = ?", args![build])?
            .map(|row| col::<Option<Vec<u8>>>(&row, 0))
            .transpose()?
            .flatten())
    }

    fn report_exists(&mut self, build: Id, hash: &[u8]) -> Result<bool> {
        Ok(self
            .first(
                "SELECT 1 FROM reports WHERE build_id = ? AND hash = ?",
                args![build, hash],
            )?
            .is_some())
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
        self.run(
            "INSERT INTO reports (build_id, hash, name, parser, results, ingested_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
            args![build, hash, name, parser, count(results), at],
        )?;
        Ok(())
    }

    fn upsert_change(&mut self, change: &ChangeRecord) -> Result<Id> {
        let user = match &change.author {
            Some(author) => Some(self.user_id(author)?),
            None => None,
        };
        let revision = change.revision.as_str();
        let find = format!(
            "SELECT id FROM changes WHERE {}",
            same("revision", "revision_key")
        );
        // What is known about a change only grows: a later, fuller record fills in the blanks.
        if let Some(id) = self.id(&find, args![revision, revision])? {
            self.run(
                "UPDATE changes SET user_id = COALESCE(?, user_id), time = COALESCE(?, time), \
                 comments = COALESCE(?, comments), parents = COALESCE(?, parents) WHERE id = ?",
                args![
                    user,
                    change.time,
                    change.comments.as_deref(),
                    change.parents.as_deref(),
                    id
                ],
            )?;
            return Ok(id);
        }
        self.run(
            "INSERT INTO changes (revision, user_id, time, comments, parents) \
             VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
             user_id = COALESCE(VALUES(user_id), user_id), time = COALESCE(VALUES(time), time), \
             comments = COALESCE(VALUES(comments), comments), \
             parents = COALESCE(VALUES(parents), parents)",
            args![
                revision,
                user,
                change.time,
                change.comments.as_deref(),
                change.parents.as_deref()
            ],
        )?;
        self.id(&find, args![revision, revision])?.ok_or_else(|| {
            Error::database(format!("change `{revision}` vanished while being created"))
        })
    }

    fn link_change(&mut self, build: Id, change: Id) -> Result<()> {
        self.run(
            "INSERT INTO build_changes (build_id, change_id) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE build_id = build_id",
            args![build, change],
        )?;
        Ok(())
    }

    fn build_changes(&mut self, build: Id) -> Result<Vec<ChangeRecord>> {
        let rows = self.rows(
            "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM build_changes bc \
             JOIN changes c ON c.id = bc.change_id LEFT JOIN users u ON u.id = c.user_id \
             WHERE bc.build_id = ? ORDER BY COALESCE(c.time, 0), c.revision",
            args![build],
        )?;
        rows.iter().map(change_record).collect()
    }

    fn change(&mut self, revision: &str) -> Result<Option<ChangeRecord>> {
        let sql = format!(
            "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM changes c \
             LEFT JOIN users u ON u.id = c.user_id WHERE {}",
            same("c.revision", "c.revision_key")
        );
        self.first(&sql, args![revision, revision])?
            .map(|row| change_record(&row))
            .transpose()
    }

    fn test_ids(&mut self, tests: &[NewTest]) -> Result<Vec<Id>> {
        // Look the tests up by key, a chunk at a time; create the new ones with multi-row inserts
        // and read their ids back by key (auto-increment ids need not be consecutive).
        let keys: Vec<[u8; 16]> = tests.iter().map(|t| key(&t.name)).collect();
        let mut found: HashMap<[u8; 16], (Id, Option<String>)> =
            HashMap::with_capacity(tests.len());
        for chunk in keys.chunks(CHUNK_ROWS) {
            let sql = format!(
                "SELECT name_hash, id, runner_id FROM tests WHERE name_hash IN ({})",
                marks(chunk.len())
            );
            let params = Params::Positional(chunk.iter().map(|k| Value::from(&k[..])).collect());
            for row in self.rows(&sql, params)? {
                let hash: Vec<u8> = col(&row, 0)?;
                if let Ok(hash) = <[u8; 16]>::try_from(hash.as_slice()) {
                    found.insert(hash, (col(&row, 1)?, col(&row, 2)?));
                }
            }
        }
        // As SQLite's one-at-a-time loop: a new test is created from its first appearance; a
        // test's runner id becomes the last one given (where one is given).
        let mut new: Vec<usize> = Vec::new();
        let mut new_seen = std::collections::HashSet::new();
        let mut runner: HashMap<[u8; 16], Option<String>> = HashMap::new();
        for (i, (test, hash)) in tests.iter().zip(&keys).enumerate() {
            if !found.contains_key(hash) && new_seen.insert(*hash) {
                new.push(i);
                runner.insert(*hash, test.runner_id.clone());
            }
            if test.runner_id.is_some() {
                runner.insert(*hash, test.runner_id.clone());
            }
        }
        if !new.is_empty() {
            let rows: Vec<Vec<Value>> = new
                .iter()
                .map(|&i| {
                    let test = &tests[i];
                    let hash = keys[i];
                    vec![
                        Value::from(&hash[..]),
                        Value::from(test.name.as_slice()),
                        Value::from(test.kind.as_str()),
                        Value::from(test.file.as_ref().map(|f| f.as_slice())),
                        Value::from(runner.get(&hash).cloned().flatten()),
                    ]
                })
                .collect();
            self.insert_many(
                "INSERT INTO tests (name_hash, name, kind, file, runner_id)",
                "(?, ?, ?, ?, ?)",
                "",
                rows,
            )?;
            let ids = self.ids_by_hash("tests", "name_hash", new.iter().map(|&i| keys[i]))?;
            for &i in &new {
                let hash = keys[i];
                let id = ids.get(&hash).copied().ok_or_else(|| {
                    Error::database("a test vanished while being created".to_owned())
                })?;
                found.insert(hash, (id, runner.get(&hash).cloned().flatten()));
            }
        }
        let mut ids = Vec::with_capacity(tests.len());
        for hash in &keys {
            let Some((id, stored)) = found.get(hash).cloned() else {
                return Err(Error::database("a test vanished while being created"));
            };
            if let Some(Some(wanted)) = runner.get(hash) {
                if stored.as_deref() != Some(wanted.as_str()) {
                    self.run(
                        "UPDATE tests SET runner_id = ? WHERE id = ?",
                        args![wanted.as_str(), id],
                    )?;
                    found.insert(*hash, (id, Some(wanted.clone())));
                }
            }
            ids.push(id);
        }
        Ok(ids)
    }

    fn tests_by_id(&mut self, ids: &[Id]) -> Result<HashMap<Id, TestRecord>> {
        let mut out = HashMap::with_capacity(ids.len());
        for list in Self::id_chunks(ids) {
            let sql = format!("SELECT {TEST_COLUMNS} FROM tests WHERE id IN ({list})");
            for row in self.rows(&sql, Params::Empty)? {
                let record = test_record(&row)?;
                out.insert(record.id, record);
            }
        }
        Ok(out)
    }

    fn test_by_name(&mut self, name: &[u8]) -> Result<Option<TestRecord>> {
        let hash = key(name);
        self.first(
            &format!("SELECT {TEST_COLUMNS} FROM tests WHERE name_hash = ?"),
            args![&hash[..]],
        )?
        .map(|row| test_record(&row))
        .transpose()
    }

    fn tests_containing(&mut self, part: &[u8], limit: usize) -> Result<Vec<TestRecord>> {
        // `name` is binary: LOCATE compares bytes, so the match is case-sensitive and exact.
        let rows = self.rows(
            &format!(
                "SELECT {TEST_COLUMNS} FROM tests WHERE LOCATE(CAST(? AS BINARY), name) > 0 \
                 ORDER BY name LIMIT ?"
            ),
            args![part, i64::try_from(limit).unwrap_or(i64::MAX)],
        )?;
        rows.iter().map(test_record).collect()
    }

    fn lane_runs(&mut self, lane: Id) -> Result<HashMap<Id, Vec<Run>>> {
        let mut out: HashMap<Id, Vec<Run>> = HashMap::new();
        let result = self
            .conn
            .exec_iter(
                "SELECT test_id, first_number, status FROM runs WHERE lane_id = ? \
                 ORDER BY test_id, first_number",
                args![lane],
            )
            .db()?;
        for row in result {
            let row = row.db()?;
            out.entry(col(&row, 0)?).or_default().push(Run {
                first: col(&row, 1)?,
                status: opt_status(col(&row, 2)?)?,
            });
        }
        Ok(out)
    }

    fn write_runs(&mut self, lane: Id, test: Id, delete: &[i64], upsert: &[Run]) -> Result<()> {
        self.write_runs_many(lane, &[(test, delete.to_vec(), upsert.to_vec())])
    }

    fn write_runs_many(&mut self, lane: Id, writes: &[(Id, Vec<i64>, Vec<Run>)]) -> Result<()> {
        // Deletes first, then upserts: a test's deletes and upserts may name the same run, and
        // different tests' runs never collide.
        let deletes: Vec<(Id, i64)> = writes
            .iter()
            .flat_map(|(test, delete, _)| delete.iter().map(move |first| (*test, *first)))
            .collect();
        for chunk in deletes.chunks(CHUNK_ROWS) {
            let sql = format!(
                "DELETE FROM runs WHERE lane_id = ? AND ({})",
                vec!["(test_id = ? AND first_number = ?)"; chunk.len()].join(" OR ")
            );
            let mut params = vec![Value::from(lane)];
            for (test, first) in chunk {
                params.push(Value::from(*test));
                params.push(Value::from(*first));
            }
            self.run(&sql, Params::Positional(params))?;
        }
        let rows = writes.iter().flat_map(|(test, _, upsert)| {
            upsert.iter().map(move |run| {
                vec![
                    Value::from(lane),
                    Value::from(*test),
                    Value::from(run.first),
                    Value::from(run.status.map(Status::as_str)),
                ]
            })
        });
        self.insert_many(
            "INSERT INTO runs (lane_id, test_id, first_number, status)",
            "(?, ?, ?, ?)",
            "ON DUPLICATE KEY UPDATE status = VALUES(status)",
            rows,
        )
    }

    fn lane_compile_tests(&mut self, lane: Id) -> Result<Vec<(Id, Option<BString>)>> {
        let rows = self.rows(
            "SELECT DISTINCT t.id, t.file FROM runs r JOIN tests t ON t.id = r.test_id \
             WHERE r.lane_id = ? AND t.kind = 'compile' ORDER BY t.id",
            args![lane],
        )?;
        rows.iter()
            .map(|row| Ok((col(row, 0)?, opt_bytes(row, 1)?)))
            .collect()
    }

    fn test_runs(&mut self, test: Id) -> Result<Vec<(Id, Vec<Run>)>> {
        let rows = self.rows(
            "SELECT lane_id, first_number, status FROM runs WHERE test_id = ? \
             ORDER BY lane_id, first_number",
            args![test],
        )?;
        let mut out: Vec<(Id, Vec<Run>)> = Vec::new();
        for row in &rows {
            let lane: Id = col(row, 0)?;
            let run = Run {
                first: col(row, 1)?,
                status: opt_status(col(row, 2)?)?,
            };
            match out.last_mut() {
                Some((last, runs)) if *last == lane => runs.push(run),
                _ => out.push((lane, vec![run])),
            }
        }
        Ok(out)
    }

    fn build_results(&mut self, build: Id) -> Result<Vec<ResultRecord>> {
        let rows = self.rows(
            &format!(
                "SELECT {RESULT_COLUMNS} FROM results r \
                 LEFT JOIN messages m ON m.id = r.message_id \
                 LEFT JOIN details d ON d.id = r.details_id WHERE r.build_id = ? ORDER BY r.test_id"
            ),
            args![build],
        )?;
        rows.iter().map(result_record).collect()
    }

    fn result_message(&mut self, build: Id, test: Id) -> Result<Option<BString>> {
        self.first(
            "SELECT m.text FROM results r JOIN messages m ON m.id = r.message_id \
             WHERE r.build_id = ? AND r.test_id = ?",
            args![build, test],
        )?
        .map(|row| bytes(&row, 0))
        .transpose()
    }

    fn result_text(&mut self, build: Id, test: Id) -> Result<Option<String>> {
        let details: Option<Option<String>> = self
            .first(
                "SELECT r.details, d.data FROM results r LEFT JOIN details d ON d.id = r.details_id \
                 WHERE r.build_id = ? AND r.test_id = ?",
                args![build, test],
            )?
            .map(|row| details_at(&row, 0))
            .transpose()?;
        Ok(details::text_of(details.flatten().as_deref()))
    }

    fn test_results(&mut self, test: Id) -> Result<HashMap<Id, ResultRecord>> {
        let rows = self.rows(
            &format!(
                "SELECT {RESULT_COLUMNS}, r.build_id FROM results r \
                 LEFT JOIN messages m ON m.id = r.message_id \
                 LEFT JOIN details d ON d.id = r.details_id WHERE r.test_id = ?"
            ),
            args![test],
        )?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            out.insert(col::<Id>(row, 7)?, result_record(row)?);
        }
        Ok(out)
    }

    fn failure_messages(&mut self, test: Id) -> Result<Vec<BString>> {
        let rows = self.rows(
            "SELECT m.text FROM messages m WHERE m.id IN (SELECT DISTINCT message_id FROM results \
             WHERE test_id = ? AND status IN ('failed', 'error')) ORDER BY m.id",
            args![test],
        )?;
        rows.iter().map(|row| bytes(row, 0)).collect()
    }

    fn replace_build_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()> {
        self.run("DELETE FROM results WHERE build_id = ?", args![build])?;
        let texts: Vec<&[u8]> = results
            .iter()
            .filter_map(|r| r.message.as_ref().map(|m| m.as_slice()))
            .collect();
        let messages = self.message_ids(&texts)?;
        let objects: Vec<&Details> = results.iter().filter_map(|r| r.details.as_ref()).collect();
        let details = self.details_ids(&objects)?;
        let mut rows = Vec::with_capacity(results.len());
        for result in results {
            let message = match &result.message {
                Some(text) => Some(
                    messages
                        .get(&key(text))
                        .copied()
                        .ok_or_else(|| Error::database("a message vanished while being stored"))?,
                ),
                None => None,
            };
            rows.push(vec![
                Value::from(build),
                Value::from(result.test),
                Value::from(result.status.as_str()),
                Value::from(result.duration),
                Value::from(message),
                Value::from(result.attempts),
                Value::from(
                    result
                        .details
                        .as_ref()
                        .and_then(|d| details.get(&d.key()).copied()),
                ),
            ]);
        }
        self.insert_many(
            "INSERT INTO results (build_id, test_id, status, duration, message_id, attempts, \
             details_id)",
            "(?, ?, ?, ?, ?, ?, ?)",
            "",
            rows,
        )
    }

    fn blamelists(&mut self, builds: &[Id]) -> Result<HashMap<Id, Vec<ChangeRef>>> {
        let mut out: HashMap<Id, Vec<ChangeRef>> =
            builds.iter().map(|b| (*b, Vec::new())).collect();
        for list in Self::id_chunks(builds) {
            let sql = format!(
                "SELECT bc.build_id, c.id, c.revision, u.name FROM build_changes bc \
                 JOIN changes c ON c.id = bc.change_id LEFT JOIN users u ON u.id = c.user_id \
                 WHERE bc.build_id IN ({list}) ORDER BY bc.build_id, COALESCE(c.time, 0), c.revision"
            );
            for row in self.rows(&sql, Params::Empty)? {
                out.entry(col(&row, 0)?).or_default().push(ChangeRef {
                    id: col(&row, 1)?,
                    revision: col(&row, 2)?,
                    author: col(&row, 3)?,
                });
            }
        }
        Ok(out)
    }

    fn unlink_changes(&mut self, build: Id) -> Result<()> {
        self.run("DELETE FROM build_changes WHERE build_id = ?", args![build])?;
        Ok(())
    }

    fn retire_builder(&mut self, name: &str, at: Option<Micros>) -> Result<bool> {
        let Some(id) = self.builder_id(name)? else {
            return Ok(false);
        };
        // MySQL counts changed rows, SQLite matched ones: the builder exists, so it matched.
        self.run(
            "UPDATE builders SET retired_at = ? WHERE id = ?",
            args![at, id],
        )?;
        Ok(true)
    }

    fn retired_builders(&mut self) -> Result<Vec<String>> {
        let rows = self.rows(
            "SELECT name FROM builders WHERE retired_at IS NOT NULL ORDER BY name",
            Params::Empty,
        )?;
        rows.iter().map(|row| col(row, 0)).collect()
    }

    fn lane_tests(&mut self, lane: Id) -> Result<Vec<Id>> {
        let rows = self.rows(
            "SELECT DISTINCT test_id FROM runs WHERE lane_id = ? ORDER BY test_id",
            args![lane],
        )?;
        rows.iter().map(|row| col(row, 0)).collect()
    }

    fn tests_with_recent_problems(
        &mut self,
        builder: &str,
        branch: Option<&str>,
        since: i64,
    ) -> Result<Vec<Id>> {
        let branch = branch.unwrap_or("");
        let sql = format!(
            "SELECT DISTINCT p.test_id FROM problems p \
             JOIN problem_builders pb ON pb.problem_id = p.id \
             JOIN builders b ON b.id = pb.builder_id \
             WHERE {} AND {} AND (pb.fixed_number IS NULL OR pb.fixed_number >= ?) \
             ORDER BY p.test_id",
            same("b.name", "b.name_key"),
            same("p.branch", "p.branch_key")
        );
        let rows = self.rows(&sql, args![builder, builder, branch, branch, since])?;
        rows.iter().map(|row| col(row, 0)).collect()
    }

    fn test_problem_keys(&mut self, test: Id, branch: Option<&str>) -> Result<Vec<(Id, Id)>> {
        let branch = branch.unwrap_or("");
        let sql = format!(
            "SELECT id, first_build_id FROM problems WHERE test_id = ? AND {} ORDER BY id",
            same("branch", "branch_key")
        );
        let rows = self.rows(&sql, args![test, branch, branch])?;
        rows.iter()
            .map(|row| Ok((col(row, 0)?, col(row, 1)?)))
            .collect()
    }

    fn save_problem(&mut self, p: &ProblemRecord) -> Result<Id> {
        let message = match &p.message {
            Some(text) => {
                let hash = key(text);
                self.message_ids(&[text.as_slice()])?.get(&hash).copied()
            }
            None => None,
        };
        let fixed = p.fixed.as_ref();
        let values = vec![
            Value::from(p.test),
            Value::from(p.branch.as_deref().unwrap_or("")),
            Value::from(p.first_build),
            Value::from(p.first_failure.builder.as_str()),
            Value::from(p.first_failure.number),
            Value::from(p.first_failure.time),
            Value::from(p.first_failure.revision.as_deref()),
            Value::from(p.last_failure.builder.as_str()),
            Value::from(p.last_failure.number),
            Value::from(p.last_failure.time),
            Value::from(p.last_failure.revision.as_deref()),
            Value::from(fixed.map(|f| f.builder.as_str())),
            Value::from(fixed.map(|f| f.number)),
            Value::from(fixed.map(|f| f.time)),
            Value::from(fixed.and_then(|f| f.revision.as_deref())),
            Value::from(p.state()),
            Value::from(i64::from(p.intermittent)),
            Value::from(count(p.failures)),
            Value::from(message),
            Value::from(clock::to_micros(clock::now())),
            Value::from(p.cluster.as_deref()),
        ];
        const COLUMNS: &str = "test_id, branch, first_build_id, first_builder, \
             first_number, first_time, first_revision, last_builder, last_number, last_time, \
             last_revision, fixed_builder, fixed_number, fixed_time, fixed_revision, state, \
             intermittent, failures, message_id, updated_at, cluster";
        let exists = p.id != 0
            && self
                .first("SELECT 1 FROM problems WHERE id = ?", args![p.id])?
                .is_some();
        let id = if exists {
            // Update in place: the row (and what hangs on its id) stays.
            let set = COLUMNS
                .split(',')
                .map(|c| format!("{} = ?", c.trim()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut params = values;
            params.push(Value::from(p.id));
            self.run(
                &format!("UPDATE problems SET {set} WHERE id = ?"),
                Params::Positional(params),
            )?;
            for sql in [
                "DELETE FROM problem_builders WHERE problem_id = ?",
                "DELETE FROM problem_changes WHERE problem_id = ?",
            ] {
                self.run(sql, args![p.id])?;
            }
            p.id
        } else {
            let mut params = vec![Value::from((p.id != 0).then_some(p.id))];
            params.extend(values);
            self.insert(
                &format!(
                    "INSERT INTO problems (id, {COLUMNS}) VALUES ({})",
                    marks(params.len())
                ),
                Params::Positional(params),
            )?
        };
        for b in &p.builders {
            let builder = self.create_builder(&b.builder)?;
            self.run(
                "INSERT INTO problem_builders (problem_id, builder_id, first_number, \
                 last_number, fixed_number) VALUES (?, ?, ?, ?, ?)",
                args![id, builder, b.first_number, b.last_number, b.fixed_number],
            )?;
        }
        let rows: Vec<Vec<Value>> = [("start", &p.started_by), ("fix", &p.fixed_by)]
            .into_iter()
            .flat_map(|(role, changes)| {
                changes
                    .iter()
                    .map(move |c| vec![Value::from(id), Value::from(role), Value::from(c.id)])
            })
            .collect();
        self.insert_many(
            "INSERT INTO problem_changes (problem_id, role, change_id)",
            "(?, ?, ?)",
            "ON DUPLICATE KEY UPDATE problem_id = problem_id",
            rows,
        )?;
        Ok(id)
    }

    fn delete_problem(&mut self, id: Id) -> Result<()> {
        self.run("DELETE FROM problems WHERE id = ?", args![id])?;
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
            sql += " AND p.state = ?";
            args.push(Value::from(if open { "open" } else { "fixed" }));
        }
        if !filter.hidden {
            sql += " AND p.state <> 'hidden'";
        }
        if let Some(intermittent) = filter.intermittent {
            sql += " AND p.intermittent = ?";
            args.push(Value::from(i64::from(intermittent)));
        }
        if let Some(branch) = &filter.branch {
            let branch = branch.as_deref().unwrap_or("");
            sql += &format!(" AND {}", same("p.branch", "p.branch_key"));
            args.push(Value::from(branch));
            args.push(Value::from(branch));
        }
        if let Some(test) = filter.test {
            sql += " AND p.test_id = ?";
            args.push(Value::from(test));
        }
        if let Some(build) = filter.first_build {
            sql += " AND p.first_build_id = ?";
            args.push(Value::from(build));
        }
        if let Some(ids) = &filter.ids {
            if ids.is_empty() {
                sql += " AND 1 = 0";
            } else {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                sql += &format!(" AND p.id IN ({})", list.join(","));
            }
        }
        sql += " ORDER BY p.last_time DESC, p.id DESC";
        let params = if args.is_empty() {
            Params::Empty
        } else {
            Params::Positional(args)
        };
        let rows = self.rows(&sql, params)?;
        let build_ref = |row: &Row, at: usize| -> Result<Option<BuildRef>> {
            let builder: Option<String> = col(row, at)?;
            Ok(match builder {
                Some(builder) => Some(BuildRef {
                    builder,
                    number: col(row, at + 1)?,
                    time: col(row, at + 2)?,
                    revision: col(row, at + 3)?,
                }),
                None => None,
            })
        };
        let missing = || Error::database("a Problem names no builder for its failure");
        let mut problems = Vec::with_capacity(rows.len());
        for row in &rows {
            problems.push(ProblemRecord {
                id: col(row, 0)?,
                test: col(row, 1)?,
                test_name: bytes(row, 2)?,
                kind: kind(&col::<String>(row, 3)?)?,
                branch: branch(col(row, 4)?),
                first_build: col(row, 5)?,
                first_failure: build_ref(row, 6)?.ok_or_else(missing)?,
                last_failure: build_ref(row, 10)?.ok_or_else(missing)?,
                fixed: build_ref(row, 14)?,
                open: col::<String>(row, 18)? == "open",
                hidden: col::<String>(row, 18)? == "hidden",
                intermittent: col::<i64>(row, 19)? != 0,
                failures: col::<i64>(row, 20)?.max(0) as u64,
                message: opt_bytes(row, 21)?,
                cluster: col(row, 22)?,
                builders: Vec::new(),
                started_by: Vec::new(),
                fixed_by: Vec::new(),
            });
        }
        if problems.is_empty() {
            return Ok(problems);
        }
        let ids: Vec<Id> = problems.iter().map(|p| p.id).collect();
        let index: HashMap<Id, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        for list in Self::id_chunks(&ids) {
            let sql = format!(
                "SELECT pb.problem_id, b.name, pb.first_number, pb.last_number, pb.fixed_number \
                 FROM problem_builders pb JOIN builders b ON b.id = pb.builder_id \
                 WHERE pb.problem_id IN ({list}) ORDER BY pb.problem_id, b.name"
            );
            for row in self.rows(&sql, Params::Empty)? {
                let Some(&i) = index.get(&col::<Id>(&row, 0)?) else {
                    continue;
                };
                problems[i].builders.push(ProblemBuilder {
                    builder: col(&row, 1)?,
                    first_number: col(&row, 2)?,
                    last_number: col(&row, 3)?,
                    fixed_number: col(&row, 4)?,
                });
            }
            let sql = format!(
                "SELECT pc.problem_id, pc.role, c.id, c.revision, u.name FROM problem_changes pc \
                 JOIN changes c ON c.id = pc.change_id LEFT JOIN users u ON u.id = c.user_id \
                 WHERE pc.problem_id IN ({list}) ORDER BY pc.problem_id, COALESCE(c.time, 0), c.revision"
            );
            for row in self.rows(&sql, Params::Empty)? {
                let Some(&i) = index.get(&col::<Id>(&row, 0)?) else {
                    continue;
                };
                let role: String = col(&row, 1)?;
                let change = ChangeRef {
                    id: col(&row, 2)?,
                    revision: col(&row, 3)?,
                    author: col(&row, 4)?,
                };
                if role == "start" {
                    problems[i].started_by.push(change);
                } else {
                    problems[i].fixed_by.push(change);
                }
            }
        }
        Ok(problems)
    }

    fn set_link(&mut self, problem: Id, url: &str, open: bool, at: Micros) -> Result<()> {
        let state = if open { "open" } else { "closed" };
        let find = format!(
            "SELECT id FROM problem_links WHERE problem_id = ? AND {}",
            same("url", "url_key")
        );
        match self.id(&find, args![problem, url, url])? {
            Some(id) => {
                self.run(
                    "UPDATE problem_links SET state = ? WHERE id = ?",
                    args![state, id],
                )?;
            }
            None => {
                self.run(
                    "INSERT INTO problem_links (problem_id, url, state, added_at) \
                     VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE state = VALUES(state)",
                    args![problem, url, state, at],
                )?;
            }
        }
        Ok(())
    }

    fn remove_link(&mut self, problem: Id, url: &str) -> Result<bool> {
        let sql = format!(
            "DELETE FROM problem_links WHERE problem_id = ? AND {}",
            same("url", "url_key")
        );
        Ok(self.run(&sql, args![problem, url, url])? > 0)
    }

    fn links(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<LinkRecord>>> {
        let mut out: HashMap<Id, Vec<LinkRecord>> = HashMap::new();
        for list in Self::id_chunks(problems) {
            let sql = format!(
                "SELECT problem_id, url, state, added_at FROM problem_links \
                 WHERE problem_id IN ({list}) ORDER BY problem_id, added_at, id"
            );
            for row in self.rows(&sql, Params::Empty)? {
                let problem: Id = col(&row, 0)?;
                out.entry(problem).or_default().push(LinkRecord {
                    problem,
                    url: col(&row, 1)?,
                    open: col::<String>(&row, 2)? == "open",
                    added_at: col(&row, 3)?,
                });
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
        self.insert(
            "INSERT INTO problem_notes (problem_id, text, author, added_at) VALUES (?, ?, ?, ?)",
            args![problem, text, author, at],
        )
    }

    fn notes(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<NoteRecord>>> {
        let mut out: HashMap<Id, Vec<NoteRecord>> = HashMap::new();
        for list in Self::id_chunks(problems) {
            let sql = format!(
                "SELECT problem_id, id, text, author, added_at FROM problem_notes \
                 WHERE problem_id IN ({list}) ORDER BY problem_id, added_at, id"
            );
            for row in self.rows(&sql, Params::Empty)? {
                let problem: Id = col(&row, 0)?;
                out.entry(problem).or_default().push(NoteRecord {
                    id: col(&row, 1)?,
                    problem,
                    text: col(&row, 2)?,
                    author: col(&row, 3)?,
                    added_at: col(&row, 4)?,
                });
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
        self.insert(
            "INSERT INTO bad_ranges (builder_id, from_number, to_number, reason, added_at) \
             VALUES (?, ?, ?, ?, ?)",
            args![builder, from, to, reason, at],
        )
    }

    fn remove_bad_ranges(&mut self, builder: &str, from: i64) -> Result<Vec<BadRange>> {
        let found: Vec<BadRange> = self
            .bad_ranges()?
            .into_iter()
            .filter(|r| r.builder == builder && r.from == from)
            .collect();
        for range in &found {
            self.run("DELETE FROM bad_ranges WHERE id = ?", args![range.id])?;
        }
        Ok(found)
    }

    fn bad_ranges(&mut self) -> Result<Vec<BadRange>> {
        let rows = self.rows(
            "SELECT r.id, b.name, r.from_number, r.to_number, r.reason, r.added_at \
             FROM bad_ranges r JOIN builders b ON b.id = r.builder_id \
             ORDER BY b.name, r.from_number, r.id",
            Params::Empty,
        )?;
        rows.iter()
            .map(|row| {
                Ok(BadRange {
                    id: col(row, 0)?,
                    builder: col(row, 1)?,
                    from: col(row, 2)?,
                    to: col(row, 3)?,
                    reason: col(row, 4)?,
                    added_at: col(row, 5)?,
                })
            })
            .collect()
    }

    fn rename_test(&mut self, old: Id, new: Id, at: Micros) -> Result<()> {
        self.run(
            "INSERT INTO test_renames (old_test_id, new_test_id, renamed_at) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE new_test_id = VALUES(new_test_id), \
             renamed_at = VALUES(renamed_at)",
            args![old, new, at],
        )?;
        Ok(())
    }

    fn renames(&mut self) -> Result<Vec<(Id, Id)>> {
        let rows = self.rows(
            "SELECT old_test_id, new_test_id FROM test_renames ORDER BY renamed_at, old_test_id",
            Params::Empty,
        )?;
        rows.iter()
            .map(|row| Ok((col(row, 0)?, col(row, 1)?)))
            .collect()
    }

    fn move_problems(&mut self, old: Id, new: Id) -> Result<()> {
        // MySQL cannot read the table an UPDATE writes: find the Problems to move first.
        let rows = self.rows(
            "SELECT p.id FROM problems p WHERE p.test_id = ? AND NOT EXISTS \
             (SELECT 1 FROM problems q WHERE q.test_id = ? AND q.branch_key = p.branch_key \
              AND q.branch = p.branch AND q.first_build_id = p.first_build_id)",
            args![old, new],
        )?;
        let ids: Vec<Id> = rows.iter().map(|row| col(row, 0)).collect::<Result<_>>()?;
        for list in Self::id_chunks(&ids) {
            self.run(
                &format!("UPDATE problems SET test_id = ? WHERE id IN ({list})"),
                args![new],
            )?;
        }
        Ok(())
    }

    fn failures(&mut self, branch: Option<&str>, since: Option<Micros>) -> Result<Vec<FailureRow>> {
        let branch = branch.unwrap_or("");
        let sql = format!(
            "SELECT r.test_id, t.name, bl.name, b.number, b.time, b.revision, m.text, r.details, \
             d.data FROM results r JOIN builds b ON b.id = r.build_id \
             LEFT JOIN details d ON d.id = r.details_id \
             JOIN builders bl ON bl.id = b.builder_id JOIN lanes l ON l.id = b.lane_id \
             JOIN tests t ON t.id = r.test_id LEFT JOIN messages m ON m.id = r.message_id \
             WHERE r.status IN ('failed', 'error') AND {} AND b.time >= ? \
             ORDER BY b.time, bl.name, b.number, r.test_id",
            same("l.branch", "l.branch_key")
        );
        let result = self
            .conn
            .exec_iter(sql, args![branch, branch, since.unwrap_or(i64::MIN)])
            .db()?;
        let mut out = Vec::new();
        for row in result {
            let row = row.db()?;
            out.push(FailureRow {
                test: col(&row, 0)?,
                test_name: bytes(&row, 1)?,
                builder: col(&row, 2)?,
                number: col(&row, 3)?,
                time: col(&row, 4)?,
                revision: col(&row, 5)?,
                message: opt_bytes(&row, 6)?,
                text: details::text_of(details_at(&row, 7)?.as_deref()),
            });
        }
        Ok(out)
    }

    fn notifications(&mut self) -> Result<Vec<NotificationRecord>> {
        let rows = self.rows(
            "SELECT problem_id, event, target, sent_at, attempts, last_error FROM notifications \
             ORDER BY problem_id, event, target",
            Params::Empty,
        )?;
        rows.iter()
            .map(|row| {
                Ok(NotificationRecord {
                    problem: col(row, 0)?,
                    event: col(row, 1)?,
                    target: col(row, 2)?,
                    sent_at: col(row, 3)?,
                    attempts: col(row, 4)?,
                    last_error: col(row, 5)?,
                })
            })
            .collect()
    }

    fn record_notification(
        &mut self,
        problem: Id,
        event: &str,
        target: &str,
        sent_at: Option<Micros>,
        error: Option<&str>,
    ) -> Result<()> {
        self.run(
            "INSERT INTO notifications (problem_id, event, target, sent_at, attempts, last_error) \
             VALUES (?, ?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE \
             sent_at = COALESCE(sent_at, VALUES(sent_at)), attempts = attempts + 1, \
             last_error = VALUES(last_error)",
            args![problem, event, target, sent_at, error],
        )?;
        Ok(())
    }

    fn notify_baseline(&mut self) -> Result<Option<Micros>> {
        self.id(
            "SELECT set_at FROM notify_baseline WHERE id = 1",
            Params::Empty,
        )
    }

    fn set_notify_baseline(&mut self, at: Micros) -> Result<()> {
        self.run(
            "INSERT INTO notify_baseline (id, set_at) VALUES (1, ?) \
             ON DUPLICATE KEY UPDATE set_at = VALUES(set_at)",
            args![at],
        )?;
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
        let result = self.conn.exec_iter(sql, Params::Empty).db()?;
        for row in result {
            let row = row.db()?;
            let values = row.unwrap();
            let mut cells = Vec::with_capacity(table.columns.len());
            for (value, column) in values.into_iter().zip(table.columns) {
                cells.push(match (value, column.kind) {
                    (Value::NULL, _) => Cell::Null,
                    (Value::Int(v), _) => Cell::Int(v),
                    (Value::UInt(v), _) => Cell::Int(i64::try_from(v).unwrap_or(i64::MAX)),
                    (Value::Double(v), _) => Cell::Real(v),
                    (Value::Float(v), _) => Cell::Real(f64::from(v)),
                    (Value::Bytes(b), ColumnType::Bytes | ColumnType::Blob) => Cell::Bytes(b),
                    (Value::Bytes(b), ColumnType::Int) => {
                        Cell::Int(String::from_utf8_lossy(&b).trim().parse().map_err(|_| {
                            Error::database(format!(
                                "`{}.{}` holds a non-integer",
                                table.name, column.name
                            ))
                        })?)
                    }
                    (Value::Bytes(b), ColumnType::Real) => {
                        Cell::Real(String::from_utf8_lossy(&b).trim().parse().map_err(|_| {
                            Error::database(format!(
                                "`{}.{}` holds a non-number",
                                table.name, column.name
                            ))
                        })?)
                    }
                    (Value::Bytes(b), ColumnType::Text) => {
                        Cell::Text(String::from_utf8_lossy(&b).into_owned())
                    }
                    (other, _) => Cell::Text(other.as_sql(true)),
                });
            }
            Cell::check_row(table, &cells)?;
            each(cells)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        for row in rows {
            Cell::check_row(table, row)?;
        }
        let values = rows.iter().map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Cell::Null => Value::NULL,
                    Cell::Int(v) => Value::Int(*v),
                    Cell::Real(v) => Value::Double(*v),
                    Cell::Text(t) => Value::Bytes(t.clone().into_bytes()),
                    Cell::Bytes(b) => Value::Bytes(b.clone()),
                })
                .collect::<Vec<_>>()
        });
        self.insert_many(
            &format!("INSERT INTO {} ({})", table.name, table.column_list()),
            &format!("({})", marks(table.columns.len())),
            "",
            values,
        )
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let n: Option<i64> = self
            .conn
            .query_first(format!("SELECT COUNT(*) FROM {}", table.name))
            .db()?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    fn finish_copy(&mut self) -> Result<()> {
        // InnoDB moves a table's AUTO_INCREMENT past explicit ids as they are inserted (and
        // recomputes it from MAX(id) on restart), so new rows already take ids above the copied
        // ones. ALTER TABLE ... AUTO_INCREMENT would commit the copy's transaction half-way.
        Ok(())
    }
}
