//! PostgreSQL: a shared database server for many builders and machines.
//!
//! It behaves as the SQLite backend does, method for method: the same answers in the same order.
//! Writers take turns through one transaction-scoped advisory lock (as SQLite's `BEGIN IMMEDIATE`),
//! so READ COMMITTED is enough and no ingest loses another's updates. Statements are prepared once
//! per connection and cached. Bulk writes go in multi-row INSERTs, chunked under the protocol's
//! 65535 parameters.

use std::collections::{HashMap, HashSet};
use std::error::Error as _;
use std::time::Duration;

use bstr::BString;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Row, Statement};
use probtrack_parsers::{Kind, Status};

use super::details::{self, Details};
use super::key;
use super::migrate;
use super::{
    BadRange, BuildFilter, BuildRecord, BuildRef, Cell, ChangeRecord, ChangeRef, ColumnType,
    Counts, FailureRow, Id, LaneBuild, LaneRecord, LinkRecord, NewBuild, NewTest, NoteRecord,
    NotificationRecord, OpenMode, ProblemBuilder, ProblemFilter, ProblemRecord, ResultRecord, Run,
    Store, Table, TestRecord, TABLES,
};
use crate::clock::{self, Micros};
use crate::error::{Error, Result};

/// The advisory lock that writers (and migrations) hold for their transaction: one writer at a time.
const WRITER_LOCK: i64 = 0x7072_6f62_7472_6b00; // "probtrk\0"

/// The protocol's limit on the parameters of one statement.
const MAX_PARAMS: usize = 65_535;

/// How many rows a multi-row statement takes at most.
const MAX_ROWS: usize = 1000;

/// How long connecting may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

type P<'a> = &'a (dyn ToSql + Sync);

/// A new test's values: name hash, name, kind, file, runner id.
type NewTestRow<'a> = (
    &'a [u8],
    &'a [u8],
    &'a str,
    Option<&'a [u8]>,
    &'a Option<String>,
);

pub struct PostgresStore {
    client: Client,
    /// The URL without its password, for messages.
    url: String,
    statements: HashMap<String, Statement>,
    in_write: bool,
}

/// A parameter whose SQL type is decided at run time (dynamic filters, `copy`).
#[derive(Debug, Clone)]
enum Param {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        fn checked<T: ToSql>(
            value: &T,
            ty: &Type,
            out: &mut postgres::types::private::BytesMut,
        ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            value.to_sql_checked(ty, out)
        }
        match self {
            Param::Int(v) => checked(v, ty, out),
            Param::Real(v) => checked(v, ty, out),
            Param::Text(v) => checked(v, ty, out),
            Param::Bytes(v) => checked(v, ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each variant checks its own type in `to_sql`.
        true
    }

    to_sql_checked!();
}

/// A `postgres` error as probtrack shows it, with what to do about it.
fn pg_error(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let mut err = Error::database(format!(
            "database error: {} (SQLSTATE {})",
            db.message(),
            code.code()
        ));
        if let Some(detail) = db.detail() {
            err.message += &format!("; {detail}");
        }
        return if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            err.hint("another probtrack process wrote the same rows at the same time; try again")
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            err.hint("create the database first, e.g. `createdb NAME` (probtrack creates its tables, not the server's databases)")
        } else if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            err.hint("check the user and password in the URL (`postgres://USER:PASSWORD@HOST/DB`), or the server's pg_hba.conf")
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            err.hint("the database user lacks a privilege probtrack needs; grant it, or use the database's owner")
        } else if *code == SqlState::DISK_FULL {
            err.hint("the server's disk is full; free some space and run the command again (nothing was written)")
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            err.hint("the server is read-only (a standby?); name the primary server in the URL")
        } else if code.code().starts_with("57P") || code.code().starts_with("08") {
            err.hint("the server went away; check that it is running, and try again")
        } else {
            err
        };
    }
    if e.is_closed() {
        return Error::database(format!("database error: {e}")).hint(
            "the connection to the PostgreSQL server was lost; check the server, and try again",
        );
    }
    Error::database(format!("database error: {e}"))
}

/// The I/O error behind a connection error, if any.
fn io_cause(e: &postgres::Error) -> Option<&std::io::Error> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// Where a configuration connects to, as `host:port` (for messages).
fn server(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => format!("{host}:{port}"),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(path)) => format!("{}:{port}", path.display()),
        None => format!("localhost:{port}"),
    }
}

fn connect_error(e: postgres::Error, config: &Config, url: &str) -> Error {
    let server = server(config);
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::INVALID_CATALOG_NAME {
            let name = config.get_dbname().unwrap_or("NAME");
            return Error::database(format!(
                "database `{}`: the server {server} has no database `{name}`",
                redact(url)
            ))
            .hint(format!(
                "create it first: `createdb -h HOST -U USER {name}` (probtrack creates its tables, not the server's databases)"
            ));
        }
        return pg_error(e).context(format!("cannot connect to {}", redact(url)));
    }
    if let Some(io) = io_cause(&e) {
        let what = match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => io.to_string(),
        };
        return Error::database(format!(
            "cannot connect to the PostgreSQL server at {server} ({}): {what}",
            redact(url)
        ))
        .hint("start the server, or fix the host and port in the URL");
    }
    Error::database(format!(
        "cannot connect to the PostgreSQL server at {server} ({}): {e}",
        redact(url)
    ))
    .hint("start the server, or fix the URL (`postgres://USER@HOST:PORT/DB`)")
}

fn redact(url: &str) -> String {
    super::redact(url)
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(pg_error)
}

fn bstring(row: &Row, i: usize) -> Result<BString> {
    Ok(BString::from(get::<Vec<u8>>(row, i)?))
}

fn opt_bstring(row: &Row, i: usize) -> Result<Option<BString>> {
    Ok(get::<Option<Vec<u8>>>(row, i)?.map(BString::from))
}

fn status(text: &str) -> Result<Status> {
    text.parse()
        .map_err(|e: String| Error::database(format!("database error: bad status: {e}")))
}

fn opt_status(text: Option<String>) -> Result<Option<Status>> {
    text.as_deref().map(status).transpose()
}

fn kind(text: &str) -> Result<Kind> {
    text.parse()
        .map_err(|e: String| Error::database(format!("database error: bad kind: {e}")))
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A result's details from columns `at` (inline, schema 2) and `at + 1` (packed, schema 3).
fn details_at(row: &Row, at: usize) -> Result<Option<String>> {
    let packed: Option<Vec<u8>> = get(row, at + 1)?;
    Ok(details::either(get(row, at)?, packed.as_deref()))
}

/// The columns `result_record` reads, from `results r`, `messages m` and `details d`.
const RESULT_COLUMNS: &str =
    "r.test_id, r.status, r.duration, m.text, r.attempts, r.details, d.data";

/// `($1, $2, $3), ($4, $5, $6), …` for `rows` rows of `columns` values.
fn values_list(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", r * columns + c + 1));
        }
        out.push(')');
    }
    out
}

/// How many rows of `columns` values one statement takes.
fn chunk_rows(columns: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).clamp(1, MAX_ROWS)
}

const BUILD_COLUMNS: &str = "b.id, bl.name, b.number, b.lane_id, l.branch, b.revision, b.time, \
     b.finished_at, b.result, b.properties, b.clean, b.passed, b.failed, b.error, b.skipped, \
     b.expected_failure, b.unexpected_success, b.flaky";

