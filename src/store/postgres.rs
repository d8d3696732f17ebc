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
    each_insert, hold_rows, in_groups, insert_values, marks, placeholders, send_before,
    send_before_batch, Engine, Fields, Held, HeldWrite, Param,
};
use super::migrate::{self, Migration};
use super::sql::SqlStore;
use super::{Id, OpenMode};
use crate::connect::postgres::{self as connect, error};
use crate::error::{Error, Result};

/// The advisory lock that writers (and migrations) hold for their transaction: one writer at a time.
const WRITER_LOCK: i64 = 0x7072_6f62_7472_6b00; // "probtrk\0"

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
    /// Writes held to be sent several in one statement (`Engine::hold_writes`).
    held: Held,
}

/// How a statement runs: prepared, or unnamed from its text (numbered for PostgreSQL), with the
/// types of its parameters given ([`plain`]) or inferred by the server.
enum Plan {
    Prepared(Statement),
    Once(String),
    Inferred(String),
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

/// The shared `sql` with PostgreSQL's numbered placeholders, numbered after `offset` others.
fn numbered(sql: &str, offset: usize) -> String {
    placeholders(sql, |out, n| {
        let _ = write!(out, "${}", n + offset);
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
            held: Held::default(),
        };
        SqlStore::open(engine, mode)
    }

    /// The prepared statement for the shared `sql`, prepared once per connection.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(&numbered(sql, 0)).map_err(error)?;
        self.runs.remove(&self.hasher.hash_one(sql));
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    /// How the shared `sql` runs with `params`: prepared once it comes the [`PREPARE_AT`]th time
    /// (or where its parameters cannot run unnamed), unnamed before; never prepared if not `keep`
    /// (a bulk write's odd size, which would fill the cache).
    fn plan(&mut self, sql: &str, params: &[Param<'_>], keep: bool) -> Result<Plan> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(Plan::Prepared(stmt.clone()));
        }
        if !keep {
            let text = numbered(sql, 0);
            return Ok(if plain(params) {
                Plan::Once(text)
            } else {
                Plan::Inferred(text)
            });
        }
        let runs = self.runs.entry(self.hasher.hash_one(sql)).or_default();
        *runs += 1;
        if *runs >= PREPARE_AT || !plain(params) {
            return self.statement(sql).map(Plan::Prepared);
        }
        Ok(Plan::Once(numbered(sql, 0)))
    }

    /// Held writes (one group of [`Engine::send_writes`]) as one statement.
    fn send_group(&mut self, group: Vec<HeldWrite>) -> Result<()> {
        if let [one] = group.as_slice() {
            return self
                .run(&one.sql, &one.params(), true, |_| Ok(()))
                .map(drop);
        }
        let Some((last, with)) = group.split_last() else {
            return Ok(());
        };
        // Each write's placeholders numbered after the ones before it.
        let (mut parts, mut offset) = (Vec::with_capacity(with.len()), 0);
        for (i, w) in with.iter().enumerate() {
            parts.push(format!("w{i} AS ({})", numbered(&w.sql, offset)));
            offset += w.params.len();
        }
        let text = format!("WITH {} {}", parts.join(", "), numbered(&last.sql, offset));
        let params: Vec<Param<'_>> = group.iter().flat_map(HeldWrite::params).collect();
        self.client
            .execute_typed(&text, &typed(&params))
            .map(drop)
            .map_err(error)
    }

    /// Runs a statement now as [`Postgres::plan`] plans it, handing each row it answers to
    /// `each`; returns how many rows it matched.
    fn run(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        keep: bool,
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Result<u64> {
        let mut rows = match self.plan(sql, params, keep)? {
            Plan::Prepared(stmt) => self.client.query_raw(&stmt, params),
            Plan::Once(text) => self.client.query_typed_raw(&text, typed(params)),
            Plan::Inferred(text) => self.client.query_raw(text.as_str(), params),
        }
        .map_err(error)?;
        while let Some(row) = rows.next().map_err(error)? {
            each(&row)?;
        }
        Ok(rows.rows_affected().unwrap_or(0))
    }

    /// Starts a transaction that holds the writers' lock by `lock` (a function of
    /// `pg_advisory_xact_lock`'s kind), both in one round trip.
    fn begin(&mut self, lock: &str) -> Result<()> {
        self.held.began();
        let begin = format!("BEGIN; SELECT {lock}({WRITER_LOCK})");
        self.batch(&begin).inspect_err(|_| {
            let _ = self.rollback();
        })
    }
}

impl Engine for Postgres {
    type Row<'r> = Row;
    const MIGRATIONS: &'static [Migration] = migrate::POSTGRES;
    /// `pg_tables` sees what other sessions committed since the statement began; `to_regclass`
    /// would answer from this session's catalog cache, which an advisory lock does not refresh,
    /// and so miss a table made while we waited for the lock.
    const NAME: &'static str = "a PostgreSQL";
    const ANOTHER: &'static str =
        "name another database in the URL (`createdb NAME` makes a new one)";
    const TABLES: &'static str = "SELECT tablename AS name FROM pg_catalog.pg_tables \
         WHERE schemaname = current_schema()";
    const KEYS_PER_QUERY: usize = 5000;

    fn location(&self) -> String {
        self.url.clone()
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        send_before(self, sql)?;
        self.run(sql, params, true, |_| Ok(()))
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
        let fits = |group: &[HeldWrite], next: &HeldWrite| {
            let params: usize = group.iter().map(|w| w.params.len()).sum();
            let meets = (group.iter()).any(|g| g.tables.iter().any(|t| next.tables.contains(t)));
            !meets
                && params + next.params.len() <= Self::PARAMS_PER_INSERT
                && group.len() < GROUP_WRITES
        };
        in_groups(writes, fits, |group| self.send_group(group))
    }

    fn query<F>(&mut self, sql: &str, params: &[Param<'_>], each: F) -> Result<()>
    where
        F: FnMut(&Row) -> Result<()>,
    {
        send_before(self, sql)?;
        self.run(sql, params, true, each).map(drop)
    }

    fn insert(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Id> {
        send_before(self, sql)?;
        let mut id = Err(Error::database("database error: an insert returned no id"));
        self.run(&format!("{sql} RETURNING id"), params, true, |row| {
            id = row.id(0);
            Ok(())
        })?;
        id
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        send_before_batch(self, sql)?;
        self.client.batch_execute(sql).map_err(error)
    }

    fn execute_once(&mut self, sql: &str, params: &[Param<'_>]) -> Result<()> {
        send_before(self, sql)?;
        // Not kept prepared: odd sizes of bulk writes would fill the cache.
        self.run(sql, params, false, |_| Ok(())).map(drop)
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
            let rows = match self.plan(&sql, &[], true)? {
                Plan::Prepared(stmt) => self.client.query(&stmt, &[&list]),
                Plan::Once(text) | Plan::Inferred(text) => {
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
        // The columns' types: those of the one-row INSERT's parameters (prepared once).
        let one_row = format!("{head} VALUES ({})", marks(width));
        let types = self.statement(&one_row)?.params().to_vec();
        let copy = self.statement(&format!("COPY {target} FROM STDIN (FORMAT binary)"))?;
        let writer = self.client.copy_in(&copy).map_err(error)?;
        let mut writer = BinaryCopyInWriter::new(writer, &types);
        for row in rows.chunks(width) {
            let row: Vec<P<'_>> = row.iter().map(|p| p as P<'_>).collect();
            writer.write(&row).map_err(error)?;
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
        let key = columns.split(',').next().unwrap_or_default();
        let head = format!("INSERT INTO {table} ({columns})");
        let tail = format!("ON CONFLICT ({key}) DO NOTHING RETURNING {key}, id");
        let shape = (head.as_str(), rows.len() / keys.len().max(1), tail.as_str());
        let mut ids = Vec::with_capacity(keys.len());
        each_insert(self, shape, rows, |pg, sql, chunk, full| {
            pg.run(sql, chunk, full, |row| {
                if let Some(k) = row.key(0)? {
                    ids.push((k, row.id(1)?));
                }
                Ok(())
            })
            .map(drop)
        })?;
        Ok(ids)
    }

    fn delete_runs(&mut self, lane: Id, runs: &[(Id, i64)]) -> Result<()> {
        let sql = "DELETE FROM runs WHERE lane_id = ?1 AND (test_id, first_number) IN \
             (SELECT * FROM unnest(?2::bigint[], ?3::bigint[]))";
        for chunk in runs.chunks(Self::ROWS_PER_INSERT * 10) {
            let (tests, firsts): (Vec<Id>, Vec<i64>) = chunk.iter().copied().unzip();
            let params = [Param::Int(lane), Param::Ids(&tests), Param::Ids(&firsts)];
            self.execute(sql, &params)?;
        }
        Ok(())
    }

    /// The table's sequence: its last value once it has given one (`is_called`), else the next
    /// it gives (a new sequence's start, or where `copy` set it).
    fn highest_given(&mut self, table: &str) -> Result<Option<i64>> {
        let sql = "SELECT pg_get_serial_sequence(?1, 'id')";
        let Some(sequence) = self
            .first(sql, &[Param::Text(table)], |r| r.text(0))?
            .flatten()
        else {
            return Ok(None);
        };
        let sql =
            format!("SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END FROM {sequence}");
        Ok(self.first(&sql, &[], |r| r.int(0))?.flatten())
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
