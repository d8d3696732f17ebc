//! PostgreSQL: a shared database server for many builders and machines.
//!
//! The shared queries run here as on SQLite, with the same answers in the same order. Writers take
//! turns through one transaction-scoped advisory lock (as SQLite's `BEGIN IMMEDIATE`), except
//! ingests: they hold it shared, and take their lane's lock while they write the build and their
//! branch's while they judge its Problems (docs/schema.md). READ COMMITTED is then enough: each
//! ingest judges from what the ingests before it on the branch committed, and no ingest loses
//! another's updates.
//!
//! Round trips are what a write costs here (an ingest is a hundred statements or so). A
//! statement's first runs go in one round trip each, unnamed, with the types of its numbers and
//! bytes given (the server infers the rest, as it does when it prepares); one that comes a third
//! time is prepared once per connection and cached. Plain bulk inserts of many rows go by binary
//! `COPY … FROM STDIN`; upserts and small inserts in multi-row INSERTs, chunked under the
//! protocol's 65535 parameters; lists go as one array parameter (`= ANY($1)`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::private::BytesMut;
use postgres::types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, Row, Statement};

use super::engine::{
    chunks, hold_rows, insert_values, marks, placeholders, row_marks, send_before,
    send_before_batch, send_before_commit, Engine, Fields, Held, HeldWrite, Param,
};
use super::migrate::{self, Migration};
use super::sql::SqlStore;
use super::{Id, OpenMode};
use crate::connect::postgres::{self as connect, error};
use crate::error::{Error, Result};

/// The advisory lock that writers (and migrations) hold for their transaction: one writer at a time.
const WRITER_LOCK: i64 = 0x7072_6f62_7472_6b00; // "probtrk\0"

/// The protocol's limit on the parameters of one statement.
const MAX_PARAMS: usize = 65_535;

/// How many rows a multi-row statement takes at most.
const MAX_ROWS: usize = 1000;

/// How many times a statement text runs unnamed (parsed with its run, one round trip) before it is
/// prepared (a round trip more, once) and run by name from then on.
const PREPARE_AT: u32 = 3;

/// Fewer rows than this go by a multi-row INSERT (one round trip) rather than `COPY` (two, and two
/// more to prepare it once per connection).
const COPY_ROWS: usize = 100;

/// How many held writes go in one statement at most.
const GROUP_WRITES: usize = 32;

type P<'a> = &'a (dyn ToSql + Sync);

pub(super) struct Postgres {
    client: Client,
    /// The URL without its password, for messages.
    url: String,
    /// Prepared statements by their shared SQL text.
    statements: HashMap<String, Statement>,
    /// How many times each statement text (by hash) not prepared yet has run.
    runs: HashMap<u64, u32>,
    hasher: RandomState,
    in_write: bool,
    /// Writes held to be sent several in one statement (`Engine::hold_writes`).
    held: Held,
}

/// How a statement runs: prepared, or unnamed from its text (numbered for PostgreSQL).
enum Plan {
    Prepared(Statement),
    Once(String),
}

/// A parameter type the server infers from where the parameter stands, as when it prepares.
fn unspecified() -> Type {
    Type::new(String::new(), 0, Kind::Pseudo, String::new())
}

/// The type given for a parameter run unnamed: a number's or bytes' own (as the prepared statement
/// would have inferred, or it could not have bound them), text's and NULL's left to the server.
fn param_type(param: &Param<'_>) -> Type {
    match param {
        Param::Int(_) => Type::INT8,
        Param::Real(_) => Type::FLOAT8,
        Param::Blob(_) => Type::BYTEA,
        Param::Ids(_) => Type::INT8_ARRAY,
        Param::Null | Param::Text(_) | Param::Report(_) => unspecified(),
    }
}

