//! The seam between the store's queries and a database engine.
//!
//! `sql.rs` writes every query once, in SQLite's syntax with `?`/`?N` placeholders, and reads its
//! rows through [`Fields`]. An [`Engine`] runs them: it connects, binds [`Param`]s, hands back rows,
//! runs transactions under the writers' lock, and answers for the few places where the dialects
//! differ (identity lookups, upserts, lists of ids, byte search, bulk writes). Where an engine has
//! a faster way to do a bulk write, it overrides the portable default here.

use bstr::BString;
use probtrack_parsers::{Kind, Status};

use super::migrate::Migration;
use super::{Cell, ColumnType, Id};
use crate::error::{Error, Result};

/// A statement parameter, borrowed from what is being written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    /// Binary data: hashes, packed details, durations.
    Blob(&'a [u8]),
    /// Text from a report, any bytes: SQLite keeps valid UTF-8 as TEXT, the servers the bytes.
    Report(&'a [u8]),
    /// A list of ids as one parameter, for [`Engine::any`].
    Ids(&'a [Id]),
}

/// `From` for the types a parameter is made of.
macro_rules! param_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {
        $(impl<'a> From<$t> for Param<'a> {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

param_from! {
    i64 => |v| Param::Int(v);
    u64 => |v| Param::Int(i64::try_from(v).unwrap_or(i64::MAX));
    u32 => |v| Param::Int(i64::from(v));
    bool => |v| Param::Int(i64::from(v));
    f64 => |v| Param::Real(v);
    &'a str => |v| Param::Text(v);
    &'a String => |v| Param::Text(v);
    &'a Option<String> => |v| v.as_deref().into();
    &'a [u8] => |v| Param::Blob(v);
}

impl<'a, T: Into<Param<'a>>> From<Option<T>> for Param<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// `[Param; N]` from values that convert.
macro_rules! p {
    ($($v:expr),* $(,)?) => {
        [$($crate::store::engine::Param::from($v)),*]
    };
}
pub(crate) use p;

/// A row's columns, read as the shared queries need them. An engine implements the four
/// primitives; the rest are written once here.
pub(crate) trait Fields {
    fn int(&self, i: usize) -> Result<Option<i64>>;
    fn real(&self, i: usize) -> Result<Option<f64>>;
    /// Calls `f` with column `i`'s bytes (text or binary), without copying them.
    fn with_bytes<T>(&self, i: usize, f: impl FnOnce(Option<&[u8]>) -> T) -> Result<T>;
    /// Column `i` as `copy` moves it, for a column that holds `kind`.
    fn cell(&self, i: usize, kind: ColumnType) -> Result<Cell> {
        let cell = match kind {
            ColumnType::Int => self.int(i)?.map(Cell::Int),
            ColumnType::Real => self.real(i)?.map(Cell::Real),
            ColumnType::Text => self.text(i)?.map(Cell::Text),
            ColumnType::Bytes | ColumnType::Blob => {
                self.with_bytes(i, |b| b.map(|b| Cell::Bytes(b.to_vec())))?
            }
        };
        Ok(cell.unwrap_or(Cell::Null))
    }

    fn id(&self, i: usize) -> Result<i64> {
        self.int(i)?.ok_or_else(|| null(i))
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.id(i)? != 0)
    }
    fn count(&self, i: usize) -> Result<u64> {
        Ok(self.id(i)?.max(0) as u64)
    }
    fn text(&self, i: usize) -> Result<Option<String>> {
        self.with_bytes(i, |b| b.map(|b| String::from_utf8_lossy(b).into_owned()))
    }
    fn string(&self, i: usize) -> Result<String> {
        self.text(i)?.ok_or_else(|| null(i))
    }
    fn bytes(&self, i: usize) -> Result<Option<BString>> {
        self.with_bytes(i, |b| b.map(BString::from))
    }
    /// Report text, where a NULL reads as empty.
    fn bstring(&self, i: usize) -> Result<BString> {
        Ok(self.bytes(i)?.unwrap_or_default())
    }
    fn key(&self, i: usize) -> Result<Option<[u8; 16]>> {
        self.with_bytes(i, |b| b.and_then(|b| <[u8; 16]>::try_from(b).ok()))
    }
    /// `''` stands for no branch.
    fn branch(&self, i: usize) -> Result<Option<String>> {
        Ok(self.text(i)?.filter(|b| !b.is_empty()))
    }
    fn opt_status(&self, i: usize) -> Result<Option<Status>> {
        self.with_bytes(i, |b| b.map(parse::<Status>).transpose())?
    }
    fn status(&self, i: usize) -> Result<Status> {
        self.opt_status(i)?.ok_or_else(|| null(i))
    }
    fn kind(&self, i: usize) -> Result<Kind> {
        self.with_bytes(i, |b| parse::<Kind>(b.unwrap_or_default()))?
    }
    /// A result's details from columns `at` (inline, schema 2), `at + 1` (packed, schema 3) and
    /// `at + 2` (its base's packed form, schema 9).
    fn details(&self, at: usize) -> Result<Option<String>> {
        let inline = self.text(at)?;
        self.with_bytes(at + 1, |packed| {
            self.with_bytes(at + 2, |base| crate::details::either(inline, packed, base))
        })?
    }
}

fn null(i: usize) -> Error {
    Error::database(format!("database error: column {i} of a row is NULL"))
}

fn parse<T: std::str::FromStr<Err = String>>(bytes: &[u8]) -> Result<T> {
    std::str::from_utf8(bytes)
        .map_err(|e| e.to_string())
        .and_then(str::parse)
        .map_err(|e| Error::database(format!("database error: unexpected value: {e}")))
}

/// A database engine under the store. Every method is one round of talking to the database;
/// none knows probtrack's tables but the bulk writes' defaults, which are written portably.
pub(crate) trait Engine {
    type Row<'r>: Fields;
    /// This engine's schema migrations (`migrate.rs`).
    const MIGRATIONS: &'static [Migration];
    /// How many keys one [`Engine::query_keys`] statement takes.
    const KEYS_PER_QUERY: usize = 1000;
    /// How many rows one `INSERT` of [`Engine::insert_rows`] takes at most (1: one statement,
    /// prepared once, run row by row), and its budgets of parameters (by default the servers'
    /// protocols' limit) and bytes.
    const ROWS_PER_INSERT: usize = 1000;
    const PARAMS_PER_INSERT: usize = 65_535;
    const BYTES_PER_INSERT: usize = usize::MAX;

    /// How many rows of `width` values one multi-row `INSERT` takes.
    fn rows_per_insert(width: usize) -> usize {
        (Self::PARAMS_PER_INSERT / width.max(1)).clamp(1, Self::ROWS_PER_INSERT)
    }

    fn location(&self) -> String;
    /// A server shared by many machines (rather than a file).
    fn is_server(&self) -> bool {
        true
    }

    /// Runs a statement (prepared once and cached); returns the rows it matched.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64>;
    /// Runs a query (prepared once and cached), handing each row to `each`.
    fn query<F>(&mut self, sql: &str, params: &[Param<'_>], each: F) -> Result<()>
    where
        F: FnMut(&Self::Row<'_>) -> Result<()>;
    /// Runs an `INSERT` into a table with an `id` key; returns the new row's id.
    fn insert(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Id>;
    /// Runs statements without parameters or rows, unprepared.
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// Runs a write whose answer nothing reads: now, or, where the engine holds writes
    /// ([`Engine::hold_writes`]), later, with others, before anything that could see it.
    fn send(&mut self, sql: &str, params: &[Param<'_>]) -> Result<()> {
        if !hold_or_send_held(self, |held| held.hold(sql, params, Self::holdable))? {
            self.execute(sql, params)?;
        }
        Ok(())
    }
    /// From now until the write ends, [`Engine::send`] and plain bulk inserts may be held and
    /// sent several at a time (an import's builds), where the engine holds writes.
    fn hold_writes(&mut self) {
        if let Some(held) = self.held() {
            held.start();
        }
    }
    /// Sends the writes held so far (an import's build's, at its end, so that an error of one is
    /// that build's).
    fn send_held(&mut self) -> Result<()> {
        flush(self, Held::all)
    }

    // Held writes: when they go is decided once, here (`Held`, and the functions below the trait
    // that an engine's statements call first); an engine gives where it keeps them, which values
    // it can send later, and how it sends several at once.
    /// The writes this engine holds: by default it holds none, and every write runs when made.
    fn held(&mut self) -> Option<&mut Held> {
        None
    }
    /// Whether a write with `param` can be held, to be sent later by [`Engine::send_writes`].
    fn holdable(param: &Param<'_>) -> bool {
        let _ = param;
        true
    }
    /// Sends held writes, in order: by default one statement at a time.
    fn send_writes(&mut self, writes: Vec<HeldWrite>) -> Result<()> {
        for write in writes {
            self.execute(&write.sql, &write.params())?;
        }
        Ok(())
    }
    /// Runs a statement whose shape may not come again (the last chunk of a bulk write): by
    /// default as [`Engine::execute`]; an engine that keeps every statement it prepares need not.
    fn execute_once(&mut self, sql: &str, params: &[Param<'_>]) -> Result<()> {
        self.execute(sql, params).map(drop)
    }
    /// Every row of a query, mapped.
    fn all<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut map: impl FnMut(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.query(sql, params, |r| {
            out.push(map(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, mapped.
    fn first<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnOnce(&Self::Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let (mut map, mut out) = (Some(map), None);
        self.query(sql, params, |r| {
            if let Some(map) = map.take() {
                out = Some(map(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Starts a write: takes the writers' lock (one writer at a time, as SQLite's `BEGIN
    /// IMMEDIATE`), then a transaction.
    fn begin_write(&mut self) -> Result<()>;
    /// Starts an ingest's write ([`crate::store::Store::begin_ingest`]): by default a write.
    fn begin_ingest(&mut self) -> Result<()> {
        self.begin_write()
    }
    /// Takes the lock of `key` until the write ends (true): by default nothing (false), where
    /// [`Engine::begin_ingest`] already took the writers' lock whole.
    fn lock_key(&mut self, key: i64) -> Result<bool> {
        let _ = key;
        Ok(false)
    }
    /// Commits the write, the writes it holds sent first.
    fn commit(&mut self) -> Result<()> {
        send_before_commit(self)?;
        self.end_write("COMMIT")
    }
    /// Undoes the write, if one is open: by default, where the engine holds writes, if it noted
    /// that one began ([`Held::began`]).
    fn rollback(&mut self) -> Result<()> {
        match self.held().map(Held::rolled_back) {
            Some(false) => Ok(()),
            _ => self.end_write("ROLLBACK"),
        }
    }
    /// Ends the write with `sql` (`COMMIT` or `ROLLBACK`): by default runs it.
    fn end_write(&mut self, sql: &str) -> Result<()> {
        self.batch(sql)
    }

    // The migration runner's steps (`migrate::prepare`).
    /// A query of the names of the database's tables (as `name`), in the engine's catalog.
    const TABLES: &'static str;
    /// The engine as the refusal of a database that is not probtrack's names it ("a MySQL"), and
    /// how to name another.
    const NAME: &'static str;
    const ANOTHER: &'static str;
    /// The refusal of a database that is not probtrack's.
    fn foreign(&self) -> Error {
        let at = self.location();
        Error::database(format!(
            "{at} is {} database, but not one of probtrack's",
            Self::NAME
        ))
        .hint(Self::ANOTHER)
    }
    /// Takes the lock that migrations run under, and starts their transaction where DDL has one:
    /// by default a write's.
    fn lock_schema(&mut self) -> Result<()> {
        self.begin_write()
    }
    /// Ends what [`Engine::lock_schema`] began, keeping the migrations or not.
    fn unlock_schema(&mut self, keep: bool) -> Result<()> {
        if keep {
            return self.commit();
        }
        let _ = self.rollback();
        Ok(())
    }
    /// Runs one migration file.
    fn apply(&mut self, sql: &str) -> Result<()> {
        self.batch(sql)
    }

    // The dialect: SQL text for what the engines spell differently.
    /// `column` holds exactly the text of parameter `at` (long texts are keyed by a hash on the
    /// servers, and looked up by it).
    fn same(column: &str, at: usize) -> String {
        format!("{column} = ?{at}")
    }
    /// `column` as an upsert's conflict target names a unique text.
    fn key(column: &str) -> String {
        column.to_owned()
    }
    /// The clause that makes an `INSERT` an upsert on `target`: `set` (SQLite's syntax, with
    /// `excluded.` and the table's own columns named `table.column`), or nothing when empty.
    fn upsert(target: &str, set: &str) -> String {
        match set {
            "" => format!("ON CONFLICT ({target}) DO NOTHING"),
            set => format!("ON CONFLICT ({target}) DO UPDATE SET {set}"),
        }
    }
    /// `column` (bytes) contains the bytes of parameter `at`.
    fn contains(column: &str, at: usize) -> String;
    /// `column` is one of the ids of parameter `at`, a [`Param::Ids`].
    fn any(column: &str, at: usize) -> String;

    // Bulk writes, with portable defaults and an engine's faster ways.
    /// `head VALUES (…) tail` for rows of `width` values each (`rows` holds them in order), as
    /// many rows to a statement as the engine takes; held, where the engine holds writes (an
    /// engine's faster way calls [`hold_rows`] first too).
    fn insert_rows(
        &mut self,
        head: &str,
        width: usize,
        tail: &str,
        rows: &[Param<'_>],
    ) -> Result<()> {
        if hold_rows(self, (head, width, tail), rows)? {
            return Ok(());
        }
        insert_values(self, head, width, tail, rows)
    }

    /// Runs `head column IN (…)` for every key, a chunk at a time.
    fn query_keys<F>(
        &mut self,
        head: &str,
        column: &str,
        keys: &[[u8; 16]],
        mut each: F,
    ) -> Result<()>
    where
        F: FnMut(&Self::Row<'_>) -> Result<()>,
    {
        for chunk in keys.chunks(Self::KEYS_PER_QUERY) {
            let sql = format!("{head} {column} IN ({})", marks(chunk.len()));
            let params: Vec<Param<'_>> = chunk.iter().map(|k| Param::Blob(k)).collect();
            self.query(&sql, &params, &mut each)?;
        }
        Ok(())
    }

    /// Inserts rows of `table` keyed by `key` (the first of `columns`, `keys` in the rows'
    /// order); returns the ids of those whose ids the insert itself tells (by default none). The
    /// store looks up the rest, with any that another process inserted meanwhile.
    fn insert_keyed(
        &mut self,
        table: &str,
        columns: &str,
        rows: &[Param<'_>],
        keys: &[[u8; 16]],
    ) -> Result<Vec<([u8; 16], Id)>> {
        let width = rows.len() / keys.len().max(1);
        self.insert_rows(&format!("INSERT INTO {table} ({columns})"), width, "", rows)?;
        Ok(Vec::new())
    }

    /// Deletes a lane's runs, `(test, first number)` each, as many to a statement as a multi-row
    /// insert takes rows.
    fn delete_runs(&mut self, lane: Id, runs: &[(Id, i64)]) -> Result<()> {
        for chunk in runs.chunks(Self::ROWS_PER_INSERT) {
            let sql = format!(
                "DELETE FROM runs WHERE lane_id = ? AND ({})",
                vec!["(test_id = ? AND first_number = ?)"; chunk.len()].join(" OR ")
            );
            let pairs = chunk.iter().flat_map(|&(test, first)| [test, first]);
            let params: Vec<Param<'_>> =
                std::iter::once(lane).chain(pairs).map(Param::Int).collect();
            self.execute(&sql, &params)?;
        }
        Ok(())
    }

    /// The highest id this engine has given in the serial `table`, a row since deleted
    /// included, where it keeps that apart from the rows (for `copy`). By default none: the
    /// highest stored id is all there is.
    fn highest_given(&mut self, table: &str) -> Result<Option<i64>> {
        let _ = table;
        Ok(None)
    }

    /// Before `copy` writes explicit ids into the empty tables, outside its transaction: each
    /// table's new rows are to take ids above the one given with it (`(table, highest id not to
    /// give)`). By default nothing: [`Engine::finish_copy`] does it inside the transaction.
    fn before_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()> {
        let _ = highest;
        Ok(())
    }

    /// After `copy` wrote explicit ids: each table's new rows take ids above the one given with
    /// it (`(table, highest id not to give)`). By default nothing: the engine's counters moved
    /// past the ids written.
    fn finish_copy(&mut self, _highest: &[(&'static str, i64)]) -> Result<()> {
        Ok(())
    }
}

/// [`Engine::insert_rows`] as multi-row `INSERT … VALUES` statements: the portable way, which an
/// engine's faster one falls back to where it does not apply.
pub(crate) fn insert_values<E: Engine + ?Sized>(
    engine: &mut E,
    head: &str,
    width: usize,
    tail: &str,
    rows: &[Param<'_>],
) -> Result<()> {
    each_insert(
        engine,
        (head, width, tail),
        rows,
        |engine, sql, chunk, full| {
            if full {
                return engine.execute(sql, chunk).map(drop);
            }
            engine.execute_once(sql, chunk)
        },
    )
}

/// Runs `head VALUES (…) tail` for rows of `width` values each, as many rows to a statement as
/// the engine takes: `run(engine, sql, chunk, full)`, where `full` says the chunk has the usual
/// (largest) size, whose statement is worth keeping prepared.
pub(crate) fn each_insert<E: Engine + ?Sized>(
    engine: &mut E,
    (head, width, tail): (&str, usize, &str),
    rows: &[Param<'_>],
    mut run: impl FnMut(&mut E, &str, &[Param<'_>], bool) -> Result<()>,
) -> Result<()> {
    let (width, per) = (width.max(1), E::rows_per_insert(width));
    // The full chunk's statement only where there is a full chunk: most writes are smaller, and
    // its text (a thousand rows of marks on MySQL) was made at every call.
    let mut full = None;
    for chunk in chunks(rows, width, per, E::BYTES_PER_INSERT) {
        match chunk.len() / width {
            n if n == per => {
                let sql = full.get_or_insert_with(|| {
                    format!("{head} VALUES {} {tail}", row_marks(per, width))
                });
                run(engine, sql, chunk, true)?;
            }
            n => {
                let sql = format!("{head} VALUES {} {tail}", row_marks(n, width));
                run(engine, &sql, chunk, false)?;
            }
        }
    }
    Ok(())
}

/// Sends `items` in order and in groups: `next` joins the group so far where `fits(group, next)`,
/// else the group goes (`send`) and `next` starts another.
pub(crate) fn in_groups<T>(
    items: impl IntoIterator<Item = T>,
    mut fits: impl FnMut(&[T], &T) -> bool,
    mut send: impl FnMut(Vec<T>) -> Result<()>,
) -> Result<()> {
    let mut group = Vec::new();
    for item in items {
        if !group.is_empty() && !fits(&group, &item) {
            send(std::mem::take(&mut group))?;
        }
        group.push(item);
    }
    if group.is_empty() {
        return Ok(());
    }
    send(group)
}

/// `?, ?, ?` for `n` values.
pub(crate) fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `(?, ?), (?, ?)` for `rows` rows of `width` values.
pub(crate) fn row_marks(rows: usize, width: usize) -> String {
    let row = format!("({})", marks(width));
    let mut out = String::with_capacity(rows * (row.len() + 2));
    for i in 0..rows {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&row);
    }
    out
}

/// `rows` (of `width` values each) in chunks for multi-row statements: at most `max_rows` rows,
/// and no more rows once a chunk's values reach `max_bytes`.
pub(crate) fn chunks<'p, 'a>(
    rows: &'p [Param<'a>],
    width: usize,
    max_rows: usize,
    max_bytes: usize,
) -> impl Iterator<Item = &'p [Param<'a>]> {
    let (width, mut start) = (width.max(1), 0);
    std::iter::from_fn(move || {
        let (mut end, mut bytes) = (start, 0);
        while end < rows.len() && end - start < max_rows * width && bytes < max_bytes {
            bytes += (rows[end..].iter().take(width))
                .map(|p| match p {
                    Param::Text(t) => t.len() + 8,
                    Param::Blob(b) | Param::Report(b) => b.len() + 8,
                    _ => 9,
                })
                .sum::<usize>();
            end += width;
        }
        let chunk = &rows[start..end.min(rows.len())];
        start = end;
        (!chunk.is_empty()).then_some(chunk)
    })
}

/// A parameter owned, for a write held to be sent later.
#[derive(Clone, Debug)]
pub(crate) enum Owned {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Report(Vec<u8>),
    Ids(Vec<Id>),
}

impl Owned {
    fn of(param: &Param<'_>) -> Owned {
        match *param {
            Param::Null => Owned::Null,
            Param::Int(v) => Owned::Int(v),
            Param::Real(v) => Owned::Real(v),
            Param::Text(t) => Owned::Text(t.to_owned()),
            Param::Blob(b) => Owned::Blob(b.to_vec()),
            Param::Report(b) => Owned::Report(b.to_vec()),
            Param::Ids(ids) => Owned::Ids(ids.to_vec()),
        }
    }

    pub(crate) fn param(&self) -> Param<'_> {
        match self {
            Owned::Null => Param::Null,
            Owned::Int(v) => Param::Int(*v),
            Owned::Real(v) => Param::Real(*v),
            Owned::Text(t) => Param::Text(t),
            Owned::Blob(b) => Param::Blob(b),
            Owned::Report(b) => Param::Report(b),
            Owned::Ids(ids) => Param::Ids(ids),
        }
    }
}

/// A write held back: its statement (the shared SQL), its parameters, and the tables it names.
pub(crate) struct HeldWrite {
    pub(crate) sql: String,
    pub(crate) params: Vec<Owned>,
    pub(crate) tables: Vec<&'static str>,
}

impl HeldWrite {
    pub(crate) fn params(&self) -> Vec<Param<'_>> {
        self.params.iter().map(Owned::param).collect()
    }
}

/// Writes whose answers nothing reads, held by a server engine between [`Engine::hold_writes`]
/// and the end of the write, to be sent several in one round trip. Each is sent, in order, before
/// any other statement that names a table one of them names (so a read sees them, and a write
/// to the same rows comes after them), before any `DELETE` (a deleted row's references cascade),
/// and before the write commits; a rollback drops them.
#[derive(Default)]
pub(crate) struct Held {
    on: bool,
    writes: Vec<HeldWrite>,
    /// Some held writes failed to go: the write may be applied in part (MariaDB runs the
    /// statements of a query before the one that failed), so it must not commit.
    failed: bool,
    /// A write is open: between its begin and its commit or rollback, it holds a transaction (and
    /// the writers' lock) on the server.
    open: bool,
}

/// The bytes of text and binary values a held write holds at most: a larger one is sent at once,
/// alone, so that a query of held writes stays well within a packet (`max_allowed_packet`), their
/// values written in (hex doubles binary values, escaping may double text).
const HELD_BYTES: usize = 1 << 20;

/// The bytes of text and binary values of `params`.
fn value_bytes(params: &[Param<'_>]) -> usize {
    (params.iter())
        .map(|p| match p {
            Param::Text(t) => t.len(),
            Param::Blob(b) | Param::Report(b) => b.len(),
            _ => 0,
        })
        .sum()
}

/// The tables whose rows others reference `ON DELETE CASCADE` (the migrations).
const CASCADING: [&str; 3] = ["builds", "problems", "lanes"];

/// Whether `sql` deletes rows whose references cascade (never held: a later statement could see
/// what the cascade would have removed without naming the table).
fn cascades(sql: &str) -> bool {
    let mut words = sql.split_whitespace();
    let delete = words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("DELETE"));
    delete && words.nth(1).is_some_and(|t| CASCADING.contains(&t))
}

/// The tables of the schema that `sql` names, as words.
fn tables_named(sql: &str) -> Vec<&'static str> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = sql.as_bytes();
    let named = |name: &str| {
        sql.match_indices(name).any(|(at, _)| {
            let end = at + name.len();
            (at == 0 || !word(bytes[at - 1])) && (end == bytes.len() || !word(bytes[end]))
        })
    };
    super::TABLES
        .iter()
        .map(|t| t.name)
        .filter(|name| named(name))
        .collect()
}

impl Held {
    fn start(&mut self) {
        self.on = true;
    }

    /// Ends holding: the held writes, to be sent (commit) or dropped (rollback).
    fn end(&mut self) -> Vec<HeldWrite> {
        self.on = false;
        std::mem::take(&mut self.writes)
    }

    /// Notes how a sending of held writes went, and passes it on.
    fn sent(&mut self, outcome: Result<()>) -> Result<()> {
        self.failed |= outcome.is_err();
        outcome
    }

    /// Whether the write may commit: not after held writes failed to go (then forgotten, as the
    /// write ends).
    fn may_commit(&mut self) -> Result<()> {
        if std::mem::take(&mut self.failed) {
            return Err(Error::database(
                "database error: a write of this transaction failed; nothing was committed",
            ));
        }
        Ok(())
    }

    /// Notes that a write began on the server.
    pub(crate) fn began(&mut self) {
        self.open = true;
    }

    /// Notes that the write ended; whether one was open.
    pub(crate) fn ended(&mut self) -> bool {
        std::mem::take(&mut self.open)
    }

    /// Forgets the held writes and a failure, as the write is rolled back; whether one was open
    /// (and so is to be rolled back on the server).
    pub(crate) fn rolled_back(&mut self) -> bool {
        self.end();
        self.failed = false;
        self.ended()
    }

    /// Holds `sql` with `params` if holding is on and `holdable` says the engine can send them
    /// later as they are; false where it must run now.
    fn hold(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        holdable: impl Fn(&Param<'_>) -> bool,
    ) -> bool {
        if !self.on || !params.iter().all(holdable) || cascades(sql) {
            return false;
        }
        if value_bytes(params) > HELD_BYTES {
            return false;
        }
        self.push(sql, params);
        true
    }

    fn push(&mut self, sql: &str, params: &[Param<'_>]) {
        self.writes.push(HeldWrite {
            sql: sql.to_owned(),
            params: params.iter().map(Owned::of).collect(),
            tables: tables_named(sql),
        });
    }

    /// The held writes to send before `sql` runs (all of them, or none).
    fn before(&mut self, sql: &str) -> Vec<HeldWrite> {
        if self.writes.is_empty() {
            return Vec::new();
        }
        let delete = sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("DELETE"));
        let named = tables_named(sql);
        let meets = (self.writes.iter()).any(|w| w.tables.iter().any(|t| named.contains(t)));
        if delete || meets {
            return std::mem::take(&mut self.writes);
        }
        Vec::new()
    }

    /// Every held write, to send now.
    fn all(&mut self) -> Vec<HeldWrite> {
        std::mem::take(&mut self.writes)
    }

    /// Whether so many writes are held that they should go now.
    fn full(&self) -> bool {
        self.writes.len() >= HELD_WRITES
    }

    /// Holds [`Engine::insert_rows`]'s statements, `per` rows to a statement and up to `bytes`
    /// of values, if holding is on and every value is `holdable`; false where they must run now.
    fn hold_rows(
        &mut self,
        (head, width, tail): (&str, usize, &str),
        rows: &[Param<'_>],
        (per, bytes): (usize, usize),
        holdable: impl Fn(&Param<'_>) -> bool,
    ) -> bool {
        let width = width.max(1);
        // A chunk is rows up to half the bound, and one more, at most half the bound.
        let half = HELD_BYTES / 2;
        let big = || rows.chunks(width).any(|row| value_bytes(row) > half);
        if !self.on || !rows.iter().all(&holdable) || big() {
            return false;
        }
        for chunk in chunks(rows, width, per, bytes.min(half)) {
            let sql = format!(
                "{head} VALUES {} {tail}",
                row_marks(chunk.len() / width, width)
            );
            self.push(&sql, chunk);
        }
        true
    }
}

/// How many writes [`Held`] holds at most.
const HELD_WRITES: usize = 256;

/// Sends the writes that `take` takes from those `engine` holds (if it holds any), and notes a
/// failure, after which the write will not commit.
fn flush<E: Engine + ?Sized>(
    engine: &mut E,
    take: impl FnOnce(&mut Held) -> Vec<HeldWrite>,
) -> Result<()> {
    let writes = engine.held().map(take).unwrap_or_default();
    if writes.is_empty() {
        return Ok(());
    }
    let sent = engine.send_writes(writes);
    match engine.held() {
        Some(held) => held.sent(sent),
        None => sent,
    }
}

/// Holds a write with `hold` where `engine` holds writes, and sends them all once so many are
/// held (true); else sends every write held, so that the write, run now, comes after them
/// (false).
fn hold_or_send_held<E: Engine + ?Sized>(
    engine: &mut E,
    hold: impl FnOnce(&mut Held) -> bool,
) -> Result<bool> {
    if !engine.held().is_some_and(hold) {
        engine.send_held()?;
        return Ok(false);
    }
    if engine.held().is_some_and(|held| held.full()) {
        engine.send_held()?;
    }
    Ok(true)
}

/// Holds [`Engine::insert_rows`]'s rows, in statements of the engine's sizes, where `engine`
/// holds writes (true); else sends every write held, so that the rows, inserted now, come after
/// them (false).
pub(crate) fn hold_rows<E: Engine + ?Sized>(
    engine: &mut E,
    shape: (&str, usize, &str),
    rows: &[Param<'_>],
) -> Result<bool> {
    let per = (E::rows_per_insert(shape.1), E::BYTES_PER_INSERT);
    hold_or_send_held(engine, |held| held.hold_rows(shape, rows, per, E::holdable))
}

/// Sends the held writes that must go before `sql` runs: an engine that holds writes calls this
/// before each statement of the shared SQL.
pub(crate) fn send_before<E: Engine + ?Sized>(engine: &mut E, sql: &str) -> Result<()> {
    flush(engine, |held| held.before(sql))
}

/// Sends every held write before [`Engine::batch`] runs `sql`, where the statement keeps them: a
/// rollback to a savepoint undoes the ones held since it (those before went when it was made).
pub(crate) fn send_before_batch<E: Engine + ?Sized>(engine: &mut E, sql: &str) -> Result<()> {
    if sql.trim_start().starts_with("ROLLBACK") {
        if let Some(held) = engine.held() {
            drop(held.all());
        }
        return Ok(());
    }
    flush(engine, Held::all)
}

/// Sends every held write as the write commits, and ends holding; an error, and the write rolled
/// back, where one failed to go, now or before (some may be applied, and not others).
fn send_before_commit<E: Engine + ?Sized>(engine: &mut E) -> Result<()> {
    let sent =
        flush(engine, Held::end).and_then(|()| engine.held().map_or(Ok(()), Held::may_commit));
    if sent.is_err() {
        let _ = engine.rollback();
    }
    engine.held().map(Held::ended);
    sent
}

/// Rewrites SQLite's placeholders in `sql` for another engine: `write(out, n)` writes the one for
/// parameter `n` (from 1). A bare `?` is one more than the largest number before it, as in SQLite;
/// quoted literals are left alone.
pub(crate) fn placeholders(sql: &str, mut write: impl FnMut(&mut String, usize)) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut next, mut quoted) = (1, false);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' || quoted {
            quoted ^= c == '\'';
            out.push(c);
            continue;
        }
        let mut n = None;
        while let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = Some(n.unwrap_or(0) * 10 + digit as usize);
            chars.next();
        }
        let n = n.unwrap_or(next);
        next = next.max(n + 1);
        write(&mut out, n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        let mut seen = Vec::new();
        let sql = placeholders(
            "a = ?2 AND b = ? AND c = '?' AND d = ?1 AND e = ?",
            |out, n| {
                seen.push(n);
                out.push_str(&format!("${n}"));
            },
        );
        assert_eq!(sql, "a = $2 AND b = $3 AND c = '?' AND d = $1 AND e = $4");
        assert_eq!(seen, [2, 3, 1, 4]);
    }

    #[test]
    fn held_writes_go_before_what_could_see_them() {
        let mut held = Held::default();
        let any = |_: &Param<'_>| true;
        // Not holding: everything runs now.
        assert!(!held.hold("INSERT INTO reports (build_id) VALUES (?)", &p![1i64], any));
        held.start();
        assert!(held.hold("INSERT INTO reports (build_id) VALUES (?)", &p![1i64], any));
        assert!(held.hold(
            "UPDATE builds SET passed = ?1 WHERE id = ?2",
            &p![3i64, 1i64],
            any
        ));
        // A delete whose rows' references cascade is never held.
        assert!(!held.hold("DELETE FROM builds WHERE id = ?1", &p![1i64], any));
        assert!(held.hold("DELETE FROM results WHERE build_id = ?1", &p![1i64], any));
        // A statement that names none of their tables leaves them held; `problem_builders`
        // is not `builders`, nor `runs` a part of another word.
        assert!(held
            .before("SELECT id FROM problem_builders WHERE x_runs = ?1")
            .is_empty());
        assert!(held.before("SELECT pg_advisory_xact_lock(?1)").is_empty());
        // One that names one of them sends them all, in order.
        let sent = held.before("SELECT number FROM builds WHERE lane_id = ?1");
        let tables: Vec<&[&str]> = sent.iter().map(|w| w.tables.as_slice()).collect();
        assert_eq!(tables, [&["reports"][..], &["builds"], &["results"]]);
        assert!(held.before("SELECT 1 FROM builds").is_empty());
        // Any delete sends them (a cascade reaches tables it does not name).
        assert!(held.hold("INSERT INTO runs (lane_id) VALUES (?)", &p![1i64], any));
        assert_eq!(held.before("DELETE FROM tests WHERE id = ?1").len(), 1);
        // A value the engine cannot send later makes the write run now.
        assert!(
            !held.hold("INSERT INTO runs (lane_id) VALUES (?)", &p![1i64], |_| {
                false
            })
        );
        // Rows held in chunks of the engine's size, each a statement.
        let rows: Vec<Param<'_>> = (0..5).map(Param::Int).collect();
        assert!(held.hold_rows(("INSERT INTO runs (a)", 1, ""), &rows, (2, usize::MAX), any));
        let sent = held.end();
        let sql: Vec<&str> = sent.iter().map(|w| w.sql.as_str()).collect();
        assert_eq!(
            sql,
            [
                "INSERT INTO runs (a) VALUES (?), (?) ",
                "INSERT INTO runs (a) VALUES (?), (?) ",
                "INSERT INTO runs (a) VALUES (?) "
            ]
        );
        assert_eq!(sent[2].params().len(), 1);
        assert!(!held.hold("INSERT INTO runs (a) VALUES (?)", &p![1i64], any));
    }

    #[test]
    fn multi_row_chunks_hold_whole_rows_up_to_a_count_or_a_size() {
        let rows: Vec<Param<'_>> = (0..10).map(Param::Int).collect();
        let sizes = |max_rows, max_bytes| -> Vec<usize> {
            chunks(&rows, 2, max_rows, max_bytes)
                .map(<[_]>::len)
                .collect()
        };
        assert_eq!(sizes(2, usize::MAX), [4, 4, 2]);
        assert_eq!(sizes(1000, usize::MAX), [10]);
        // A row starts a chunk whatever its size; the chunk ends once it reaches the budget.
        assert_eq!(sizes(1000, 18), [2, 2, 2, 2, 2]);
        assert_eq!(sizes(1000, 19), [4, 4, 2]);
        assert_eq!(chunks(&rows[..0], 2, 10, 10).count(), 0);
        assert_eq!(row_marks(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
