//! MySQL or MariaDB: a shared database server for many builders. The shared queries run here as
//! on SQLite, with the same answers in the same order.
//!
//! Writers take turns: `begin_write` takes a named lock for the whole database (`GET_LOCK`) before
//! it starts a transaction, as SQLite's `BEGIN IMMEDIATE` does. Text that came from a report is
//! kept as its bytes (LONGBLOB); other text uses a binary collation, and text identities of any
//! length are unique through generated MD5 key columns (see `migrations/mysql/0001_initial.sql` and
//! `docs/schema.md`). MySQL numbers no placeholders: a query's `?N` are bound in the order they
//! appear, and a list of ids is written into the statement.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use mysql::prelude::Queryable;
use mysql::{Conn, Params, Row, Value};

use super::engine::{
    in_groups, placeholders, send_before, send_before_batch, Engine, Fields, Held, HeldWrite, Param,
};
use super::migrate::{self, Migration};
use super::sql::SqlStore;
use super::{Id, OpenMode};
use crate::connect::mysql::{self as connect, error};
use crate::error::{Error, Result};

/// How long a writer waits for another to finish before giving up, in seconds.
const WRITE_LOCK_TIMEOUT: u32 = 600;
/// How long a first open waits for another process's migration, in seconds.
const MIGRATE_LOCK_TIMEOUT: u32 = 300;
/// A byte budget per statement, well below `max_allowed_packet`.
const CHUNK_BYTES: usize = 4 << 20;

/// A lock name unique to the connection's database (lock names are server-wide, at most 64
/// characters).
fn lock_name(prefix: &str) -> String {
    format!("CONCAT('{prefix}:', IF(CHAR_LENGTH(DATABASE()) <= 40, DATABASE(), MD5(DATABASE())))")
}

pub(super) struct Mysql {
    conn: Conn,
    /// The URL with any password redacted.
    shown: String,
    /// Shared SQL texts with numbered placeholders, rewritten, and the parameters they bind.
    texts: HashMap<String, (String, Vec<usize>)>,
    /// Writes held to be sent several in one round trip (`Engine::hold_writes`).
    held: Held,
}

fn value(param: Param<'_>) -> Value {
    match param {
        Param::Null | Param::Ids(_) => Value::NULL,
        Param::Int(v) => Value::Int(v),
        Param::Real(v) => Value::Double(v),
        Param::Text(t) => Value::Bytes(t.as_bytes().to_vec()),
        Param::Blob(b) | Param::Report(b) => Value::Bytes(b.to_vec()),
    }
}

/// `sql` with SQLite's placeholders rewritten as MySQL's (a list of ids written in), and the
/// parameter each `?` binds.
fn rewrite(sql: &str, params: &[Param<'_>]) -> (String, Vec<usize>) {
    let mut order = Vec::new();
    let text = placeholders(sql, |out, n| match params.get(n - 1) {
        Some(ids @ Param::Ids(_)) => literal(out, ids, false),
        _ => {
            out.push('?');
            order.push(n - 1);
        }
    });
    (text, order)
}

/// The statement text and parameters for the shared `sql`: rewritten once and remembered where it
/// numbers its placeholders, written anew where it lists ids.
fn bind<'t>(
    texts: &'t mut HashMap<String, (String, Vec<usize>)>,
    sql: &'t str,
    params: &[Param<'_>],
) -> Result<(Cow<'t, str>, Params)> {
    let numbered = sql
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'?' && w[1].is_ascii_digit());
    let (text, order): (Cow<'t, str>, Cow<'_, [usize]>) =
        if params.iter().any(|p| matches!(p, Param::Ids(_))) {
            let (text, order) = rewrite(sql, params);
            (Cow::Owned(text), Cow::Owned(order))
        } else if numbered {
            if !texts.contains_key(sql) {
                texts.insert(sql.to_owned(), rewrite(sql, params));
            }
            let (text, order) = &texts[sql];
            (
                Cow::Borrowed(text.as_str()),
                Cow::Borrowed(order.as_slice()),
            )
        } else {
            (Cow::Borrowed(sql), Cow::Owned((0..params.len()).collect()))
        };
    if order.is_empty() {
        return Ok((text, Params::Empty));
    }
    let values = order
        .iter()
        .map(|&i| params.get(i).copied().map(value))
        .collect::<Option<Vec<Value>>>()
        .ok_or_else(|| Error::database("database error: a statement names a missing parameter"))?;
    Ok((text, Params::Positional(values)))
}

fn column(row: &Row, i: usize) -> Result<&Value> {
    row.as_ref(i)
        .ok_or_else(|| Error::database(format!("a database row has no column {i}")))
}

