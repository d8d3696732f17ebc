//! The embedded default engine: one SQLite file, in WAL mode, with foreign keys on and a busy
//! timeout so that concurrent ingests wait for each other rather than fail. The shared queries are
//! SQLite's own syntax, so they run as written, prepared once and cached.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params_from_iter, Connection, ErrorCode, OpenFlags, ToSql};
use rustc_hash::FxHashSet;

use super::engine::{marks, p, Engine, Fields, Param};
use super::migrate::{self, Migration};
use super::sql::SqlStore;
use super::{Cell, ColumnType, Id, OpenMode};
use crate::error::{Error, Result};

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes of the database file SQLite may memory-map for reads (`PRAGMA mmap_size`; SQLite caps
/// it at its own limit); the rest of a larger file is read as before.
const MMAP_SIZE: i64 = 1 << 30;

pub(super) struct Sqlite {
    conn: Connection,
    path: PathBuf,
    /// The statements that have run with a list of several ids ([`Sqlite::one_id`]).
    lists: FxHashSet<String>,
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(v),
            Param::Real(v) => ValueRef::Real(v),
            Param::Text(t) => ValueRef::Text(t.as_bytes()),
            Param::Blob(b) => ValueRef::Blob(b),
            // Report text: TEXT when it is valid UTF-8, otherwise a BLOB of the original bytes.
            Param::Report(b) if std::str::from_utf8(b).is_ok() => ValueRef::Text(b),
            Param::Report(b) => ValueRef::Blob(b),
            // One statement text for any list, so that it is prepared once (`json_each`).
            Param::Ids(ids) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                return Ok(ToSqlOutput::Owned(Value::Text(format!(
                    "[{}]",
                    list.join(",")
                ))));
            }
        }))
    }
}

/// Parameter `at`'s list of ids as [`Engine::any`] tests it: a table that `json_each` fills at
/// every run of the statement.
fn in_list(at: usize) -> String {
    format!("IN (SELECT value FROM json_each(?{at}))")
}

fn unexpected(i: usize, value: ValueRef<'_>) -> Error {
    Error::database(format!(
        "database error: unexpected {} in column {i}",
        value.data_type()
    ))
}

impl Fields for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<Option<i64>> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            other => Err(unexpected(i, other)),
        }
    }

    fn real(&self, i: usize) -> Result<Option<f64>> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Real(v) => Ok(Some(v)),
            #[allow(clippy::cast_precision_loss)]
            ValueRef::Integer(v) => Ok(Some(v as f64)),
            other => Err(unexpected(i, other)),
        }
    }

    fn with_bytes<T>(&self, i: usize, f: impl FnOnce(Option<&[u8]>) -> T) -> Result<T> {
        Ok(match self.get_ref(i)? {
            ValueRef::Null => f(None),
            ValueRef::Text(b) | ValueRef::Blob(b) => f(Some(b)),
            ValueRef::Integer(v) => f(Some(v.to_string().as_bytes())),
            ValueRef::Real(v) => f(Some(v.to_string().as_bytes())),
        })
    }

    fn cell(&self, i: usize, kind: ColumnType) -> Result<Cell> {
        // SQLite keeps what each value is, whatever the column says.
        Ok(match (self.get_ref(i)?, kind) {
            (ValueRef::Null, _) => Cell::Null,
            (ValueRef::Integer(v), _) => Cell::Int(v),
            (ValueRef::Real(v), _) => Cell::Real(v),
            (ValueRef::Text(t) | ValueRef::Blob(t), ColumnType::Bytes | ColumnType::Blob) => {
                Cell::Bytes(t.to_vec())
            }
            (ValueRef::Text(t) | ValueRef::Blob(t), _) => {
                Cell::Text(String::from_utf8_lossy(t).into_owned())
            }
        })
    }
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

/// A first read of the catalog, which a file that is not an SQLite database fails.
fn first_read(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(drop)
}