fn build_record(row: &Row) -> Result<BuildRecord> {
    let branch: String = get(row, 4)?;
    let n = |i: usize| -> Result<u64> { get::<i64>(row, i).map(|v| v.max(0) as u64) };
    Ok(BuildRecord {
        id: get(row, 0)?,
        builder: get(row, 1)?,
        number: get(row, 2)?,
        lane: get(row, 3)?,
        branch: (!branch.is_empty()).then_some(branch),
        revision: get(row, 5)?,
        time: get(row, 6)?,
        finished_at: get(row, 7)?,
        result: get(row, 8)?,
        properties: get(row, 9)?,
        clean: get::<i64>(row, 10)? != 0,
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

fn test_record(row: &Row) -> Result<TestRecord> {
    Ok(TestRecord {
        id: get(row, 0)?,
        name: bstring(row, 1)?,
        kind: kind(&get::<String>(row, 2)?)?,
        file: opt_bstring(row, 3)?,
        runner_id: get(row, 4)?,
    })
}

fn result_record(row: &Row) -> Result<ResultRecord> {
    Ok(ResultRecord {
        test: get(row, 0)?,
        status: status(&get::<String>(row, 1)?)?,
        duration: get(row, 2)?,
        message: opt_bstring(row, 3)?,
        attempts: get::<i64>(row, 4)?.clamp(1, i64::from(u32::MAX)) as u32,
        details: details_at(row, 5)?.map(Details::from),
    })
}

fn change_record(row: &Row) -> Result<ChangeRecord> {
    Ok(ChangeRecord {
        revision: get(row, 0)?,
        author: get(row, 1)?,
        time: get(row, 2)?,
        comments: get(row, 3)?,
        parents: get(row, 4)?,
    })
}

impl PostgresStore {
    pub fn open(url: &str, mode: OpenMode) -> Result<Box<dyn Store>> {
        Ok(Box::new(PostgresStore::connect(url, mode)?))
    }

    fn connect(url: &str, mode: OpenMode) -> Result<PostgresStore> {
        let mut config: Config = url.parse().map_err(|e| {
            Error::usage(format!(
                "database `{}`: not a valid PostgreSQL URL: {e}",
                redact(url)
            ))
            .hint("write `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`")
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("probtrack");
        }
        // libpq's sslmode: `require` encrypts (see postgres_tls.rs); `prefer`, the default, and
        // `disable` connect in plain TCP.
        let client = if config.get_ssl_mode() == postgres::config::SslMode::Require {
            let tls = super::postgres_tls::encrypt_only().map_err(|e| {
                Error::database(format!("cannot set up TLS for {}: {e}", redact(url)))
            })?;
            config.connect(tls)
        } else {
            config.connect(NoTls)
        }
        .map_err(|e| connect_error(e, &config, url))?;
        let mut store = PostgresStore {
            client,
            url: redact(url),
            statements: HashMap::new(),
            in_write: false,
        };
        store.prepare(mode)?;
        Ok(store)
    }

    /// Checks the schema and applies pending migrations. Many first ingests may start at once on
    /// a new database: all but one wait on the writer lock, then find the schema made.
    fn prepare(&mut self, mode: OpenMode) -> Result<()> {
        let found = self.schema_version()?;
        if migrate::pending(migrate::POSTGRES, found)?.is_empty() {
            return Ok(());
        }
        if found == 0 && mode == OpenMode::Existing {
            if self.has_foreign_tables()? {
                return Err(self.foreign());
            }
            return Err(Error::database(format!("no probtrack database at {}", self.url))
                .hint("ingest a report to create it: `probtrack --db URL ingest --builder NAME --build N REPORT`")
                .hint("or name an existing database with --db or PROBTRACK_DB"));
        }
        self.client.batch_execute("BEGIN").map_err(pg_error)?;
        let outcome = (|| -> Result<()> {
            self.client
                .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
                .map_err(pg_error)?;
            // Another process may have migrated while we waited for the lock; only now can tables
            // that are there be told from probtrack's own.
            let found = self.schema_version()?;
            if found == 0 && self.has_foreign_tables()? {
                return Err(self.foreign());
            }
            for migration in migrate::pending(migrate::POSTGRES, found)? {
                self.client.batch_execute(migration.sql).map_err(|e| {
                    pg_error(e).context(format!(
                        "migration {} ({}) failed",
                        migration.version, migration.name
                    ))
                })?;
                self.client
                    .execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                        &[&migration.version, &clock::to_micros(clock::now())],
                    )
                    .map_err(pg_error)?;
            }
            Ok(())
        })();
        match outcome {
            Ok(()) => self.client.batch_execute("COMMIT").map_err(pg_error)?,
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK");
                return Err(e);
            }
        }
        Ok(())
    }

    /// The refusal of a database that holds tables of something else.
    fn foreign(&self) -> Error {
        Error::database(format!(
            "{} is a PostgreSQL database, but not one of probtrack's",
            self.url
        ))
        .hint("name another database in the URL (`createdb NAME` makes a new one)")
    }

    /// The schema version, 0 where there is no `schema_version` table. The table is looked up with
    /// a query of `pg_tables`, which sees what other sessions committed since the statement began;
    /// `to_regclass` would answer from this session's catalog cache, which an advisory lock does
    /// not refresh, and so miss a table made while we waited for the lock.
    fn schema_version(&mut self) -> Result<i64> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) > 0 FROM pg_catalog.pg_tables \
                 WHERE schemaname = current_schema() AND tablename = 'schema_version'",
                &[],
            )
            .map_err(pg_error)?;
        if !get::<bool>(&row, 0)? {
            return Ok(0);
        }
        let row = self
            .client
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
                &[],
            )
            .map_err(pg_error)?;
        get(&row, 0)
    }

    fn has_foreign_tables(&mut self) -> Result<bool> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) > 0 FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .map_err(pg_error)?;
        get(&row, 0)
    }

    /// The prepared statement for `sql`, prepared once per connection.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql).map_err(pg_error)?;
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    fn execute(&mut self, sql: &str, params: &[P<'_>]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        self.client.execute(&stmt, params).map_err(pg_error)
    }

    fn query(&mut self, sql: &str, params: &[P<'_>]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        self.client.query(&stmt, params).map_err(pg_error)
    }

    fn query_opt(&mut self, sql: &str, params: &[P<'_>]) -> Result<Option<Row>> {
        let stmt = self.statement(sql)?;
        self.client.query_opt(&stmt, params).map_err(pg_error)
    }

    fn query_one(&mut self, sql: &str, params: &[P<'_>]) -> Result<Row> {
        let stmt = self.statement(sql)?;
        self.client.query_one(&stmt, params).map_err(pg_error)
    }

    /// One statement of a bulk write: cached when it has a full chunk's shape (the usual one), run
    /// unprepared-by-us otherwise, so that odd sizes do not fill the cache.
    fn query_bulk(&mut self, sql: &str, params: &[P<'_>], full: bool) -> Result<Vec<Row>> {
        if full {
            self.query(sql, params)
        } else {
            self.client.query(sql, params).map_err(pg_error)
        }
    }

    fn id_of(&mut self, sql: &str, params: &[P<'_>]) -> Result<Option<Id>> {
        match self.query_opt(sql, params)? {
            Some(row) => Ok(Some(get(&row, 0)?)),
            None => Ok(None),
        }
    }

    /// Looks up a row's id with `select`, or creates it with `insert` (`ON CONFLICT DO NOTHING
    /// RETURNING id`). Looking up first keeps the id sequence free of gaps, as in SQLite.
    fn get_or_create(&mut self, select: &str, insert: &str, params: &[P<'_>]) -> Result<Id> {
        if let Some(id) = self.id_of(select, params)? {
            return Ok(id);
        }
        if let Some(id) = self.id_of(insert, params)? {
            return Ok(id);
        }
        // Another process created it between the two statements.
        self.id_of(select, params)?
            .ok_or_else(|| Error::database("database error: a row vanished while being created"))
    }

    fn user_id(&mut self, name: &str) -> Result<Id> {
        self.get_or_create(
            "SELECT id FROM users WHERE md5(name) = md5($1) AND name = $1",
            "INSERT INTO users (name) VALUES ($1) ON CONFLICT ((md5(name))) DO NOTHING RETURNING id",
            &[&name],
        )
    }

    /// The ids of these messages, created where new (in the order they first appear).
    fn message_ids(&mut self, messages: &[&[u8]]) -> Result<HashMap<[u8; 16], Id>> {
        let keys: Vec<[u8; 16]> = messages.iter().map(|m| key(m)).collect();
        self.hashed_ids("messages", "text", &keys, |i| messages[i].to_vec())
    }

    /// The ids of these details objects (JSON text), created (packed) where new.
    fn details_ids(&mut self, objects: &[&Details]) -> Result<HashMap<[u8; 16], Id>> {
        let keys: Vec<[u8; 16]> = objects.iter().map(|d| d.key()).collect();
        self.hashed_ids("details", "data", &keys, |i| {
            objects[i].packed().into_owned()
        })
    }

    /// The ids of rows of `table` (keyed by `hash`) for `keys`, creating the missing ones with
    /// `column` = `value(i)` for the i-th key, in the order they first appear.
    fn hashed_ids(
        &mut self,
        table: &str,
        column: &str,
        keys: &[[u8; 16]],
        value: impl Fn(usize) -> Vec<u8>,
    ) -> Result<HashMap<[u8; 16], Id>> {
        let select = format!("SELECT hash, id FROM {table} WHERE hash = ANY($1)");
        let mut found = self.ids_by_hash(&select, keys)?;
        let mut new: Vec<(&[u8; 16], Vec<u8>)> = Vec::new();
        let mut seen = HashSet::new();
        for (i, hash) in keys.iter().enumerate() {
            if !found.contains_key(hash) && seen.insert(*hash) {
                new.push((hash, value(i)));
            }
        }
        let per = chunk_rows(2);
        for chunk in new.chunks(per) {
            let sql = format!(
                "INSERT INTO {table} (hash, {column}) VALUES {} ON CONFLICT (hash) DO NOTHING \
                 RETURNING hash, id",
                values_list(chunk.len(), 2)
            );
            let hashes: Vec<&[u8]> = chunk.iter().map(|(h, _)| &h[..]).collect();
            let mut params: Vec<P<'_>> = Vec::with_capacity(chunk.len() * 2);
            for (hash, (_, data)) in hashes.iter().zip(chunk) {
                params.push(hash);
                params.push(data);
            }
            for row in self.query_bulk(&sql, &params, chunk.len() == per)? {
                if let Ok(hash) = <[u8; 16]>::try_from(get::<Vec<u8>>(&row, 0)?.as_slice()) {
                    found.insert(hash, get(&row, 1)?);
                }
            }
        }
        if keys.iter().any(|k| !found.contains_key(k)) {
            // Created by another process meanwhile (outside a write).
            found.extend(self.ids_by_hash(&select, keys)?);
        }
        Ok(found)
    }

    /// `(hash, id)` rows of `sql` (which takes an array of hashes), a chunk at a time.
    fn ids_by_hash(&mut self, sql: &str, keys: &[[u8; 16]]) -> Result<HashMap<[u8; 16], Id>> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_ROWS * 5) {
            let list: Vec<&[u8]> = chunk.iter().map(|k| &k[..]).collect();
            for row in self.query(sql, &[&list])? {
                if let Ok(hash) = <[u8; 16]>::try_from(get::<Vec<u8>>(&row, 0)?.as_slice()) {
                    found.insert(hash, get(&row, 1)?);
                }
            }
        }
        Ok(found)
    }

    fn message_id(&mut self, message: &[u8]) -> Result<Id> {
        let hash = key(message);
        self.message_ids(&[message])?
            .get(&hash)
            .copied()
            .ok_or_else(|| Error::database("database error: a message vanished while being stored"))
    }
}

impl Store for PostgresStore {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn begin_write(&mut self) -> Result<()> {
        self.client.batch_execute("BEGIN").map_err(pg_error)?;
        self.in_write = true;
        // Writers take turns, as with SQLite's BEGIN IMMEDIATE: the lock lasts until commit or
        // rollback.
        if let Err(e) = self.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK]) {
            let _ = self.rollback();
            return Err(e);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.in_write = false;
        self.client.batch_execute("COMMIT").map_err(pg_error)
    }

    fn savepoint(&mut self) -> Result<()> {
        self.client
            .batch_execute("SAVEPOINT build")
            .map_err(pg_error)
    }

    fn release_savepoint(&mut self) -> Result<()> {
        self.client
            .batch_execute("RELEASE SAVEPOINT build")
            .map_err(pg_error)
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.client
            .batch_execute("ROLLBACK TO SAVEPOINT build; RELEASE SAVEPOINT build")
            .map_err(pg_error)
    }

    fn rollback(&mut self) -> Result<()> {
        if self.in_write {
            self.in_write = false;
            self.client.batch_execute("ROLLBACK").map_err(pg_error)?;
        }
        Ok(())
    }

    fn builder_id(&mut self, name: &str) -> Result<Option<Id>> {
        self.id_of(
            "SELECT id FROM builders WHERE md5(name) = md5($1) AND name = $1",
            &[&name],
        )
    }

    fn create_builder(&mut self, name: &str) -> Result<Id> {
        self.get_or_create(
            "SELECT id FROM builders WHERE md5(name) = md5($1) AND name = $1",
            "INSERT INTO builders (name) VALUES ($1) ON CONFLICT ((md5(name))) DO NOTHING RETURNING id",
            &[&name],
        )
    }

    fn lane_id(&mut self, builder: Id, branch: Option<&str>) -> Result<Id> {
        let branch = branch.unwrap_or("");
        self.get_or_create(
            "SELECT id FROM lanes WHERE builder_id = $1 AND md5(branch) = md5($2) AND branch = $2",
            "INSERT INTO lanes (builder_id, branch) VALUES ($1, $2) \
             ON CONFLICT (builder_id, (md5(branch))) DO NOTHING RETURNING id",
            &[&builder, &branch],
        )
    }

    fn lanes(&mut self) -> Result<Vec<LaneRecord>> {
        let rows = self.query(
            "SELECT l.id, b.name, l.branch, l.pruned_before FROM lanes l \
             JOIN builders b ON b.id = l.builder_id ORDER BY b.name, l.branch",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                let branch: String = get(row, 2)?;
                Ok(LaneRecord {
                    id: get(row, 0)?,
                    builder: get(row, 1)?,
                    branch: (!branch.is_empty()).then_some(branch),
                    pruned_before: get(row, 3)?,
                })
            })
            .collect()
    }

    fn set_pruned_before(&mut self, lane: Id, number: i64) -> Result<()> {
        self.execute(
            "UPDATE lanes SET pruned_before = greatest(coalesce(pruned_before, $2), $2) WHERE id = $1",
            &[&lane, &number],
        )?;
        Ok(())
    }

    fn find_build(&mut self, builder: &str, number: i64) -> Result<Option<BuildRecord>> {
        let sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b JOIN builders bl ON bl.id = b.builder_id \
             JOIN lanes l ON l.id = b.lane_id \
             WHERE md5(bl.name) = md5($1) AND bl.name = $1 AND b.number = $2"
        );
        self.query_opt(&sql, &[&builder, &number])?
            .as_ref()
            .map(build_record)
            .transpose()
    }

    fn insert_build(&mut self, build: &NewBuild) -> Result<Id> {
        let row = self.query_one(
            "INSERT INTO builds (builder_id, number, lane_id, revision, time, finished_at, \
             result, properties, clean, ingested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[
                &build.builder,
                &build.number,
                &build.lane,
                &build.revision,
                &build.time,
                &build.finished_at,
                &build.result,
                &build.properties,
                &i64::from(build.clean),
                &build.ingested_at,
            ],
        )?;
        get(&row, 0)
    }

    fn update_build(&mut self, id: Id, build: &NewBuild) -> Result<()> {
        self.execute(
            "UPDATE builds SET lane_id = $2, revision = $3, time = $4, finished_at = $5, \
             result = $6, properties = $7, clean = $8, ingested_at = $9 WHERE id = $1",
            &[
                &id,
                &build.lane,
                &build.revision,
                &build.time,
                &build.finished_at,
                &build.result,
                &build.properties,
                &i64::from(build.clean),
                &build.ingested_at,
            ],
        )?;
        Ok(())
    }

    fn set_build_outcome(&mut self, id: Id, counts: &Counts, durations: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE builds SET passed = $2, failed = $3, error = $4, skipped = $5, \
             expected_failure = $6, unexpected_success = $7, flaky = $8, durations = $9 \
             WHERE id = $1",
            &[
                &id,
                &count(counts.passed),
                &count(counts.failed),
                &count(counts.error),
                &count(counts.skipped),
                &count(counts.expected_failure),
                &count(counts.unexpected_success),
                &count(counts.flaky),
                &durations,
            ],
        )?;
        Ok(())
    }

    fn delete_build(&mut self, id: Id) -> Result<()> {
        self.execute("DELETE FROM builds WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn clear_build(&mut self, id: Id) -> Result<()> {
        for sql in [
            "DELETE FROM reports WHERE build_id = $1",
            "DELETE FROM results WHERE build_id = $1",
            "DELETE FROM build_changes WHERE build_id = $1",
        ] {
            self.execute(sql, &[&id])?;
        }
        Ok(())
    }

    fn lane_builds(&mut self, lane: Id) -> Result<Vec<LaneBuild>> {
        let rows = self.query(
            "SELECT number, id, revision, time FROM builds WHERE lane_id = $1 ORDER BY number",
            &[&lane],
        )?;
        rows.iter()
            .map(|row| {
                Ok(LaneBuild {
                    number: get(row, 0)?,
                    id: get(row, 1)?,
                    revision: get(row, 2)?,
                    time: get(row, 3)?,
                })
            })
            .collect()
    }

    fn recent_builds(&mut self, filter: &BuildFilter) -> Result<Vec<BuildRecord>> {
        let mut sql = format!(
            "SELECT {BUILD_COLUMNS} FROM builds b JOIN builders bl ON bl.id = b.builder_id \
             JOIN lanes l ON l.id = b.lane_id WHERE 1 = 1"
        );
        let mut args: Vec<Param> = Vec::new();
        if let Some(builder) = &filter.builder {
            args.push(Param::Text(Some(builder.clone())));
            sql += &format!(" AND bl.name = ${}", args.len());
        }
        if let Some(branch) = &filter.branch {
            args.push(Param::Text(Some(branch.clone().unwrap_or_default())));
            sql += &format!(" AND l.branch = ${}", args.len());
        }
        args.push(Param::Int(Some(
            i64::try_from(filter.limit).unwrap_or(i64::MAX),
        )));
        sql += &format!(
            " ORDER BY b.time DESC, bl.name, b.number DESC LIMIT ${}",
            args.len()
        );
        let params: Vec<P<'_>> = args.iter().map(|a| a as P<'_>).collect();
        let rows = self.query(&sql, &params)?;
        rows.iter().map(build_record).collect()
    }

    fn build_durations(&mut self, build: Id) -> Result<Option<Vec<u8>>> {
        match self.query_opt("SELECT durations FROM builds WHERE id = $1", &[&build])? {
            Some(row) => get(&row, 0),
            None => Ok(None),
        }
    }

    fn report_exists(&mut self, build: Id, hash: &[u8]) -> Result<bool> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM reports WHERE build_id = $1 AND hash = $2",
                &[&build, &hash],
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
        self.execute(
            "INSERT INTO reports (build_id, hash, name, parser, results, ingested_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&build, &hash, &name, &parser, &count(results), &at],
        )?;
        Ok(())
    }

    fn upsert_change(&mut self, change: &ChangeRecord) -> Result<Id> {
        let user = match &change.author {
            Some(author) => Some(self.user_id(author)?),
            None => None,
        };
        // What is known about a change only grows: a later, fuller record fills in the blanks.
        let existing = self.id_of(
            "SELECT id FROM changes WHERE md5(revision) = md5($1) AND revision = $1",
            &[&change.revision],
        )?;
        if let Some(id) = existing {
            self.execute(
                "UPDATE changes SET user_id = coalesce($2, user_id), time = coalesce($3, time), \
                 comments = coalesce($4, comments), parents = coalesce($5, parents) WHERE id = $1",
                &[&id, &user, &change.time, &change.comments, &change.parents],
            )?;
            return Ok(id);
        }
        let row = self.query_one(
            "INSERT INTO changes (revision, user_id, time, comments, parents) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT ((md5(revision))) DO UPDATE SET \
             user_id = coalesce(excluded.user_id, changes.user_id), \
             time = coalesce(excluded.time, changes.time), \
             comments = coalesce(excluded.comments, changes.comments), \
             parents = coalesce(excluded.parents, changes.parents) RETURNING id",
            &[
                &change.revision,
                &user,
                &change.time,
                &change.comments,
                &change.parents,
            ],
        )?;
        get(&row, 0)
    }

    fn link_change(&mut self, build: Id, change: Id) -> Result<()> {
        self.execute(
            "INSERT INTO build_changes (build_id, change_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&build, &change],
        )?;
        Ok(())
    }

    fn build_changes(&mut self, build: Id) -> Result<Vec<ChangeRecord>> {
        let rows = self.query(
            "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM build_changes bc \
             JOIN changes c ON c.id = bc.change_id LEFT JOIN users u ON u.id = c.user_id \
             WHERE bc.build_id = $1 ORDER BY coalesce(c.time, 0), c.revision",
            &[&build],
        )?;
        rows.iter().map(change_record).collect()
    }

    fn change(&mut self, revision: &str) -> Result<Option<ChangeRecord>> {
        self.query_opt(
            "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM changes c \
             LEFT JOIN users u ON u.id = c.user_id \
             WHERE md5(c.revision) = md5($1) AND c.revision = $1",
            &[&revision],
        )?
        .as_ref()
        .map(change_record)
        .transpose()
    }

    fn test_ids(&mut self, tests: &[NewTest]) -> Result<Vec<Id>> {
        // Look the tests up by key, a chunk at a time; create the new ones in multi-row inserts, in
        // the order they first appear (so that ids are as SQLite gives them).
        let keys: Vec<[u8; 16]> = tests.iter().map(|t| key(&t.name)).collect();
        let mut found: HashMap<[u8; 16], (Id, Option<String>)> =
            HashMap::with_capacity(tests.len());
        for chunk in keys.chunks(MAX_ROWS * 5) {
            let list: Vec<&[u8]> = chunk.iter().map(|k| &k[..]).collect();
            for row in self.query(
                "SELECT name_hash, id, runner_id FROM tests WHERE name_hash = ANY($1)",
                &[&list],
            )? {
                if let Ok(hash) = <[u8; 16]>::try_from(get::<Vec<u8>>(&row, 0)?.as_slice()) {
                    found.insert(hash, (get(&row, 1)?, get(&row, 2)?));
                }
            }
        }
        // The first appearance of each new test.
        let mut new: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        for (i, hash) in keys.iter().enumerate() {
            if !found.contains_key(hash) && seen.insert(*hash) {
                new.push(i);
            }
        }
        let per = chunk_rows(5);
        for chunk in new.chunks(per) {
            let sql = format!(
                "INSERT INTO tests (name_hash, name, kind, file, runner_id) VALUES {} \
                 ON CONFLICT (name_hash) DO NOTHING RETURNING name_hash, id",
                values_list(chunk.len(), 5)
            );
            let columns: Vec<NewTestRow<'_>> = chunk
                .iter()
                .map(|&i| {
                    let t = &tests[i];
                    (
                        &keys[i][..],
                        t.name.as_slice(),
                        t.kind.as_str(),
                        t.file.as_ref().map(|f| f.as_slice()),
                        &t.runner_id,
                    )
                })
                .collect();
            let mut params: Vec<P<'_>> = Vec::with_capacity(chunk.len() * 5);
            for (hash, name, kind, file, runner) in &columns {
                params.extend([hash as P<'_>, name, kind, file, *runner]);
            }
            for row in self.query_bulk(&sql, &params, chunk.len() == per)? {
                if let Ok(hash) = <[u8; 16]>::try_from(get::<Vec<u8>>(&row, 0)?.as_slice()) {
                    let i = chunk
                        .iter()
                        .copied()
                        .find(|&i| keys[i] == hash)
                        .unwrap_or(0);
                    let runner = tests.get(i).and_then(|t| t.runner_id.clone());
                    found.insert(hash, (get(&row, 1)?, runner));
                }
            }
        }
        if keys.iter().any(|k| !found.contains_key(k)) {
            // Another process created some of them meanwhile (outside a write).
            let missing: Vec<&[u8]> = keys
                .iter()
                .filter(|k| !found.contains_key(*k))
                .map(|k| &k[..])
                .collect();
            for row in self.query(
                "SELECT name_hash, id, runner_id FROM tests WHERE name_hash = ANY($1)",
                &[&missing],
            )? {
                if let Ok(hash) = <[u8; 16]>::try_from(get::<Vec<u8>>(&row, 0)?.as_slice()) {
                    found.insert(hash, (get(&row, 1)?, get(&row, 2)?));
                }
            }
        }
        let created: HashSet<usize> = new.into_iter().collect();
        let mut ids = Vec::with_capacity(tests.len());
        for (i, (test, hash)) in tests.iter().zip(&keys).enumerate() {
            let Some((id, runner_id)) = found.get(hash).cloned() else {
                return Err(Error::database(
                    "database error: a test vanished while being created",
                ));
            };
            if !created.contains(&i) && test.runner_id.is_some() && runner_id != test.runner_id {
                self.execute(
                    "UPDATE tests SET runner_id = $2 WHERE id = $1",
                    &[&id, &test.runner_id],
                )?;
                found.insert(*hash, (id, test.runner_id.clone()));
            }
            ids.push(id);
        }
        Ok(ids)
    }

    fn tests_by_id(&mut self, ids: &[Id]) -> Result<HashMap<Id, TestRecord>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_ROWS * 5) {
            let rows = self.query(
                "SELECT id, name, kind, file, runner_id FROM tests WHERE id = ANY($1)",
                &[&chunk],
            )?;
            for row in &rows {
                let record = test_record(row)?;
                out.insert(record.id, record);
            }
        }
        Ok(out)
    }

    fn test_by_name(&mut self, name: &[u8]) -> Result<Option<TestRecord>> {
        let hash = key(name);
        self.query_opt(
            "SELECT id, name, kind, file, runner_id FROM tests WHERE name_hash = $1",
            &[&&hash[..]],
        )?
        .as_ref()
        .map(test_record)
        .transpose()
    }

    fn tests_containing(&mut self, part: &[u8], limit: usize) -> Result<Vec<TestRecord>> {
        // position() on bytea compares bytes: case-sensitive and exact for any text.
        let rows = self.query(
            "SELECT id, name, kind, file, runner_id FROM tests \
             WHERE position($1 in name) > 0 ORDER BY name LIMIT $2",
            &[&part, &i64::try_from(limit).unwrap_or(i64::MAX)],
        )?;
        rows.iter().map(test_record).collect()
    }

    fn lane_runs(&mut self, lane: Id) -> Result<HashMap<Id, Vec<Run>>> {
        let rows = self.query(
            "SELECT test_id, first_number, status FROM runs WHERE lane_id = $1 \
             ORDER BY test_id, first_number",
            &[&lane],
        )?;
        let mut out: HashMap<Id, Vec<Run>> = HashMap::new();
        for row in &rows {
            out.entry(get(row, 0)?).or_default().push(Run {
                first: get(row, 1)?,
                status: opt_status(get(row, 2)?)?,
            });
        }
        Ok(out)
    }

    fn write_runs(&mut self, lane: Id, test: Id, delete: &[i64], upsert: &[Run]) -> Result<()> {
        self.write_runs_many(lane, &[(test, delete.to_vec(), upsert.to_vec())])
    }

    fn write_runs_many(&mut self, lane: Id, writes: &[(Id, Vec<i64>, Vec<Run>)]) -> Result<()> {
        // Every delete first, then every upsert: the same as test by test, since tests' runs do not
        // overlap and a test's upserts come after its deletes.
        let mut tests: Vec<Id> = Vec::new();
        let mut firsts: Vec<i64> = Vec::new();
        for (test, deletes, _) in writes {
            for first in deletes {
                tests.push(*test);
                firsts.push(*first);
            }
        }
        for (tests, firsts) in tests
            .chunks(MAX_ROWS * 10)
            .zip(firsts.chunks(MAX_ROWS * 10))
        {
            self.execute(
                "DELETE FROM runs WHERE lane_id = $1 AND (test_id, first_number) IN \
                 (SELECT * FROM unnest($2::bigint[], $3::bigint[]))",
                &[&lane, &tests, &firsts],
            )?;
        }
        // One row per key, the last written winning (a statement may not upsert a row twice).
        let mut rows: Vec<(Id, i64, Option<&'static str>)> = Vec::new();
        let mut at: HashMap<(Id, i64), usize> = HashMap::new();
        for (test, _, upserts) in writes {
            for run in upserts {
                let status = run.status.map(Status::as_str);
                match at.get(&(*test, run.first)) {
                    Some(&i) => rows[i].2 = status,
                    None => {
                        at.insert((*test, run.first), rows.len());
                        rows.push((*test, run.first, status));
                    }
                }
            }
        }
        let per = chunk_rows(4);
        for chunk in rows.chunks(per) {
            let sql = format!(
                "INSERT INTO runs (lane_id, test_id, first_number, status) VALUES {} \
                 ON CONFLICT (lane_id, test_id, first_number) DO UPDATE SET status = excluded.status",
                values_list(chunk.len(), 4)
            );
            let mut params: Vec<P<'_>> = Vec::with_capacity(chunk.len() * 4);
            for (test, first, status) in chunk {
                params.extend([&lane as P<'_>, test, first, status]);
            }
            self.query_bulk(&sql, &params, chunk.len() == per)?;
        }
        Ok(())
    }

    fn lane_compile_tests(&mut self, lane: Id) -> Result<Vec<(Id, Option<BString>)>> {
        let rows = self.query(
            "SELECT DISTINCT t.id, t.file FROM runs r JOIN tests t ON t.id = r.test_id \
             WHERE r.lane_id = $1 AND t.kind = 'compile' ORDER BY t.id",
            &[&lane],
        )?;
        rows.iter()
            .map(|row| Ok((get(row, 0)?, opt_bstring(row, 1)?)))
            .collect()
    }

    fn test_runs(&mut self, test: Id) -> Result<Vec<(Id, Vec<Run>)>> {
        let rows = self.query(
            "SELECT lane_id, first_number, status FROM runs WHERE test_id = $1 \
             ORDER BY lane_id, first_number",
            &[&test],
        )?;
        let mut out: Vec<(Id, Vec<Run>)> = Vec::new();
        for row in &rows {
            let lane: Id = get(row, 0)?;
            let run = Run {
                first: get(row, 1)?,
                status: opt_status(get(row, 2)?)?,
            };
            match out.last_mut() {
                Some((last, runs)) if *last == lane => runs.push(run),
                _ => out.push((lane, vec![run])),
            }
        }
        Ok(out)
    }

    fn build_results(&mut self, build: Id) -> Result<Vec<ResultRecord>> {
        let rows = self.query(
            &format!(
                "SELECT {RESULT_COLUMNS} FROM results r \
                 LEFT JOIN messages m ON m.id = r.message_id \
                 LEFT JOIN details d ON d.id = r.details_id WHERE r.build_id = $1 ORDER BY r.test_id"
            ),
            &[&build],
        )?;
        rows.iter().map(result_record).collect()
    }

    fn result_message(&mut self, build: Id, test: Id) -> Result<Option<BString>> {
        match self.query_opt(
            "SELECT m.text FROM results r JOIN messages m ON m.id = r.message_id \
             WHERE r.build_id = $1 AND r.test_id = $2",
            &[&build, &test],
        )? {
            Some(row) => Ok(Some(bstring(&row, 0)?)),
            None => Ok(None),
        }
    }

    fn result_text(&mut self, build: Id, test: Id) -> Result<Option<String>> {
        match self.query_opt(
            "SELECT r.details, d.data FROM results r LEFT JOIN details d ON d.id = r.details_id \
             WHERE r.build_id = $1 AND r.test_id = $2",
            &[&build, &test],
        )? {
            Some(row) => Ok(details::text_of(details_at(&row, 0)?.as_deref())),
            None => Ok(None),
        }
    }

    fn test_results(&mut self, test: Id) -> Result<HashMap<Id, ResultRecord>> {
        let rows = self.query(
            &format!(
                "SELECT {RESULT_COLUMNS}, r.build_id FROM results r \
                 LEFT JOIN messages m ON m.id = r.message_id \
                 LEFT JOIN details d ON d.id = r.details_id WHERE r.test_id = $1"
            ),
            &[&test],
        )?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            out.insert(get::<Id>(row, 7)?, result_record(row)?);
        }
        Ok(out)
    }

    fn failure_messages(&mut self, test: Id) -> Result<Vec<BString>> {
        let rows = self.query(
            "SELECT m.text FROM messages m WHERE m.id IN (SELECT message_id FROM results \
             WHERE test_id = $1 AND status IN ('failed', 'error')) ORDER BY m.id",
            &[&test],
        )?;
        rows.iter().map(|row| bstring(row, 0)).collect()
    }

    fn replace_build_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()> {
        self.execute("DELETE FROM results WHERE build_id = $1", &[&build])?;
        let texts: Vec<&[u8]> = results
            .iter()
            .filter_map(|r| r.message.as_ref().map(|m| m.as_slice()))
            .collect();
        let messages = if texts.is_empty() {
            HashMap::new()
        } else {
            self.message_ids(&texts)?
        };
        let objects: Vec<&Details> = results.iter().filter_map(|r| r.details.as_ref()).collect();
        let details = if objects.is_empty() {
            HashMap::new()
        } else {
            self.details_ids(&objects)?
        };
        let per = chunk_rows(7);
        for chunk in results.chunks(per) {
            let sql = format!(
                "INSERT INTO results (build_id, test_id, status, duration, message_id, attempts, \
                 details_id) VALUES {}",
                values_list(chunk.len(), 7)
            );
            let columns: Vec<(&str, Option<Id>, i64, Option<Id>)> = chunk
                .iter()
                .map(|r| {
                    (
                        r.status.as_str(),
                        r.message
                            .as_ref()
                            .and_then(|m| messages.get(&key(m)).copied()),
                        i64::from(r.attempts),
                        r.details
                            .as_ref()
                            .and_then(|d| details.get(&d.key()).copied()),
                    )
                })
                .collect();
            let mut params: Vec<P<'_>> = Vec::with_capacity(chunk.len() * 7);
            for (r, (status, message, attempts, details)) in chunk.iter().zip(&columns) {
                params.extend([
                    &build as P<'_>,
                    &r.test,
                    status,
                    &r.duration,
                    message,
                    attempts,
                    details,
                ]);
            }
            self.query_bulk(&sql, &params, chunk.len() == per)?;
        }
        Ok(())
    }

    fn blamelists(&mut self, builds: &[Id]) -> Result<HashMap<Id, Vec<ChangeRef>>> {
        let mut out: HashMap<Id, Vec<ChangeRef>> =
            builds.iter().map(|&b| (b, Vec::new())).collect();
        for chunk in builds.chunks(MAX_ROWS * 5) {
            let rows = self.query(
                "SELECT bc.build_id, c.id, c.revision, u.name FROM build_changes bc \
                 JOIN changes c ON c.id = bc.change_id LEFT JOIN users u ON u.id = c.user_id \
                 WHERE bc.build_id = ANY($1) ORDER BY bc.build_id, coalesce(c.time, 0), c.revision",
                &[&chunk],
            )?;
            for row in &rows {
                out.entry(get(row, 0)?).or_default().push(ChangeRef {
                    id: get(row, 1)?,
                    revision: get(row, 2)?,
                    author: get(row, 3)?,
                });
            }
        }
        Ok(out)
    }

    fn unlink_changes(&mut self, build: Id) -> Result<()> {
        self.execute("DELETE FROM build_changes WHERE build_id = $1", &[&build])?;
        Ok(())
    }

    fn retire_builder(&mut self, name: &str, at: Option<Micros>) -> Result<bool> {
        Ok(self.execute(
            "UPDATE builders SET retired_at = $2 WHERE md5(name) = md5($1) AND name = $1",
            &[&name, &at],
        )? > 0)
    }

    fn retired_builders(&mut self) -> Result<Vec<String>> {
        let rows = self.query(
            "SELECT name FROM builders WHERE retired_at IS NOT NULL ORDER BY name",
            &[],
        )?;
        rows.iter().map(|row| get(row, 0)).collect()
    }

    fn lane_tests(&mut self, lane: Id) -> Result<Vec<Id>> {
        let rows = self.query(
            "SELECT DISTINCT test_id FROM runs WHERE lane_id = $1 ORDER BY test_id",
            &[&lane],
        )?;
        rows.iter().map(|row| get(row, 0)).collect()
    }

    fn tests_with_recent_problems(
        &mut self,
        builder: &str,
        branch: Option<&str>,
        since: i64,
    ) -> Result<Vec<Id>> {
        let rows = self.query(
            "SELECT DISTINCT p.test_id FROM problems p \
             JOIN problem_builders pb ON pb.problem_id = p.id \
             JOIN builders b ON b.id = pb.builder_id \
             WHERE b.name = $1 AND p.branch = $2 \
             AND (pb.fixed_number IS NULL OR pb.fixed_number >= $3) ORDER BY p.test_id",
            &[&builder, &branch.unwrap_or(""), &since],
        )?;
        rows.iter().map(|row| get(row, 0)).collect()
    }

    fn test_problem_keys(&mut self, test: Id, branch: Option<&str>) -> Result<Vec<(Id, Id)>> {
        let rows = self.query(
            "SELECT id, first_build_id FROM problems WHERE test_id = $1 AND branch = $2 ORDER BY id",
            &[&test, &branch.unwrap_or("")],
        )?;
        rows.iter()
            .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
            .collect()
    }

    fn save_problem(&mut self, p: &ProblemRecord) -> Result<Id> {
        let message = match &p.message {
            Some(text) => Some(self.message_id(text)?),
            None => None,
        };
        let fixed = p.fixed.as_ref();
        const COLUMNS: &str = "test_id, branch, first_build_id, first_builder, first_number, \
             first_time, first_revision, last_builder, last_number, last_time, last_revision, \
             fixed_builder, fixed_number, fixed_time, fixed_revision, state, intermittent, \
             failures, message_id, updated_at, cluster";
        let branch = p.branch.as_deref().unwrap_or("");
        let fixed_builder = fixed.map(|f| f.builder.as_str());
        let fixed_number = fixed.map(|f| f.number);
        let fixed_time = fixed.map(|f| f.time);
        let fixed_revision = fixed.and_then(|f| f.revision.as_deref());
        let state = p.state();
        let intermittent = i64::from(p.intermittent);
        let failures = count(p.failures);
        let now = clock::to_micros(clock::now());
        let values: [P<'_>; 21] = [
            &p.test,
            &branch,
            &p.first_build,
            &p.first_failure.builder,
            &p.first_failure.number,
            &p.first_failure.time,
            &p.first_failure.revision,
            &p.last_failure.builder,
            &p.last_failure.number,
            &p.last_failure.time,
            &p.last_failure.revision,
            &fixed_builder,
            &fixed_number,
            &fixed_time,
            &fixed_revision,
            &state,
            &intermittent,
            &failures,
            &message,
            &now,
            &p.cluster,
        ];
        let id = if p.id == 0 {
            let sql = format!(
                "INSERT INTO problems ({COLUMNS}) VALUES ({}) RETURNING id",
                (1..=21)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let row = self.query_one(&sql, &values)?;
            get(&row, 0)?
        } else {
            // An upsert keeps the row (and what hangs on its id), where a replace would delete it.
            let updates = COLUMNS
                .split(", ")
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO problems (id, {COLUMNS}) VALUES ({}) \
                 ON CONFLICT (id) DO UPDATE SET {updates}",
                (1..=22)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut params: Vec<P<'_>> = vec![&p.id];
            params.extend(values);
            self.execute(&sql, &params)?;
            for sql in [
                "DELETE FROM problem_builders WHERE problem_id = $1",
                "DELETE FROM problem_changes WHERE problem_id = $1",
            ] {
                self.execute(sql, &[&p.id])?;
            }
            p.id
        };
        for b in &p.builders {
            let builder = self.create_builder(&b.builder)?;
            self.execute(
                "INSERT INTO problem_builders (problem_id, builder_id, first_number, \
                 last_number, fixed_number) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &id,
                    &builder,
                    &b.first_number,
                    &b.last_number,
                    &b.fixed_number,
                ],
            )?;
        }
        for (role, changes) in [("start", &p.started_by), ("fix", &p.fixed_by)] {
            for change in changes {
                self.execute(
                    "INSERT INTO problem_changes (problem_id, role, change_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    &[&id, &role, &change.id],
                )?;
            }
        }
        Ok(id)
    }

    fn delete_problem(&mut self, id: Id) -> Result<()> {
        self.execute("DELETE FROM problems WHERE id = $1", &[&id])?;
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
        let mut args: Vec<Param> = Vec::new();
        if let Some(open) = filter.open {
            args.push(Param::Text(Some(
                if open { "open" } else { "fixed" }.to_owned(),
            )));
            sql += &format!(" AND p.state = ${}", args.len());
        }
        if !filter.hidden {
            sql += " AND p.state <> 'hidden'";
        }
        if let Some(intermittent) = filter.intermittent {
            args.push(Param::Int(Some(i64::from(intermittent))));
            sql += &format!(" AND p.intermittent = ${}", args.len());
        }
        if let Some(branch) = &filter.branch {
            args.push(Param::Text(Some(branch.clone().unwrap_or_default())));
            sql += &format!(" AND p.branch = ${}", args.len());
        }
        if let Some(test) = filter.test {
            args.push(Param::Int(Some(test)));
            sql += &format!(" AND p.test_id = ${}", args.len());
        }
        if let Some(build) = filter.first_build {
            args.push(Param::Int(Some(build)));
            sql += &format!(" AND p.first_build_id = ${}", args.len());
        }
        let ids: Vec<Id> = filter.ids.clone().unwrap_or_default();
        let mut params: Vec<P<'_>> = args.iter().map(|a| a as P<'_>).collect();
        if filter.ids.is_some() {
            params.push(&ids);
            sql += &format!(" AND p.id = ANY(${})", params.len());
        }
        sql += " ORDER BY p.last_time DESC, p.id DESC";
        let rows = self.query(&sql, &params)?;
        let build_ref = |row: &Row, at: usize| -> Result<Option<BuildRef>> {
            let builder: Option<String> = get(row, at)?;
            Ok(match builder {
                Some(builder) => Some(BuildRef {
                    builder,
                    number: get(row, at + 1)?,
                    time: get(row, at + 2)?,
                    revision: get(row, at + 3)?,
                }),
                None => None,
            })
        };
        let missing = || Error::database("database error: a Problem names no builder");
        let mut problems = Vec::with_capacity(rows.len());
        for row in &rows {
            let branch: String = get(row, 4)?;
            problems.push(ProblemRecord {
                id: get(row, 0)?,
                test: get(row, 1)?,
                test_name: bstring(row, 2)?,
                kind: kind(&get::<String>(row, 3)?)?,
                branch: (!branch.is_empty()).then_some(branch),
                first_build: get(row, 5)?,
                first_failure: build_ref(row, 6)?.ok_or_else(missing)?,
                last_failure: build_ref(row, 10)?.ok_or_else(missing)?,
                fixed: build_ref(row, 14)?,
                open: get::<String>(row, 18)? == "open",
                hidden: get::<String>(row, 18)? == "hidden",
                intermittent: get::<i64>(row, 19)? != 0,
                failures: get::<i64>(row, 20)?.max(0) as u64,
                message: opt_bstring(row, 21)?,
                cluster: get(row, 22)?,
                builders: Vec::new(),
                started_by: Vec::new(),
                fixed_by: Vec::new(),
            });
        }
        // Their builders and changes, a chunk of Problems per query rather than one query each.
        let ids: Vec<Id> = problems.iter().map(|p| p.id).collect();
        let mut builders: HashMap<Id, Vec<ProblemBuilder>> = HashMap::new();
        let mut changes: HashMap<Id, Vec<(String, ChangeRef)>> = HashMap::new();
        for chunk in ids.chunks(MAX_ROWS * 5) {
            let rows = self.query(
                "SELECT pb.problem_id, b.name, pb.first_number, pb.last_number, pb.fixed_number \
                 FROM problem_builders pb JOIN builders b ON b.id = pb.builder_id \
                 WHERE pb.problem_id = ANY($1) ORDER BY pb.problem_id, b.name",
                &[&chunk],
            )?;
            for row in &rows {
                builders
                    .entry(get(row, 0)?)
                    .or_default()
                    .push(ProblemBuilder {
                        builder: get(row, 1)?,
                        first_number: get(row, 2)?,
                        last_number: get(row, 3)?,
                        fixed_number: get(row, 4)?,
                    });
            }
            let rows = self.query(
                "SELECT pc.problem_id, pc.role, c.id, c.revision, u.name FROM problem_changes pc \
                 JOIN changes c ON c.id = pc.change_id LEFT JOIN users u ON u.id = c.user_id \
                 WHERE pc.problem_id = ANY($1) ORDER BY pc.problem_id, coalesce(c.time, 0), c.revision",
                &[&chunk],
            )?;
            for row in &rows {
                let change = ChangeRef {
                    id: get(row, 2)?,
                    revision: get(row, 3)?,
                    author: get(row, 4)?,
                };
                changes
                    .entry(get(row, 0)?)
                    .or_default()
                    .push((get(row, 1)?, change));
            }
        }
        for p in &mut problems {
            p.builders = builders.remove(&p.id).unwrap_or_default();
            for (role, change) in changes.remove(&p.id).unwrap_or_default() {
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
        let state = if open { "open" } else { "closed" };
        // Update first: an upsert would take an id from the sequence even when it only updates.
        let updated = self.execute(
            "UPDATE problem_links SET state = $3 \
             WHERE problem_id = $1 AND md5(url) = md5($2) AND url = $2",
            &[&problem, &url, &state],
        )?;
        if updated == 0 {
            self.execute(
                "INSERT INTO problem_links (problem_id, url, state, added_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (problem_id, (md5(url))) DO UPDATE SET state = excluded.state",
                &[&problem, &url, &state, &at],
            )?;
        }
        Ok(())
    }

    fn remove_link(&mut self, problem: Id, url: &str) -> Result<bool> {
        Ok(self.execute(
            "DELETE FROM problem_links WHERE problem_id = $1 AND md5(url) = md5($2) AND url = $2",
            &[&problem, &url],
        )? > 0)
    }

    fn links(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<LinkRecord>>> {
        let mut out: HashMap<Id, Vec<LinkRecord>> = HashMap::new();
        for chunk in problems.chunks(MAX_ROWS * 5) {
            let rows = self.query(
                "SELECT problem_id, url, state, added_at FROM problem_links \
                 WHERE problem_id = ANY($1) ORDER BY problem_id, added_at, id",
                &[&chunk],
            )?;
            for row in &rows {
                let problem: Id = get(row, 0)?;
                out.entry(problem).or_default().push(LinkRecord {
                    problem,
                    url: get(row, 1)?,
                    open: get::<String>(row, 2)? == "open",
                    added_at: get(row, 3)?,
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
        let row = self.query_one(
            "INSERT INTO problem_notes (problem_id, text, author, added_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&problem, &text, &author, &at],
        )?;
        get(&row, 0)
    }

    fn notes(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<NoteRecord>>> {
        let mut out: HashMap<Id, Vec<NoteRecord>> = HashMap::new();
        for chunk in problems.chunks(MAX_ROWS * 5) {
            let rows = self.query(
                "SELECT problem_id, id, text, author, added_at FROM problem_notes \
                 WHERE problem_id = ANY($1) ORDER BY problem_id, added_at, id",
                &[&chunk],
            )?;
            for row in &rows {
                let problem: Id = get(row, 0)?;
                out.entry(problem).or_default().push(NoteRecord {
                    id: get(row, 1)?,
                    problem,
                    text: get(row, 2)?,
                    author: get(row, 3)?,
                    added_at: get(row, 4)?,
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
        let row = self.query_one(
            "INSERT INTO bad_ranges (builder_id, from_number, to_number, reason, added_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&builder, &from, &to, &reason, &at],
        )?;
        get(&row, 0)
    }

    fn remove_bad_ranges(&mut self, builder: &str, from: i64) -> Result<Vec<BadRange>> {
        let found: Vec<BadRange> = self
            .bad_ranges()?
            .into_iter()
            .filter(|r| r.builder == builder && r.from == from)
            .collect();
        for range in &found {
            self.execute("DELETE FROM bad_ranges WHERE id = $1", &[&range.id])?;
        }
        Ok(found)
    }

    fn bad_ranges(&mut self) -> Result<Vec<BadRange>> {
        let rows = self.query(
            "SELECT r.id, b.name, r.from_number, r.to_number, r.reason, r.added_at \
             FROM bad_ranges r JOIN builders b ON b.id = r.builder_id \
             ORDER BY b.name, r.from_number, r.id",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                Ok(BadRange {
                    id: get(row, 0)?,
                    builder: get(row, 1)?,
                    from: get(row, 2)?,
                    to: get(row, 3)?,
                    reason: get(row, 4)?,
                    added_at: get(row, 5)?,
                })
            })
            .collect()
    }

    fn rename_test(&mut self, old: Id, new: Id, at: Micros) -> Result<()> {
        self.execute(
            "INSERT INTO test_renames (old_test_id, new_test_id, renamed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (old_test_id) DO UPDATE SET new_test_id = excluded.new_test_id, \
             renamed_at = excluded.renamed_at",
            &[&old, &new, &at],
        )?;
        Ok(())
    }

    fn renames(&mut self) -> Result<Vec<(Id, Id)>> {
        let rows = self.query(
            "SELECT old_test_id, new_test_id FROM test_renames ORDER BY renamed_at, old_test_id",
            &[],
        )?;
        rows.iter()
            .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
            .collect()
    }

    fn move_problems(&mut self, old: Id, new: Id) -> Result<()> {
        self.execute(
            "UPDATE problems SET test_id = $2 WHERE test_id = $1 AND NOT EXISTS \
             (SELECT 1 FROM problems q WHERE q.test_id = $2 AND q.branch = problems.branch \
              AND q.first_build_id = problems.first_build_id)",
            &[&old, &new],
        )?;
        Ok(())
    }

    fn failures(&mut self, branch: Option<&str>, since: Option<Micros>) -> Result<Vec<FailureRow>> {
        let rows = self.query(
            "SELECT r.test_id, t.name, bl.name, b.number, b.time, b.revision, m.text, r.details, \
             d.data FROM results r JOIN builds b ON b.id = r.build_id \
             LEFT JOIN details d ON d.id = r.details_id \
             JOIN builders bl ON bl.id = b.builder_id JOIN lanes l ON l.id = b.lane_id \
             JOIN tests t ON t.id = r.test_id LEFT JOIN messages m ON m.id = r.message_id \
             WHERE r.status IN ('failed', 'error') AND l.branch = $1 AND b.time >= $2 \
             ORDER BY b.time, bl.name, b.number, r.test_id",
            &[&branch.unwrap_or(""), &since.unwrap_or(i64::MIN)],
        )?;
        rows.iter()
            .map(|row| {
                Ok(FailureRow {
                    test: get(row, 0)?,
                    test_name: bstring(row, 1)?,
                    builder: get(row, 2)?,
                    number: get(row, 3)?,
                    time: get(row, 4)?,
                    revision: get(row, 5)?,
                    message: opt_bstring(row, 6)?,
                    text: details::text_of(details_at(row, 7)?.as_deref()),
                })
            })
            .collect()
    }

    fn notifications(&mut self) -> Result<Vec<NotificationRecord>> {
        let rows = self.query(
            "SELECT problem_id, event, target, sent_at, attempts, last_error FROM notifications \
             ORDER BY problem_id, event, target",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                Ok(NotificationRecord {
                    problem: get(row, 0)?,
                    event: get(row, 1)?,
                    target: get(row, 2)?,
                    sent_at: get(row, 3)?,
                    attempts: get(row, 4)?,
                    last_error: get(row, 5)?,
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
        self.execute(
            "INSERT INTO notifications (problem_id, event, target, sent_at, attempts, last_error) \
             VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (problem_id, event, target) DO UPDATE SET \
             sent_at = coalesce(notifications.sent_at, excluded.sent_at), \
             attempts = notifications.attempts + 1, last_error = excluded.last_error",
            &[&problem, &event, &target, &sent_at, &error],
        )?;
        Ok(())
    }

    fn notify_baseline(&mut self) -> Result<Option<Micros>> {
        match self.query_opt("SELECT set_at FROM notify_baseline WHERE id = 1", &[])? {
            Some(row) => Ok(Some(get(&row, 0)?)),
            None => Ok(None),
        }
    }

    fn set_notify_baseline(&mut self, at: Micros) -> Result<()> {
        self.execute(
            "INSERT INTO notify_baseline (id, set_at) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET set_at = excluded.set_at",
            &[&at],
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
        let stmt = self.client.prepare(&sql).map_err(pg_error)?;
        let mut rows = self
            .client
            .query_raw(&stmt, std::iter::empty::<i64>())
            .map_err(pg_error)?;
        while let Some(row) = rows.next().map_err(pg_error)? {
            let mut cells = Vec::with_capacity(table.columns.len());
            for (i, column) in table.columns.iter().enumerate() {
                let cell = match column.kind {
                    ColumnType::Int => get::<Option<i64>>(&row, i)?.map(Cell::Int),
                    ColumnType::Real => get::<Option<f64>>(&row, i)?.map(Cell::Real),
                    ColumnType::Text => get::<Option<String>>(&row, i)?.map(Cell::Text),
                    ColumnType::Bytes | ColumnType::Blob => {
                        get::<Option<Vec<u8>>>(&row, i)?.map(Cell::Bytes)
                    }
                };
                cells.push(cell.unwrap_or(Cell::Null));
            }
            each(cells)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let columns = table.columns.len();
        let per = chunk_rows(columns);
        for chunk in rows.chunks(per) {
            let mut params: Vec<Param> = Vec::with_capacity(chunk.len() * columns);
            for row in chunk {
                Cell::check_row(table, row)?;
                for (cell, column) in row.iter().zip(table.columns) {
                    params.push(param(table, column.name, column.kind, cell)?);
                }
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                table.name,
                table.column_list(),
                values_list(chunk.len(), columns)
            );
            let refs: Vec<P<'_>> = params.iter().map(|p| p as P<'_>).collect();
            self.query_bulk(&sql, &refs, chunk.len() == per)?;
        }
        Ok(())
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let row = self.query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?;
        Ok(get::<i64>(&row, 0)?.max(0) as u64)
    }

    fn finish_copy(&mut self) -> Result<()> {
        for table in TABLES.iter().filter(|t| t.serial_id) {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), coalesce(max(id), 0) + 1, false) \
                 FROM {0}",
                table.name
            );
            self.client.query_one(&sql, &[]).map_err(pg_error)?;
        }
        Ok(())
    }
}

/// A cell as a parameter of its column's type.
fn param(table: &Table, column: &str, kind: ColumnType, cell: &Cell) -> Result<Param> {
    let mismatch = || {
        Error::database(format!(
            "a value of `{}.{column}` does not fit its column ({kind:?}): {cell:?}",
            table.name
        ))
    };
    Ok(match (kind, cell) {
        (ColumnType::Int, Cell::Null) => Param::Int(None),
        (ColumnType::Int, Cell::Int(v)) => Param::Int(Some(*v)),
        (ColumnType::Real, Cell::Null) => Param::Real(None),
        (ColumnType::Real, Cell::Real(v)) => Param::Real(Some(*v)),
        #[allow(clippy::cast_precision_loss)]
        (ColumnType::Real, Cell::Int(v)) => Param::Real(Some(*v as f64)),
        (ColumnType::Text, Cell::Null) => Param::Text(None),
        (ColumnType::Text, Cell::Text(t)) => Param::Text(Some(t.clone())),
        (ColumnType::Text, Cell::Bytes(b)) => {
            Param::Text(Some(String::from_utf8_lossy(b).into_owned()))
        }
        (ColumnType::Bytes | ColumnType::Blob, Cell::Null) => Param::Bytes(None),
        (ColumnType::Bytes | ColumnType::Blob, Cell::Bytes(b)) => Param::Bytes(Some(b.clone())),
        (ColumnType::Bytes | ColumnType::Blob, Cell::Text(t)) => {
            Param::Bytes(Some(t.clone().into_bytes()))
        }
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_number_parameters_row_by_row() {
        assert_eq!(values_list(1, 1), "($1)");
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn chunks_stay_under_the_parameter_limit() {
        for columns in [1, 2, 4, 5, 7, 19, 22, 70_000] {
            let rows = chunk_rows(columns);
            assert!(rows >= 1);
            assert!(rows <= MAX_ROWS);
            assert!(rows * columns <= MAX_PARAMS || rows == 1, "{columns}");
        }
        assert_eq!(chunk_rows(7), MAX_ROWS);
        assert_eq!(chunk_rows(100), 655);
    }

    #[test]
    fn cells_become_parameters_of_their_column_type() {
        let table = super::super::table("tests").expect("tests");
        assert!(matches!(
            param(table, "id", ColumnType::Int, &Cell::Int(3)),
            Ok(Param::Int(Some(3)))
        ));
        assert!(matches!(
            param(table, "name", ColumnType::Bytes, &Cell::Text("a".into())),
            Ok(Param::Bytes(Some(ref b))) if b == b"a"
        ));
        assert!(matches!(
            param(table, "file", ColumnType::Bytes, &Cell::Null),
            Ok(Param::Bytes(None))
        ));
        assert!(param(table, "id", ColumnType::Int, &Cell::Text("x".into())).is_err());
    }

    #[test]
    fn servers_are_named_without_passwords() {
        let config: Config = "postgres://u:secret@db.example:6543/x"
            .parse()
            .expect("url");
        assert_eq!(server(&config), "db.example:6543");
        assert!(!redact("postgres://u:secret@db.example:6543/x").contains("secret"));
    }
}