/// A number from the text protocol's bytes, or `None`: an unexpected value.
fn number<T: std::str::FromStr>(value: &Value, i: usize) -> Result<T> {
    let text = match value {
        Value::Bytes(b) => std::str::from_utf8(b).ok(),
        _ => None,
    };
    (text.and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| Error::database(format!("unexpected value in column {i} of a database row")))
}

impl Fields for Row {
    fn int(&self, i: usize) -> Result<Option<i64>> {
        match column(self, i)? {
            Value::NULL => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            Value::UInt(v) => Ok(Some(i64::try_from(*v).unwrap_or(i64::MAX))),
            other => number(other, i).map(Some),
        }
    }

    fn real(&self, i: usize) -> Result<Option<f64>> {
        #[allow(clippy::cast_precision_loss)]
        match column(self, i)? {
            Value::NULL => Ok(None),
            Value::Double(v) => Ok(Some(*v)),
            Value::Float(v) => Ok(Some(f64::from(*v))),
            Value::Int(v) => Ok(Some(*v as f64)),
            other => number(other, i).map(Some),
        }
    }

    fn with_bytes<T>(&self, i: usize, f: impl FnOnce(Option<&[u8]>) -> T) -> Result<T> {
        Ok(match column(self, i)? {
            Value::NULL => f(None),
            Value::Bytes(b) => f(Some(b)),
            other => f(Some(other.as_sql(true).trim_matches('\'').as_bytes())),
        })
    }
}

impl Mysql {
    pub(super) fn open(url: &str, mode: OpenMode) -> Result<SqlStore<Mysql>> {
        let (mut conn, shown) = connect::conn(url)?;
        // The session's settings, in one round trip.
        run_all(
            &mut conn,
            &[
                "SET NAMES utf8mb4",
                "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,\
                 ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
                "SET SESSION time_zone = '+00:00'",
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                // ORDER BY on long text compares only max_sort_length bytes (default 1024): all
                // of a TEXT (64 KiB), with a sort buffer that holds many such keys.
                "SET SESSION max_sort_length = 65536",
                "SET SESSION sort_buffer_size = 8388608",
            ],
        )
        .map_err(|e| e.context(format!("cannot open the database {shown}")))?;
        let engine = Mysql {
            conn,
            shown,
            texts: HashMap::new(),
            held: Held::default(),
        };
        SqlStore::open(engine, mode)
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
            .map_err(error)?;
        Ok(["utf8mb4_nopad_bin", "utf8mb4_0900_bin"]
            .into_iter()
            .find(|c| names.iter().any(|n| n == c))
            .unwrap_or("utf8mb4_bin")
            .to_owned())
    }

    /// Takes the named lock `prefix:DATABASE`, waiting up to `timeout` seconds.
    fn lock(&mut self, prefix: &str, timeout: u32) -> Result<bool> {
        self.select_lock(&format!("GET_LOCK({}, {timeout})", lock_name(prefix)))
    }

    fn unlock(&mut self, prefix: &str) -> Result<()> {
        self.select_lock(&format!("RELEASE_LOCK({})", lock_name(prefix)))
            .map(drop)
    }

    /// Runs a lock function (`GET_LOCK(…)`, `RELEASE_LOCK(…)`); whether it answered 1.
    fn select_lock(&mut self, call: &str) -> Result<bool> {
        let got: Option<Option<i64>> = self
            .conn
            .query_first(format!("SELECT {call}"))
            .map_err(error)?;
        Ok(got == Some(Some(1)))
    }
}

/// `param` as a literal of MySQL's text protocol: bytes in hex, text escaped by the driver as the
/// session reads it (`no_backslash_escapes`: the connection's `NO_BACKSLASH_ESCAPES`, as the
/// server's status flag tells it), doubles in scientific notation (read back exactly).
fn literal(out: &mut String, param: &Param<'_>, no_backslash_escapes: bool) {
    match *param {
        Param::Null | Param::Ids([]) => out.push_str("NULL"),
        Param::Int(v) => out.push_str(&v.to_string()),
        Param::Real(v) => out.push_str(&format!("{v:e}")),
        Param::Text(t) => {
            out.push_str(&Value::Bytes(t.as_bytes().to_vec()).as_sql(no_backslash_escapes));
        }
        Param::Blob(b) | Param::Report(b) => {
            out.push_str("X'");
            for byte in b {
                let _ = write!(out, "{byte:02X}");
            }
            out.push('\'');
        }
        Param::Ids(ids) => {
            out.push_str(&ids.iter().map(Id::to_string).collect::<Vec<_>>().join(","))
        }
    }
}

/// A held write as one statement of the text protocol, its values written in.
fn with_literals(write: &HeldWrite, no_backslash_escapes: bool) -> String {
    let params = write.params();
    placeholders(&write.sql, |out, n| {
        literal(
            out,
            params.get(n - 1).unwrap_or(&Param::Null),
            no_backslash_escapes,
        );
    })
}