impl Sqlite {
    /// `sql` and `params` with each list of one id tested as that id (`= ?N`), which costs
    /// nothing to fill (most lists of a command that reads one Problem or test hold one id);
    /// except in a statement that has run with a list of several: preparing a second form of it
    /// would cost more than a list does.
    fn one_id<'s, 'p, 'a>(
        &mut self,
        sql: &'s str,
        params: &'p [Param<'a>],
    ) -> (Cow<'s, str>, Cow<'p, [Param<'a>]>) {
        let lists = || params.iter().filter(|p| matches!(p, Param::Ids(_)));
        let plain = (Cow::Borrowed(sql), Cow::Borrowed(params));
        if lists().next().is_none() || self.lists.contains(sql) {
            return plain;
        }
        if lists().any(|p| !matches!(p, Param::Ids([_]))) {
            self.lists.insert(sql.to_owned());
            return plain;
        }
        let (mut sql, mut params) = (sql.to_owned(), params.to_vec());
        for (i, param) in params.iter_mut().enumerate() {
            if let Param::Ids(&[id]) = param {
                sql = sql.replace(&in_list(i + 1), &format!("= ?{}", i + 1));
                *param = Param::Int(id);
            }
        }
        (Cow::Owned(sql), Cow::Owned(params))
    }

    /// The store in the file at `path`.
    pub(super) fn open(path: &Path, mode: OpenMode) -> Result<SqlStore<Sqlite>> {
        let exists = path.exists();
        if !exists && mode == OpenMode::Existing {
            return Err(super::migrate::missing(&path.display().to_string(), "PATH"));
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
                .and_then(|conn| first_read(&conn).map(|()| conn))
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
        let sqlite = Sqlite {
            conn,
            path: path.to_owned(),
            lists: FxHashSet::default(),
        };
        // WAL lets readers go on while one writer ingests; it needs write access once.
        // A file that is not SQLite at all fails its first read: the switch to WAL when writable,
        // else a look at the schema (one statement more only there).
        if !sqlite.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            sqlite.switch_to_wal().map_err(|e| sqlite.not_ours(e))?;
            sqlite.conn.pragma_update(None, "synchronous", "NORMAL")?;
        } else {
            first_read(&sqlite.conn).map_err(|e| sqlite.not_ours(e))?;
        }
        sqlite.conn.pragma_update(None, "foreign_keys", "ON")?;
        // 8 MiB of page cache (the default is 2 MiB): ingest revisits the same index pages often.
        sqlite.conn.pragma_update(None, "cache_size", -8192)?;
        sqlite.conn.set_prepared_statement_cache_capacity(64);
        // Reads that seek scattered `results` rows (flaky's message variety: one seek per result
        // of a listed test, each into another page) were a `pread` each: 3/4 of `flaky` on a
        // 9.9 M-result database. Mapped pages are read without a syscall or a copy. Only for the
        // commands that open an existing database: the mapped pages a process touches count in
        // its RSS, and ingest and import (which gain nothing from it) would show the database.
        if mode == OpenMode::Existing {
            sqlite.conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        }
        SqlStore::open(sqlite, mode)
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
                    if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                outcome => return outcome,
            }
        }
    }

    /// A file that is not an SQLite database is refused as such.
    fn not_ours(&self, e: rusqlite::Error) -> Error {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => Error::database(format!(
                "{} is not a probtrack database (not an SQLite file)",
                self.path.display()
            ))
            .hint("name another file with --db, or move this one away"),
            _ => Error::from(e),
        }
    }
}

impl Engine for Sqlite {
    type Row<'r> = rusqlite::Row<'r>;
    const MIGRATIONS: &'static [Migration] = migrate::SQLITE;
    const NAME: &'static str = "an SQLite";
    const ANOTHER: &'static str = "name another file with --db";
    const TABLES: &'static str = "SELECT name FROM sqlite_master WHERE type = 'table'";
    // In-process, a statement prepared once and run row by row is as fast as a multi-row one.
    const KEYS_PER_QUERY: usize = 500;
    const ROWS_PER_INSERT: usize = 1;

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn is_server(&self) -> bool {
        false
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let (sql, params) = self.one_id(sql, params);
        let changed = self
            .conn
            .prepare_cached(&sql)?
            .execute(params_from_iter(params.iter()))?;
        Ok(changed as u64)
    }