/// The parameters with their types, to run unnamed.
fn typed<'a>(params: &'a [Param<'_>]) -> Vec<(P<'a>, Type)> {
    params.iter().map(|p| (p as P<'_>, param_type(p))).collect()
}

/// Whether `params` can run unnamed with the same outcome as prepared: report text is sent as its
/// bytes, which a text column takes only as UTF-8 (prepared, it is converted lossily).
fn plain(params: &[Param<'_>]) -> bool {
    !(params.iter()).any(|p| matches!(p, Param::Report(b) if std::str::from_utf8(b).is_err()))
}

/// The shared `sql` with PostgreSQL's numbered placeholders.
fn numbered(sql: &str) -> String {
    placeholders(sql, |out, n| {
        let _ = write!(out, "${n}");
    })
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let bytea = *ty == Type::BYTEA;
        match *self {
            Param::Null => Ok(IsNull::Yes),
            // A type the server inferred (text or bytes): the bytes, as both take them.
            Param::Text(t) if ty.oid() == 0 => {
                out.extend_from_slice(t.as_bytes());
                Ok(IsNull::No)
            }
            Param::Report(b) if ty.oid() == 0 => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
            Param::Int(v) => v.to_sql_checked(ty, out),
            Param::Real(v) => v.to_sql_checked(ty, out),
            Param::Text(t) if bytea => t.as_bytes().to_sql(ty, out),
            Param::Text(t) => t.to_sql_checked(ty, out),
            Param::Blob(b) | Param::Report(b) if bytea => b.to_sql(ty, out),
            // Bytes copied into a text column.
            Param::Blob(b) | Param::Report(b) => String::from_utf8_lossy(b).to_sql_checked(ty, out),
            Param::Ids(ids) => ids.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each variant checks its own type in `to_sql`.
        true
    }

    to_sql_checked!();
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(error)
}

impl Fields for Row {
    fn int(&self, i: usize) -> Result<Option<i64>> {
        match self.columns().get(i).map(|c| c.type_().clone()) {
            Some(Type::INT4) => Ok(get::<Option<i32>>(self, i)?.map(i64::from)),
            Some(Type::INT2) => Ok(get::<Option<i16>>(self, i)?.map(i64::from)),
            Some(Type::BOOL) => Ok(get::<Option<bool>>(self, i)?.map(i64::from)),
            _ => get(self, i),
        }
    }

    fn real(&self, i: usize) -> Result<Option<f64>> {
        get(self, i)
    }

    fn with_bytes<T>(&self, i: usize, f: impl FnOnce(Option<&[u8]>) -> T) -> Result<T> {
        if self
            .columns()
            .get(i)
            .is_some_and(|c| *c.type_() == Type::BYTEA)
        {
            Ok(f(get::<Option<&[u8]>>(self, i)?))
        } else {
            Ok(f(get::<Option<&str>>(self, i)?.map(str::as_bytes)))
        }
    }
}

impl Postgres {
    pub(super) fn open(url: &str, mode: OpenMode) -> Result<SqlStore<Postgres>> {
        let (client, shown) = connect::client(url)?;
        let engine = Postgres {
            client,
            url: shown,
            statements: HashMap::new(),
            runs: HashMap::new(),
            hasher: RandomState::new(),
            in_write: false,
            held: Held::default(),
        };
        SqlStore::open(engine, mode)
    }

    /// The prepared statement for the shared `sql`, prepared once per connection.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(&numbered(sql)).map_err(error)?;
        self.runs.remove(&self.hasher.hash_one(sql));
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    /// How the shared `sql` runs with `params`: prepared once it comes the [`PREPARE_AT`]th time
    /// (or where its parameters cannot run unnamed), unnamed before.
    fn plan(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Plan> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(Plan::Prepared(stmt.clone()));
        }
        let runs = self.runs.entry(self.hasher.hash_one(sql)).or_default();
        *runs += 1;
        if *runs >= PREPARE_AT || !plain(params) {
            return self.statement(sql).map(Plan::Prepared);
        }
        Ok(Plan::Once(numbered(sql)))
    }

    /// Runs a statement of a bulk write: prepared when it has a full chunk's shape (the usual one)
    /// and has come before, unnamed otherwise, so that odd sizes do not fill the cache.
    fn bulk(&mut self, sql: &str, params: &[Param<'_>], full: bool) -> Result<Vec<Row>> {
        if full {
            if let Plan::Prepared(stmt) = self.plan(sql, params)? {
                return self.client.query(&stmt, &refs(params)).map_err(error);
            }
        }
        let text = numbered(sql);
        if plain(params) {
            (self.client.query_typed(&text, &typed(params))).map_err(error)
        } else {
            self.client.query(&text, &refs(params)).map_err(error)
        }
    }

    /// Held writes (one group of [`Engine::send_writes`]) as one statement.
    fn send_group(&mut self, group: Vec<HeldWrite>) -> Result<()> {
        if let [one] = group.as_slice() {
            return self.run(&one.sql, &one.params()).map(drop);
        }
        let Some((last, with)) = group.split_last() else {
            return Ok(());
        };
        // Each write's placeholders numbered after the ones before it.
        let number = |sql: &str, offset: usize| {
            placeholders(sql, |out, n| {
                let _ = write!(out, "${}", n + offset);
            })
        };
        let (mut parts, mut offset) = (Vec::with_capacity(with.len()), 0);
        for (i, w) in with.iter().enumerate() {
            parts.push(format!("w{i} AS ({})", number(&w.sql, offset)));
            offset += w.params.len();
        }
        let text = format!("WITH {} {}", parts.join(", "), number(&last.sql, offset));
        let params: Vec<Param<'_>> = group.iter().flat_map(HeldWrite::params).collect();
        self.client
            .execute_typed(&text, &typed(&params))
            .map(drop)
            .map_err(error)
    }

    /// Runs a statement now (prepared once it comes often, unnamed before).
    fn run(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        match self.plan(sql, params)? {
            Plan::Prepared(stmt) => self.client.execute(&stmt, &refs(params)),
            Plan::Once(text) => self.client.execute_typed(&text, &typed(params)),
        }
        .map_err(error)
    }

    /// Starts a transaction that holds the writers' lock by `lock` (a function of
    /// `pg_advisory_xact_lock`'s kind), both in one round trip.
    fn begin(&mut self, lock: &str) -> Result<()> {
        self.in_write = true;
        let begin = format!("BEGIN; SELECT {lock}({WRITER_LOCK})");
        self.batch(&begin).inspect_err(|_| {
            let _ = self.rollback();
        })
    }
}

fn refs<'a>(params: &'a [Param<'_>]) -> Vec<P<'a>> {
    params.iter().map(|p| p as P<'_>).collect()
}

impl Engine for Postgres {
    type Row<'r> = Row;
    const MIGRATIONS: &'static [Migration] = migrate::POSTGRES;
    /// `pg_tables` sees what other sessions committed since the statement began; `to_regclass`
    /// would answer from this session's catalog cache, which an advisory lock does not refresh,
    /// and so miss a table made while we waited for the lock.
    const TABLES: &'static str = "SELECT tablename AS name FROM pg_catalog.pg_tables \
         WHERE schemaname = current_schema()";
    const KEYS_PER_QUERY: usize = MAX_ROWS * 5;
    const ROWS_PER_INSERT: usize = MAX_ROWS;
    const PARAMS_PER_INSERT: usize = MAX_PARAMS;

    fn location(&self) -> String {
        self.url.clone()
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        send_before(self, sql)?;
        self.run(sql, params)
    }

    fn held(&mut self) -> Option<&mut Held> {
        Some(&mut self.held)
    }

    fn holdable(param: &Param<'_>) -> bool {
        // Held writes go unnamed, as plain parameters do.
        plain(std::slice::from_ref(param))
    }

    /// In order, in as few statements as their tables allow: consecutive writes that name no
    /// table in common go as one statement (each but the last a data-modifying `WITH`), which
    /// sees one snapshot, so no two writes of one statement may meet.
    fn send_writes(&mut self, writes: Vec<HeldWrite>) -> Result<()> {
        let mut group: Vec<HeldWrite> = Vec::new();
        let mut params = 0;
        for write in writes {
            let meets = (group.iter()).any(|g| g.tables.iter().any(|t| write.tables.contains(t)));
            if meets || params + write.params.len() > MAX_PARAMS || group.len() == GROUP_WRITES {
                self.send_group(std::mem::take(&mut group))?;
                params = 0;
            }
            params += write.params.len();
            group.push(write);
        }
        self.send_group(group)
    }

    fn query<F>(&mut self, sql: &str, params: &[Param<'_>], mut each: F) -> Result<()>
    where
        F: FnMut(&Row) -> Result<()>,
    {
        send_before(self, sql)?;
        let mut rows = match self.plan(sql, params)? {
            Plan::Prepared(stmt) => self.client.query_raw(&stmt, params),
            Plan::Once(text) => self.client.query_typed_raw(&text, typed(params)),
        }
        .map_err(error)?;
        while let Some(row) = rows.next().map_err(error)? {
            each(&row)?;
        }
        Ok(())
    }

    fn insert(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Id> {
        send_before(self, sql)?;
        let sql = format!("{sql} RETURNING id");
        let row = match self.plan(&sql, params)? {
            Plan::Prepared(stmt) => self.client.query_one(&stmt, &refs(params)),
            Plan::Once(text) => self.client.query_typed_one(&text, &typed(params)),
        }
        .map_err(error)?;
        get(&row, 0)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        send_before_batch(self, sql)?;
        self.client.batch_execute(sql).map_err(error)
    }

    fn execute_once(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        send_before(self, sql)?;
        // Not kept prepared: odd sizes of bulk writes would fill the cache.
        let text = numbered(sql);
        if plain(params) {
            return (self.client.execute_typed(&text, &typed(params))).map_err(error);
        }
        self.client
            .execute(text.as_str(), &refs(params))
            .map_err(error)
    }

    fn begin_write(&mut self) -> Result<()> {
        // Writers take turns, as with SQLite's BEGIN IMMEDIATE: the lock lasts until commit or
        // rollback.
        self.begin("pg_advisory_xact_lock")
    }

    fn begin_ingest(&mut self) -> Result<()> {
        // Shared: ingests go on together, each then locking its lane and its branch; a whole-
        // database writer (reanalyze, prune, import, migrations…) waits for them, and they for it.
        self.begin("pg_advisory_xact_lock_shared")
    }

    fn lock_key(&mut self, key: i64) -> Result<bool> {
        // A lane's or branch's key never equals the writers' lock's (a hash; one in 2^64).
        self.execute("SELECT pg_advisory_xact_lock(?1)", &[key.into()])?;
        Ok(true)
    }

    fn commit(&mut self) -> Result<()> {
        send_before_commit(self)?;
        self.in_write = false;
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        self.held.rolled_back();
        if self.in_write {
            self.in_write = false;
            self.batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn foreign(&self) -> Error {
        Error::database(format!(
            "{} is a PostgreSQL database, but not one of probtrack's",
            self.url
        ))
        .hint("name another database in the URL (`createdb NAME` makes a new one)")
    }

    fn same(column: &str, at: usize) -> String {
        // Long texts are unique through an index on their md5() (docs/schema.md).
        format!("md5({column}) = md5(?{at}) AND {column} = ?{at}")
    }

    fn key(column: &str) -> String {
        format!("(md5({column}))")
    }

    fn contains(column: &str, at: usize) -> String {
        // position() on bytea compares bytes.
        format!("position(?{at} in {column}) > 0")
    }

    fn any(column: &str, at: usize) -> String {
        format!("{column} = ANY(?{at})")
    }

    fn query_keys<F>(
        &mut self,
        head: &str,
        column: &str,
        keys: &[[u8; 16]],
        mut each: F,
    ) -> Result<()>
    where
        F: FnMut(&Row) -> Result<()>,
    {
        let sql = format!("{head} {column} = ANY(?1)");
        send_before(self, &sql)?;
        for chunk in keys.chunks(Self::KEYS_PER_QUERY) {
            let list: Vec<&[u8]> = chunk.iter().map(|k| &k[..]).collect();
            let rows = match self.plan(&sql, &[])? {
                Plan::Prepared(stmt) => self.client.query(&stmt, &[&list]),
                Plan::Once(text) => {
                    let typed = [(&list as P<'_>, Type::BYTEA_ARRAY)];
                    self.client.query_typed(&text, &typed)
                }
            };
            for row in rows.map_err(error)? {
                each(&row)?;
            }
        }
        Ok(())
    }

    fn insert_rows(
        &mut self,
        head: &str,
        width: usize,
        tail: &str,
        rows: &[Param<'_>],
    ) -> Result<()> {
        // Held, where the write holds them, in multi-row statements sent with others.
        if hold_rows(self, (head, width, tail), rows)? {
            return Ok(());
        }
        // Plain inserts (not upserts) go by binary COPY: one statement for any number of rows,
        // with nothing for the server to parse or plan per row.
        let target = head.strip_prefix("INSERT INTO ");
        let whole = width > 0 && rows.len() % width.max(1) == 0;
        let few = rows.len() / width.max(1) < COPY_ROWS;
        let (Some(target), true, true, false) = (target, tail.trim().is_empty(), whole, few) else {
            return insert_values(self, head, width, tail, rows);
        };
        if rows.is_empty() {
            return Ok(());
        }
        // The columns' types: those of the one-row INSERT's parameters (prepared once).
        let one_row = format!("{head} VALUES ({})", marks(width));
        let types = self.statement(&one_row)?.params().to_vec();
        let copy = self.statement(&format!("COPY {target} FROM STDIN (FORMAT binary)"))?;
        let writer = self.client.copy_in(&copy).map_err(error)?;
        let mut writer = BinaryCopyInWriter::new(writer, &types);
        for row in rows.chunks(width) {
            writer.write(&refs(row)).map_err(error)?;
        }
        writer.finish().map_err(error)?;
        Ok(())
    }

    fn insert_keyed(
        &mut self,
        table: &str,
        columns: &str,
        rows: &[Param<'_>],
        keys: &[[u8; 16]],
    ) -> Result<Vec<([u8; 16], Id)>> {
        // Multi-row inserts that skip keys another process inserted meanwhile and hand back the
        // ids of the rows they made.
        send_before(self, &format!("INSERT INTO {table}"))?;
        let width = rows.len() / keys.len().max(1);
        let key = columns.split(',').next().unwrap_or_default();
        let per = Self::rows_per_insert(width);
        let mut ids = Vec::with_capacity(keys.len());
        for chunk in chunks(rows, width, per, usize::MAX) {
            let n = chunk.len() / width;
            let sql = format!(
                "INSERT INTO {table} ({columns}) VALUES {} ON CONFLICT ({key}) DO NOTHING \
                 RETURNING {key}, id",
                row_marks(n, width)
            );
            for row in self.bulk(&sql, chunk, n == per)? {
                if let Some(k) = row.key(0)? {
                    ids.push((k, row.id(1)?));
                }
            }
        }
        Ok(ids)
    }

    fn delete_runs(&mut self, lane: Id, runs: &[(Id, i64)]) -> Result<()> {
        let sql = "DELETE FROM runs WHERE lane_id = ?1 AND (test_id, first_number) IN \
             (SELECT * FROM unnest(?2::bigint[], ?3::bigint[]))";
        for chunk in runs.chunks(MAX_ROWS * 10) {
            let (tests, firsts): (Vec<Id>, Vec<i64>) = chunk.iter().copied().unzip();
            let params = [Param::Int(lane), Param::Ids(&tests), Param::Ids(&firsts)];
            self.execute(sql, &params)?;
        }
        Ok(())
    }

    fn finish_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()> {
        for &(table, id) in highest {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1::bigint + 1, false)"
            );
            self.client.query_one(&sql, &[&id]).map_err(error)?;
        }
        Ok(())
    }
}