/// Runs `statements` in one round trip (one query of several statements), failing on the first
/// that fails (after which the server runs no more of them); returns the rows they answered.
fn run_all(conn: &mut Conn, statements: &[&str]) -> Result<Vec<Row>> {
    let mut result = conn.query_iter(statements.join(";\n")).map_err(error)?;
    let mut rows = Vec::new();
    while let Some(set) = result.iter() {
        for row in set {
            rows.push(row.map_err(error)?);
        }
    }
    Ok(rows)
}

/// An upsert's `SET` in MySQL's words: `excluded.c` is `VALUES(c)`, `table.c` is `c`.
fn duplicate_set(set: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(set.len() + 16);
    let mut rest = set;
    while let Some(dot) = rest.find('.') {
        let (before, after) = (&rest[..dot], &rest[dot + 1..]);
        let start = before.rfind(|c| !word(c)).map_or(0, |i| i + 1);
        out.push_str(&before[..start]);
        let end = after.find(|c| !word(c)).unwrap_or(after.len());
        match &before[start..] {
            "excluded" => {
                let _ = write!(out, "VALUES({})", &after[..end]);
            }
            _ => out.push_str(&after[..end]),
        }
        rest = &after[end..];
    }
    out + rest
}

impl Engine for Mysql {
    type Row<'r> = Row;
    const MIGRATIONS: &'static [Migration] = migrate::MYSQL;
    const NAME: &'static str = "a MySQL/MariaDB";
    const ANOTHER: &'static str =
        "create an empty database for probtrack (`CREATE DATABASE name`) and name it in the URL";
    const TABLES: &'static str =
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()";
    const BYTES_PER_INSERT: usize = CHUNK_BYTES;

    fn location(&self) -> String {
        self.shown.clone()
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        send_before(self, sql)?;
        let (text, params) = bind(&mut self.texts, sql, params)?;
        self.conn.exec_drop(text.as_ref(), params).map_err(error)?;
        Ok(self.conn.affected_rows())
    }