    fn query<F>(&mut self, sql: &str, params: &[Param<'_>], mut each: F) -> Result<()>
    where
        F: FnMut(&rusqlite::Row<'_>) -> Result<()>,
    {
        let (sql, params) = self.one_id(sql, params);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            each(row)?;
        }
        Ok(())
    }

    fn insert(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Id> {
        self.execute(sql, params)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn begin_write(&mut self) -> Result<()> {
        self.batch("BEGIN IMMEDIATE")
    }

    fn rollback(&mut self) -> Result<()> {
        if !self.conn.is_autocommit() {
            self.batch("ROLLBACK")?;
        }
        Ok(())
    }

    /// Migrations run with foreign keys off (the pragma does nothing inside a transaction, so
    /// before it begins): one that makes a table again drops the old one, which would otherwise
    /// delete the rows of every table that refers to it (`ON DELETE CASCADE`).
    fn lock_schema(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        self.begin_write()
    }

    /// The `AUTOINCREMENT` tables keep the highest id given in `sqlite_sequence`; the others
    /// give the highest stored + 1.
    fn highest_given(&mut self, table: &str) -> Result<Option<i64>> {
        if !AUTOINCREMENT.contains(&table) {
            return Ok(None);
        }
        let sql = "SELECT seq FROM sqlite_sequence WHERE name = ?1";
        Ok(self.first(sql, &p![table], |r| r.int(0))?.flatten())
    }

    /// After `copy` wrote explicit ids: each table's new rows take ids above the one given with
    /// it (`(table, highest id not to give)`), in `sqlite_sequence` for the `AUTOINCREMENT`
    /// tables; the others give the highest stored + 1, which the copy wrote.
    fn finish_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()> {
        for &(table, id) in highest {
            if !AUTOINCREMENT.contains(&table) {
                continue;
            }
            self.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1",
                &p![table, id],
            )?;
            self.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
                &p![table, id],
            )?;
        }
        Ok(())
    }

    fn unlock_schema(&mut self, keep: bool) -> Result<()> {
        let ended = if keep {
            self.commit()
        } else {
            let _ = self.rollback();
            Ok(())
        };
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        ended
    }

    fn contains(column: &str, at: usize) -> String {
        // instr() on blobs compares bytes.
        format!("instr(CAST({column} AS BLOB), ?{at}) > 0")
    }

    fn any(column: &str, at: usize) -> String {
        format!("{column} {}", in_list(at))
    }

    fn insert_keyed(
        &mut self,
        table: &str,
        columns: &str,
        rows: &[Param<'_>],
        keys: &[[u8; 16]],
    ) -> Result<Vec<([u8; 16], Id)>> {
        // Each row's id as it is inserted, rather than looked up after.
        let width = rows.len() / keys.len().max(1);
        let sql = format!("INSERT INTO {table} ({columns}) VALUES ({})", marks(width));
        (keys.iter().zip(rows.chunks(width.max(1))))
            .map(|(key, row)| Ok((*key, self.insert(&sql, row)?)))
            .collect()
    }
}

/// The tables whose ids SQLite gives once (`AUTOINCREMENT`, schema 12): an id that a row of
/// another table names after its own row is gone.
const AUTOINCREMENT: &[&str] = &["builds", "problems"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

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
        let store = Sqlite::open(&path, OpenMode::Create);
        release.join().unwrap();
        let mut store = store.unwrap();
        assert!(started.elapsed() >= hold, "it waited for the lock");
        let mode: String = store
            .engine
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert!(
            store.lanes().unwrap().is_empty(),
            "and it is a probtrack database"
        );
    }

    /// A list of one id is tested as that id, in a statement of its own, unless the statement
    /// ran with a list of several ids before; other lists as lists.
    #[test]
    fn a_list_of_one_id_is_compared_as_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Sqlite::open(&dir.path().join("ids.db"), OpenMode::Create).unwrap();
        let engine = &mut store.engine;
        engine.begin_write().unwrap();
        for name in ["a", "b", "c"] {
            (engine.execute("INSERT INTO builders (name) VALUES (?1)", &p![name])).unwrap();
        }
        let sql = format!(
            "SELECT name FROM builders WHERE {} AND {} ORDER BY name",
            Sqlite::any("id", 1),
            Sqlite::any("id", 2)
        );
        let ids = [Param::Ids(&[1, 2]), Param::Ids(&[7])];
        let (text, params) = engine.one_id(&sql, &ids[1..]);
        assert!(text.contains("id = ?1 AND id IN (SELECT value FROM json_each(?2))"));
        assert!(matches!(params[..], [Param::Int(7)]));
        let mut names = |a: &[Id], b: &[Id]| {
            (engine.all(&sql, &[Param::Ids(a), Param::Ids(b)], |r| r.string(0))).unwrap()
        };
        assert_eq!(names(&[2], &[2]), ["b"]);
        assert_eq!(names(&[1, 2, 3], &[2]), ["b"]);
        assert_eq!(names(&[1, 3], &[3, 1]), ["a", "c"]);
        assert!(names(&[], &[1]).is_empty());
        // Having run with several ids, the statement keeps its one form.
        assert_eq!(engine.one_id(&sql, &ids).0, sql);
        assert_eq!(engine.one_id(&sql, &ids[1..]).0, sql);
    }
}