    fn query<F>(&mut self, sql: &str, params: &[Param<'_>], mut each: F) -> Result<()>
    where
        F: FnMut(&Row) -> Result<()>,
    {
        send_before(self, sql)?;
        let (text, params) = bind(&mut self.texts, sql, params)?;
        for row in self.conn.exec_iter(text.as_ref(), params).map_err(error)? {
            each(&row.map_err(error)?)?;
        }
        Ok(())
    }

    fn insert(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Id> {
        self.execute(sql, params)?;
        Id::try_from(self.conn.last_insert_id())
            .map_err(|_| Error::database("the server returned an id out of range"))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        send_before_batch(self, sql)?;
        self.conn.query_drop(sql).map_err(error)
    }

    fn held(&mut self) -> Option<&mut Held> {
        Some(&mut self.held)
    }

    fn holdable(param: &Param<'_>) -> bool {
        // Written into the statement's text as a literal (`literal`): every value but a number
        // that is not finite, which SQL has no literal for.
        !matches!(param, Param::Real(v) if !v.is_finite())
    }

    /// In order, as many in one round trip (one query of several statements, their values
    /// written in) as fit in a packet's budget.
    fn send_writes(&mut self, writes: Vec<HeldWrite>) -> Result<()> {
        // Text is escaped as the session reads it now (the flag of the server's last answer).
        let plain = self.conn.no_backslash_escape();
        let texts = writes.iter().map(|w| with_literals(w, plain));
        let fits = |group: &[String], next: &String| {
            group.iter().map(String::len).sum::<usize>() + next.len() <= CHUNK_BYTES
        };
        in_groups(texts, fits, |group| {
            let all: Vec<&str> = group.iter().map(String::as_str).collect();
            run_all(&mut self.conn, &all).map(drop)
        })
    }

    fn begin_write(&mut self) -> Result<()> {
        // The lock, then the transaction, in one round trip.
        let lock = format!(
            "SELECT GET_LOCK({}, {WRITE_LOCK_TIMEOUT})",
            lock_name("probtrack_write")
        );
        let rows = run_all(&mut self.conn, &[&lock, "START TRANSACTION"]).inspect_err(|_| {
            let _ = self.end_write("ROLLBACK");
        })?;
        if rows.first().map(|r| r.int(0)).transpose()?.flatten() != Some(1) {
            let _ = self.end_write("ROLLBACK");
            return Err(Error::database(format!(
                "another probtrack process held the write lock of {} for {} minutes",
                self.shown,
                WRITE_LOCK_TIMEOUT / 60
            ))
            .retryable("another probtrack process held the database past the timeout"));
        }
        self.held.began();
        Ok(())
    }

    /// Ends the write with `COMMIT` or `ROLLBACK`, and lets the next writer in: one round trip.
    fn end_write(&mut self, sql: &str) -> Result<()> {
        let release = format!("SELECT RELEASE_LOCK({})", lock_name("probtrack_write"));
        run_all(&mut self.conn, &[sql, &release])
            .map(drop)
            .inspect_err(|_| {
                // The statements stop at the first error: the lock may be held still.
                let _ = self.unlock("probtrack_write");
            })
    }

    fn lock_schema(&mut self) -> Result<()> {
        if self.lock("probtrack_migrate", MIGRATE_LOCK_TIMEOUT)? {
            return Ok(());
        }
        Err(Error::database(format!(
            "another probtrack process held {} while it created or upgraded the schema",
            self.shown
        ))
        .retryable("another probtrack process held the schema lock past the timeout"))
    }

    /// One less than the table's `AUTO_INCREMENT`, the next id it gives (kept across restarts
    /// since MariaDB 10.2.4 and MySQL 8). MySQL 8 caches it in `information_schema` unless told not to
    /// (MariaDB, which does not, knows no such setting).
    fn highest_given(&mut self, table: &str) -> Result<Option<i64>> {
        match self
            .conn
            .query_drop("SET SESSION information_schema_stats_expiry = 0")
        {
            Err(mysql::Error::MySqlError(e)) if e.code == 1193 => {}
            other => other.map_err(error)?,
        }
        let sql = "SELECT AUTO_INCREMENT - 1 FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?";
        Ok(self
            .first(sql, &[Param::Text(table)], |r| r.int(0))?
            .flatten())
    }

    fn before_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()> {
        // DDL commits as it runs, so the counters move before the copy's transaction begins,
        // while the tables are empty: InnoDB keeps a counter above the explicit ids then written.
        for &(table, id) in highest.iter().filter(|(_, id)| *id > 0) {
            let sql = format!("ALTER TABLE {table} AUTO_INCREMENT = {}", id + 1);
            self.conn.query_drop(sql).map_err(error)?;
        }
        Ok(())
    }

    fn unlock_schema(&mut self, _keep: bool) -> Result<()> {
        // DDL commits as it goes: there is nothing to undo, and each statement can run again.
        self.unlock("probtrack_migrate")
    }

    fn apply(&mut self, sql: &str) -> Result<()> {
        let sql = sql.replace("utf8mb4_bin", &self.binary_collation()?);
        for statement in migrate::statements(&sql) {
            match self.conn.query_drop(&statement) {
                Ok(()) => {}
                // Already done by an earlier attempt: the table, column, index or key exists, or
                // the index to drop is gone.
                Err(mysql::Error::MySqlError(e))
                    if matches!(e.code, 1050 | 1060 | 1061 | 1091 | 1826) => {}
                Err(e) => return Err(error(e)),
            }
        }
        Ok(())
    }

    fn same(column: &str, at: usize) -> String {
        // Long texts are unique through a generated MD5 key column beside them.
        format!("{column}_key = UNHEX(MD5(?{at})) AND {column} = ?{at}")
    }

    fn upsert(target: &str, set: &str) -> String {
        let first = target.split(',').next().unwrap_or_default().trim();
        match set {
            "" => format!("ON DUPLICATE KEY UPDATE {first} = {first}"),
            set => format!("ON DUPLICATE KEY UPDATE {}", duplicate_set(set)),
        }
    }

    fn contains(column: &str, at: usize) -> String {
        // `column` is binary: LOCATE compares bytes.
        format!("LOCATE(CAST(?{at} AS BINARY), {column}) > 0")
    }

    fn any(column: &str, at: usize) -> String {
        format!("{column} IN (?{at})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upserts_and_placeholders_are_written_as_mysql_takes_them() {
        assert_eq!(
            duplicate_set("a = coalesce(excluded.a, t.a), n = t.n + 1"),
            "a = coalesce(VALUES(a), a), n = n + 1"
        );
        let (text, order) = rewrite(
            "x = ?2 AND y IN (?1) AND z = ?2",
            &[Param::Ids(&[3, 4]), Param::Int(1)],
        );
        assert_eq!(text, "x = ? AND y IN (3,4) AND z = ?");
        assert_eq!(order, [1, 1]);
    }

    #[test]
    fn text_literals_are_escaped_as_the_session_reads_them() {
        let text = |nbe: bool| {
            let mut out = String::new();
            literal(&mut out, &Param::Text("a'b\\c"), nbe);
            out
        };
        // Backslashes escape (MySQL's default mode)…
        assert_eq!(text(false), "'a\\'b\\\\c'");
        // …or are plain characters (NO_BACKSLASH_ESCAPES), where only a quote is doubled.
        assert_eq!(text(true), "'a''b\\c'");
    }
}
