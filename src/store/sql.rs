//! The one SQL store: every query and its row mapping, written once over an [`Engine`].
//!
//! Queries are written in SQLite's syntax with `?`/`?N` placeholders; an engine rewrites what it
//! must. The few places where the dialects differ call the engine by name (`E::same`,
//! `E::upsert`, `E::any`, …), and bulk writes go through the engine's bulk methods, which the
//! servers override with their faster ways. `SqlStore<E>` is generic, so a row's columns are read
//! with the engine's own types: nothing is dispatched dynamically per row or value.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use bstr::BString;
use probtrack_parsers::Status;

use super::engine::{p, Engine, Fields, Param};
use super::{
    key, migrate, BadRange, BuildFilter, BuildRecord, BuildRef, Cell, ChangeRecord, ChangeRef,
    ColumnType, Counts, Details, FailureRow, Id, LaneBuild, LaneRecord, LinkRecord, NewBuild,
    NewTest, NoteRecord, NotificationRecord, OpenMode, ProblemBuilder, ProblemFilter,
    ProblemRecord, ResultRecord, Run, Store, Table, TestRecord,
};
use crate::clock::{self, Micros};
use crate::error::{Error, Result};

pub struct SqlStore<E> {
    pub(super) engine: E,
    /// Message and details ids looked up or created in the current write, by key: a batch of
    /// builds repeats the same few texts. Forgotten when the write ends or rolls back.
    text_ids: HashMap<(Texts, [u8; 16]), Id>,
}

/// The tables of texts stored once, by key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Texts {
    Messages,
    Details,
}

impl<E: Engine> SqlStore<E> {
    /// The store over a connected engine, its schema checked and migrated.
    pub(super) fn open(mut engine: E, mode: OpenMode) -> Result<Self> {
        migrate::prepare(&mut engine, mode)?;
        Ok(SqlStore {
            engine,
            text_ids: HashMap::new(),
        })
    }

    fn exec(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.engine.execute(sql, params)
    }

    /// Every row of a query, mapped.
    fn all<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut map: impl FnMut(&E::Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.engine.query(sql, params, |r| {
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
        map: impl FnOnce(&E::Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let (mut map, mut out) = (Some(map), None);
        self.engine.query(sql, params, |r| {
            if let Some(map) = map.take() {
                out = Some(map(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn id_of(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Id>> {
        self.first(sql, params, |r| r.id(0))
    }

    /// The id `select` finds, else the one `insert` (ignoring a conflict) creates. Looking up
    /// first spends no id of a sequence on a row that exists.
    fn get_or_create(&mut self, select: &str, insert: &str, params: &[Param<'_>]) -> Result<Id> {
        if let Some(id) = self.id_of(select, params)? {
            return Ok(id);
        }
        self.exec(insert, params)?;
        self.id_of(select, params)?
            .ok_or_else(|| Error::database("database error: a row vanished while being created"))
    }

    fn user_id(&mut self, name: &str) -> Result<Id> {
        self.get_or_create(
            &format!("SELECT id FROM users WHERE {}", E::same("name", 1)),
            &format!(
                "INSERT INTO users (name) VALUES (?1) {}",
                E::upsert(&E::key("name"), "")
            ),
            &p![name],
        )
    }

    /// The ids of texts stored once by key (messages, details objects) for `keys`, creating each
    /// missing one from `value(i)` (for the i-th key) in the order they first appear.
    fn text_ids<'v>(
        &mut self,
        texts: Texts,
        keys: &[[u8; 16]],
        value: impl Fn(usize) -> Cow<'v, [u8]>,
    ) -> Result<HashMap<[u8; 16], Id>> {
        let mut ids = HashMap::with_capacity(keys.len());
        let mut wanted: Vec<([u8; 16], usize)> = Vec::new();
        let mut seen = HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            match self.text_ids.get(&(texts, *k)) {
                Some(&id) => {
                    ids.insert(*k, id);
                }
                None if seen.insert(*k) => wanted.push((*k, i)),
                None => {}
            }
        }
        if wanted.is_empty() {
            return Ok(ids);
        }
        let (table, columns) = match texts {
            Texts::Messages => ("messages", "hash, text"),
            Texts::Details => ("details", "hash, data"),
        };
        let head = format!("SELECT hash, id FROM {table} WHERE");
        let mut found = |r: &E::Row<'_>| -> Result<()> {
            if let Some(k) = r.key(0)? {
                ids.insert(k, r.id(1)?);
            }
            Ok(())
        };
        let keys: Vec<[u8; 16]> = wanted.iter().map(|(k, _)| *k).collect();
        self.engine.query_keys(&head, "hash", &keys, &mut found)?;
        let new: Vec<([u8; 16], usize)> = wanted
            .iter()
            .filter(|(k, _)| !ids.contains_key(k))
            .copied()
            .collect();
        if !new.is_empty() {
            // Made (a details object packed) only where new: deflating is the costly part.
            let values: Vec<Cow<'v, [u8]>> = new.iter().map(|(_, i)| value(*i)).collect();
            let mut rows = Vec::with_capacity(new.len() * 2);
            for ((k, _), v) in new.iter().zip(&values) {
                rows.push(Param::Blob(k));
                rows.push(match texts {
                    Texts::Messages => Param::Report(v),
                    Texts::Details => Param::Blob(v),
                });
            }
            let keys: Vec<[u8; 16]> = new.iter().map(|(k, _)| *k).collect();
            ids.extend(self.engine.insert_keyed(table, columns, &rows, &keys)?);
            if keys.iter().any(|k| !ids.contains_key(k)) {
                // Another process created some of them meanwhile (outside a write).
                self.engine.query_keys(&head, "hash", &keys, |r| {
                    if let Some(k) = r.key(0)? {
                        ids.insert(k, r.id(1)?);
                    }
                    Ok(())
                })?;
            }
        }
        for (k, _) in &wanted {
            let id = ids.get(k).copied().ok_or_else(|| {
                Error::database(format!(
                    "database error: a row of `{table}` vanished while being stored"
                ))
            })?;
            self.text_ids.insert((texts, *k), id);
        }
        Ok(ids)
    }

    fn message_id(&mut self, message: &[u8]) -> Result<Id> {
        let k = key(message);
        let ids = self.text_ids(Texts::Messages, &[k], |_| Cow::Borrowed(message))?;
        Ok(ids[&k])
    }
}

const BUILD_COLUMNS: &str = "b.id, bl.name, b.number, b.lane_id, l.branch, b.revision, b.time, \
     b.finished_at, b.result, b.properties, b.clean, b.passed, b.failed, b.error, b.skipped, \
     b.expected_failure, b.unexpected_success, b.flaky";

const BUILDS: &str = "FROM builds b JOIN builders bl ON bl.id = b.builder_id \
     JOIN lanes l ON l.id = b.lane_id";

fn build_record(r: &impl Fields) -> Result<BuildRecord> {
    Ok(BuildRecord {
        id: r.id(0)?,
        builder: r.string(1)?,
        number: r.id(2)?,
        lane: r.id(3)?,
        branch: r.branch(4)?,
        revision: r.text(5)?,
        time: r.id(6)?,
        finished_at: r.int(7)?,
        result: r.text(8)?,
        properties: r.string(9)?,
        clean: r.flag(10)?,
        counts: Counts {
            passed: r.count(11)?,
            failed: r.count(12)?,
            error: r.count(13)?,
            skipped: r.count(14)?,
            expected_failure: r.count(15)?,
            unexpected_success: r.count(16)?,
            flaky: r.count(17)?,
        },
    })
}

const TEST_COLUMNS: &str = "id, name, kind, file, runner_id";

fn test_record(r: &impl Fields) -> Result<TestRecord> {
    Ok(TestRecord {
        id: r.id(0)?,
        name: r.bstring(1)?,
        kind: r.kind(2)?,
        file: r.bytes(3)?,
        runner_id: r.text(4)?,
    })
}

/// The columns `result_record` reads, from `results r`, `messages m` and `details d`.
const RESULTS: &str = "SELECT r.test_id, r.status, r.duration, m.text, r.attempts, r.details, \
     d.data, r.build_id FROM results r LEFT JOIN messages m ON m.id = r.message_id \
     LEFT JOIN details d ON d.id = r.details_id";

fn result_record(r: &impl Fields) -> Result<ResultRecord> {
    Ok(ResultRecord {
        test: r.id(0)?,
        status: r.status(1)?,
        duration: r.real(2)?,
        message: r.bytes(3)?,
        attempts: r.id(4)?.clamp(1, i64::from(u32::MAX)) as u32,
        details: r.details(5)?.map(Details::from),
    })
}

const CHANGE_COLUMNS: &str = "c.revision, u.name, c.time, c.comments, c.parents";

fn change_record(r: &impl Fields) -> Result<ChangeRecord> {
    Ok(ChangeRecord {
        revision: r.string(0)?,
        author: r.text(1)?,
        time: r.int(2)?,
        comments: r.text(3)?,
        parents: r.text(4)?,
    })
}

/// `(column, id, revision, author)` of the changes named by `column`'s ids, in blamelist order.
fn changes_by(table: &str, column: &str, at_list: &str, extra: &str) -> String {
    format!(
        "SELECT t.{column}, c.id, c.revision, u.name{extra} FROM {table} t \
         JOIN changes c ON c.id = t.change_id LEFT JOIN users u ON u.id = c.user_id \
         WHERE {at_list} ORDER BY t.{column}, coalesce(c.time, 0), c.revision"
    )
}

fn change_ref(r: &impl Fields, at: usize) -> Result<ChangeRef> {
    Ok(ChangeRef {
        id: r.id(at)?,
        revision: r.string(at + 1)?,
        author: r.text(at + 2)?,
    })
}

const PROBLEM_COLUMNS: &str = "test_id, branch, first_build_id, first_builder, first_number, \
     first_time, first_revision, last_builder, last_number, last_time, last_revision, \
     fixed_builder, fixed_number, fixed_time, fixed_revision, state, intermittent, failures, \
     message_id, updated_at, cluster";

fn build_ref(r: &impl Fields, at: usize) -> Result<Option<BuildRef>> {
    let Some(builder) = r.text(at)? else {
        return Ok(None);
    };
    Ok(Some(BuildRef {
        builder,
        number: r.id(at + 1)?,
        time: r.id(at + 2)?,
        revision: r.text(at + 3)?,
    }))
}

fn problem_record(r: &impl Fields) -> Result<ProblemRecord> {
    let missing = || Error::database("database error: a Problem names no builder for its failure");
    let state = r.string(18)?;
    Ok(ProblemRecord {
        id: r.id(0)?,
        test: r.id(1)?,
        test_name: r.bstring(2)?,
        kind: r.kind(3)?,
        branch: r.branch(4)?,
        first_build: r.id(5)?,
        first_failure: build_ref(r, 6)?.ok_or_else(missing)?,
        last_failure: build_ref(r, 10)?.ok_or_else(missing)?,
        fixed: build_ref(r, 14)?,
        open: state == "open",
        hidden: state == "hidden",
        intermittent: r.flag(19)?,
        failures: r.count(20)?,
        message: r.bytes(21)?,
        cluster: r.text(22)?,
        builders: Vec::new(),
        started_by: Vec::new(),
        fixed_by: Vec::new(),
    })
}

fn runs_of(map: &mut HashMap<Id, Vec<Run>>, r: &impl Fields) -> Result<()> {
    map.entry(r.id(0)?).or_default().push(Run {
        first: r.id(1)?,
        status: r.opt_status(2)?,
    });
    Ok(())
}

impl<E: Engine> Store for SqlStore<E> {
    fn location(&self) -> String {
        self.engine.location()
    }

    fn begin_write(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.engine.begin_write()
    }

    fn commit(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.engine.commit()
    }

    fn rollback(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.engine.rollback()
    }

    fn savepoint(&mut self) -> Result<()> {
        self.engine.savepoint()
    }

    fn release_savepoint(&mut self) -> Result<()> {
        self.engine.release_savepoint()
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.text_ids.clear();
        self.engine.rollback_to_savepoint()
    }

    fn builder_id(&mut self, name: &str) -> Result<Option<Id>> {
        let sql = format!("SELECT id FROM builders WHERE {}", E::same("name", 1));
        self.id_of(&sql, &p![name])
    }

    fn create_builder(&mut self, name: &str) -> Result<Id> {
        self.get_or_create(
            &format!("SELECT id FROM builders WHERE {}", E::same("name", 1)),
            &format!(
                "INSERT INTO builders (name) VALUES (?1) {}",
                E::upsert(&E::key("name"), "")
            ),
            &p![name],
        )
    }

    fn lane_id(&mut self, builder: Id, branch: Option<&str>) -> Result<Id> {
        self.get_or_create(
            &format!(
                "SELECT id FROM lanes WHERE builder_id = ?1 AND {}",
                E::same("branch", 2)
            ),
            &format!(
                "INSERT INTO lanes (builder_id, branch) VALUES (?1, ?2) {}",
                E::upsert(&format!("builder_id, {}", E::key("branch")), "")
            ),
            &p![builder, branch.unwrap_or("")],
        )
    }

    fn lanes(&mut self) -> Result<Vec<LaneRecord>> {
        self.all(
            "SELECT l.id, b.name, l.branch, l.pruned_before FROM lanes l \
             JOIN builders b ON b.id = l.builder_id ORDER BY b.name, l.branch",
            &[],
            |r| {
                Ok(LaneRecord {
                    id: r.id(0)?,
                    builder: r.string(1)?,
                    branch: r.branch(2)?,
                    pruned_before: r.int(3)?,
                })
            },
        )
    }

    fn set_pruned_before(&mut self, lane: Id, number: i64) -> Result<()> {
        self.exec(
            "UPDATE lanes SET pruned_before = CASE WHEN pruned_before IS NULL \
             OR pruned_before < ?2 THEN ?2 ELSE pruned_before END WHERE id = ?1",
            &p![lane, number],
        )?;
        Ok(())
    }

    fn find_build(&mut self, builder: &str, number: i64) -> Result<Option<BuildRecord>> {
        let sql = format!(
            "SELECT {BUILD_COLUMNS} {BUILDS} WHERE {} AND b.number = ?2",
            E::same("bl.name", 1)
        );
        self.first(&sql, &p![builder, number], |r| build_record(r))
    }

    fn insert_build(&mut self, b: &NewBuild) -> Result<Id> {
        self.engine.insert(
            "INSERT INTO builds (builder_id, number, lane_id, revision, time, finished_at, \
             result, properties, clean, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &p![
                b.builder,
                b.number,
                b.lane,
                &b.revision,
                b.time,
                b.finished_at,
                &b.result,
                &b.properties,
                b.clean,
                b.ingested_at
            ],
        )
    }

    fn update_build(&mut self, id: Id, b: &NewBuild) -> Result<()> {
        self.exec(
            "UPDATE builds SET lane_id = ?2, revision = ?3, time = ?4, finished_at = ?5, \
             result = ?6, properties = ?7, clean = ?8, ingested_at = ?9 WHERE id = ?1",
            &p![
                id,
                b.lane,
                &b.revision,
                b.time,
                b.finished_at,
                &b.result,
                &b.properties,
                b.clean,
                b.ingested_at
            ],
        )?;
        Ok(())
    }

    fn set_build_outcome(&mut self, id: Id, c: &Counts, durations: &[u8]) -> Result<()> {
        self.exec(
            "UPDATE builds SET passed = ?2, failed = ?3, error = ?4, skipped = ?5, \
             expected_failure = ?6, unexpected_success = ?7, flaky = ?8, durations = ?9 \
             WHERE id = ?1",
            &[
                id.into(),
                c.passed.into(),
                c.failed.into(),
                c.error.into(),
                c.skipped.into(),
                c.expected_failure.into(),
                c.unexpected_success.into(),
                c.flaky.into(),
                Param::Blob(durations),
            ],
        )?;
        Ok(())
    }

    fn delete_build(&mut self, id: Id) -> Result<()> {
        self.exec("DELETE FROM builds WHERE id = ?1", &p![id])?;
        Ok(())
    }

    fn clear_build(&mut self, id: Id) -> Result<()> {
        for table in ["reports", "results", "build_changes"] {
            self.exec(&format!("DELETE FROM {table} WHERE build_id = ?1"), &p![id])?;
        }
        Ok(())
    }

    fn lane_builds(&mut self, lane: Id) -> Result<Vec<LaneBuild>> {
        self.all(
            "SELECT number, id, revision, time FROM builds WHERE lane_id = ?1 ORDER BY number",
            &p![lane],
            |r| {
                Ok(LaneBuild {
                    number: r.id(0)?,
                    id: r.id(1)?,
                    revision: r.text(2)?,
                    time: r.id(3)?,
                })
            },
        )
    }

    fn recent_builds(&mut self, filter: &BuildFilter) -> Result<Vec<BuildRecord>> {
        let mut sql = format!("SELECT {BUILD_COLUMNS} {BUILDS} WHERE 1 = 1");
        let mut args: Vec<Param<'_>> = Vec::new();
        if let Some(builder) = &filter.builder {
            args.push(builder.into());
            sql += &format!(" AND {}", E::same("bl.name", args.len()));
        }
        if let Some(branch) = &filter.branch {
            args.push(branch.as_deref().unwrap_or("").into());
            sql += &format!(" AND {}", E::same("l.branch", args.len()));
        }
        args.push((filter.limit as u64).into());
        sql += &format!(
            " ORDER BY b.time DESC, bl.name, b.number DESC LIMIT ?{}",
            args.len()
        );
        self.all(&sql, &args, |r| build_record(r))
    }

    fn build_durations(&mut self, build: Id) -> Result<Option<Vec<u8>>> {
        let found = self.first(
            "SELECT durations FROM builds WHERE id = ?1",
            &p![build],
            |r| r.with_bytes(0, |b| b.map(<[u8]>::to_vec)),
        )?;
        Ok(found.flatten())
    }

    fn report_exists(&mut self, build: Id, hash: &[u8]) -> Result<bool> {
        let sql = "SELECT 1 FROM reports WHERE build_id = ?1 AND hash = ?2";
        Ok(self
            .first(sql, &[build.into(), Param::Blob(hash)], |_| Ok(()))?
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
        self.exec(
            "INSERT INTO reports (build_id, hash, name, parser, results, ingested_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                build.into(),
                Param::Blob(hash),
                name.into(),
                parser.into(),
                results.into(),
                at.into(),
            ],
        )?;
        Ok(())
    }

    fn upsert_change(&mut self, change: &ChangeRecord) -> Result<Id> {
        let user = match &change.author {
            Some(author) => Some(self.user_id(author)?),
            None => None,
        };
        let find = format!("SELECT id FROM changes WHERE {}", E::same("revision", 1));
        let values = p![
            &change.revision,
            user,
            change.time,
            &change.comments,
            &change.parents
        ];
        // What is known about a change only grows: a later, fuller record fills in the blanks.
        if let Some(id) = self.id_of(&find, &values[..1])? {
            let mut update = values;
            update[0] = id.into();
            self.exec(
                "UPDATE changes SET user_id = coalesce(?2, user_id), time = coalesce(?3, time), \
                 comments = coalesce(?4, comments), parents = coalesce(?5, parents) WHERE id = ?1",
                &update,
            )?;
            return Ok(id);
        }
        let set = "user_id = coalesce(excluded.user_id, changes.user_id), \
             time = coalesce(excluded.time, changes.time), \
             comments = coalesce(excluded.comments, changes.comments), \
             parents = coalesce(excluded.parents, changes.parents)";
        self.exec(
            &format!(
                "INSERT INTO changes (revision, user_id, time, comments, parents) \
                 VALUES (?1, ?2, ?3, ?4, ?5) {}",
                E::upsert(&E::key("revision"), set)
            ),
            &values,
        )?;
        self.id_of(&find, &values[..1])?
            .ok_or_else(|| Error::database("database error: a change vanished while being created"))
    }

    fn link_change(&mut self, build: Id, change: Id) -> Result<()> {
        let sql = format!(
            "INSERT INTO build_changes (build_id, change_id) VALUES (?1, ?2) {}",
            E::upsert("build_id, change_id", "")
        );
        self.exec(&sql, &p![build, change])?;
        Ok(())
    }

    fn build_changes(&mut self, build: Id) -> Result<Vec<ChangeRecord>> {
        self.all(
            &format!(
                "SELECT {CHANGE_COLUMNS} FROM build_changes bc \
                 JOIN changes c ON c.id = bc.change_id LEFT JOIN users u ON u.id = c.user_id \
                 WHERE bc.build_id = ?1 ORDER BY coalesce(c.time, 0), c.revision"
            ),
            &p![build],
            |r| change_record(r),
        )
    }

    fn change(&mut self, revision: &str) -> Result<Option<ChangeRecord>> {
        let sql = format!(
            "SELECT {CHANGE_COLUMNS} FROM changes c LEFT JOIN users u ON u.id = c.user_id \
             WHERE {}",
            E::same("c.revision", 1)
        );
        self.first(&sql, &p![revision], |r| change_record(r))
    }

    fn test_ids(&mut self, tests: &[NewTest]) -> Result<Vec<Id>> {
        // Look the tests up by key; create the new ones in the order they first appear (so that
        // every engine gives the same ids).
        let keys: Vec<[u8; 16]> = tests.iter().map(|t| key(&t.name)).collect();
        let mut found: HashMap<[u8; 16], (Id, Option<String>)> =
            HashMap::with_capacity(tests.len());
        let head = "SELECT name_hash, id, runner_id FROM tests WHERE";
        let mut known = |r: &E::Row<'_>| -> Result<()> {
            if let Some(k) = r.key(0)? {
                found.insert(k, (r.id(1)?, r.text(2)?));
            }
            Ok(())
        };
        self.engine
            .query_keys(head, "name_hash", &keys, &mut known)?;
        let mut new: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if !found.contains_key(k) && seen.insert(*k) {
                new.push(i);
            }
        }
        if !new.is_empty() {
            let new_keys: Vec<[u8; 16]> = new.iter().map(|&i| keys[i]).collect();
            let mut rows = Vec::with_capacity(new.len() * 5);
            for (&i, k) in new.iter().zip(&new_keys) {
                let t = &tests[i];
                rows.extend([
                    Param::Blob(k),
                    Param::Report(&t.name),
                    t.kind.as_str().into(),
                    t.file.as_ref().map_or(Param::Null, |f| Param::Report(f)),
                    (&t.runner_id).into(),
                ]);
            }
            let columns = "name_hash, name, kind, file, runner_id";
            let created = self
                .engine
                .insert_keyed("tests", columns, &rows, &new_keys)?;
            let first: HashMap<[u8; 16], usize> = new.iter().map(|&i| (keys[i], i)).collect();
            for (k, id) in created {
                let runner = first.get(&k).and_then(|&i| tests[i].runner_id.clone());
                found.insert(k, (id, runner));
            }
            let missing: Vec<[u8; 16]> = new_keys
                .into_iter()
                .filter(|k| !found.contains_key(k))
                .collect();
            if !missing.is_empty() {
                // Another process created some of them meanwhile (outside a write).
                self.engine.query_keys(head, "name_hash", &missing, |r| {
                    if let Some(k) = r.key(0)? {
                        found.insert(k, (r.id(1)?, r.text(2)?));
                    }
                    Ok(())
                })?;
            }
        }
        // A test's runner id becomes the last one given, where one is given.
        let mut ids = Vec::with_capacity(tests.len());
        for (test, k) in tests.iter().zip(&keys) {
            let Some((id, runner_id)) = found.get(k).cloned() else {
                return Err(Error::database(
                    "database error: a test vanished while being created",
                ));
            };
            if test.runner_id.is_some() && runner_id != test.runner_id {
                self.exec(
                    "UPDATE tests SET runner_id = ?2 WHERE id = ?1",
                    &p![id, &test.runner_id],
                )?;
                found.insert(*k, (id, test.runner_id.clone()));
            }
            ids.push(id);
        }
        Ok(ids)
    }

    fn tests_by_id(&mut self, ids: &[Id]) -> Result<HashMap<Id, TestRecord>> {
        let sql = format!("SELECT {TEST_COLUMNS} FROM tests WHERE {}", E::any("id", 1));
        let mut out = HashMap::with_capacity(ids.len());
        self.engine.query(&sql, &[Param::Ids(ids)], |r| {
            let record = test_record(r)?;
            out.insert(record.id, record);
            Ok(())
        })?;
        Ok(out)
    }

    fn test_by_name(&mut self, name: &[u8]) -> Result<Option<TestRecord>> {
        let hash = key(name);
        let sql = format!("SELECT {TEST_COLUMNS} FROM tests WHERE name_hash = ?1");
        self.first(&sql, &[Param::Blob(&hash)], |r| test_record(r))
    }

    fn tests_containing(&mut self, part: &[u8], limit: usize) -> Result<Vec<TestRecord>> {
        // Bytes against bytes: the match is case-sensitive and exact for any text.
        let sql = format!(
            "SELECT {TEST_COLUMNS} FROM tests WHERE {} ORDER BY name LIMIT ?2",
            E::contains("name", 1)
        );
        self.all(&sql, &[Param::Blob(part), (limit as u64).into()], |r| {
            test_record(r)
        })
    }

    fn lane_runs(&mut self, lane: Id) -> Result<HashMap<Id, Vec<Run>>> {
        let mut out = HashMap::new();
        self.engine.query(
            "SELECT test_id, first_number, status FROM runs WHERE lane_id = ?1 \
             ORDER BY test_id, first_number",
            &p![lane],
            |r| runs_of(&mut out, r),
        )?;
        Ok(out)
    }

    fn write_runs(&mut self, lane: Id, test: Id, delete: &[i64], upsert: &[Run]) -> Result<()> {
        self.write_runs_many(lane, &[(test, delete.to_vec(), upsert.to_vec())])
    }

    fn write_runs_many(&mut self, lane: Id, writes: &[(Id, Vec<i64>, Vec<Run>)]) -> Result<()> {
        // Every delete first, then every upsert: the same as test by test, since tests' runs do not
        // overlap and a test's upserts come after its deletes.
        let deletes: Vec<(Id, i64)> = writes
            .iter()
            .flat_map(|(test, delete, _)| delete.iter().map(move |first| (*test, *first)))
            .collect();
        if !deletes.is_empty() {
            self.engine.delete_runs(lane, &deletes)?;
        }
        let head = "INSERT INTO runs (lane_id, test_id, first_number, status)";
        let tail = E::upsert("lane_id, test_id, first_number", "status = excluded.status");
        let mut rows: Vec<Param<'_>> = Vec::new();
        let mut tests = HashSet::new();
        for (test, _, upserts) in writes {
            // A statement may not upsert a row twice: a test named again starts another.
            if !tests.insert(*test) {
                self.engine.insert_rows(head, 4, &tail, &rows)?;
                rows.clear();
                tests.clear();
                tests.insert(*test);
            }
            for run in upserts {
                let status = run.status.map(Status::as_str);
                rows.extend(p![lane, *test, run.first, status]);
            }
        }
        if !rows.is_empty() {
            self.engine.insert_rows(head, 4, &tail, &rows)?;
        }
        Ok(())
    }

    fn lane_compile_tests(&mut self, lane: Id) -> Result<Vec<(Id, Option<BString>)>> {
        self.all(
            "SELECT DISTINCT t.id, t.file FROM runs r JOIN tests t ON t.id = r.test_id \
             WHERE r.lane_id = ?1 AND t.kind = 'compile' ORDER BY t.id",
            &p![lane],
            |r| Ok((r.id(0)?, r.bytes(1)?)),
        )
    }

    fn test_runs(&mut self, test: Id) -> Result<Vec<(Id, Vec<Run>)>> {
        let mut out: Vec<(Id, Vec<Run>)> = Vec::new();
        self.engine.query(
            "SELECT lane_id, first_number, status FROM runs WHERE test_id = ?1 \
             ORDER BY lane_id, first_number",
            &p![test],
            |r| {
                let lane = r.id(0)?;
                let run = Run {
                    first: r.id(1)?,
                    status: r.opt_status(2)?,
                };
                match out.last_mut() {
                    Some((last, runs)) if *last == lane => runs.push(run),
                    _ => out.push((lane, vec![run])),
                }
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn build_results(&mut self, build: Id) -> Result<Vec<ResultRecord>> {
        let sql = format!("{RESULTS} WHERE r.build_id = ?1 ORDER BY r.test_id");
        self.all(&sql, &p![build], |r| result_record(r))
    }

    fn result_message(&mut self, build: Id, test: Id) -> Result<Option<BString>> {
        let found = self.first(
            "SELECT m.text FROM results r JOIN messages m ON m.id = r.message_id \
             WHERE r.build_id = ?1 AND r.test_id = ?2",
            &p![build, test],
            |r| r.bstring(0),
        )?;
        Ok(found)
    }

    fn result_text(&mut self, build: Id, test: Id) -> Result<Option<String>> {
        let details = self.first(
            "SELECT r.details, d.data FROM results r LEFT JOIN details d ON d.id = r.details_id \
             WHERE r.build_id = ?1 AND r.test_id = ?2",
            &p![build, test],
            |r| r.details(0),
        )?;
        Ok(super::details::text_of(details.flatten().as_deref()))
    }

    fn test_results(&mut self, test: Id) -> Result<HashMap<Id, ResultRecord>> {
        let mut out = HashMap::new();
        let sql = format!("{RESULTS} WHERE r.test_id = ?1");
        self.engine.query(&sql, &p![test], |r| {
            out.insert(r.id(7)?, result_record(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn failure_messages(&mut self, test: Id) -> Result<Vec<BString>> {
        self.all(
            "SELECT m.text FROM messages m WHERE m.id IN (SELECT DISTINCT message_id FROM results \
             WHERE test_id = ?1 AND status IN ('failed', 'error')) ORDER BY m.id",
            &p![test],
            |r| r.bstring(0),
        )
    }

    fn replace_build_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()> {
        self.exec("DELETE FROM results WHERE build_id = ?1", &p![build])?;
        if results.is_empty() {
            return Ok(());
        }
        let texts: Vec<&[u8]> = (results.iter().filter_map(|r| r.message.as_ref()))
            .map(|m| m.as_slice())
            .collect();
        let text_keys: Vec<[u8; 16]> = texts.iter().map(|t| key(t)).collect();
        let messages = self.text_ids(Texts::Messages, &text_keys, |i| Cow::Borrowed(texts[i]))?;
        let objects: Vec<&Details> = results.iter().filter_map(|r| r.details.as_ref()).collect();
        let object_keys: Vec<[u8; 16]> = objects.iter().map(|d| d.key()).collect();
        let details_ids = self.text_ids(Texts::Details, &object_keys, |i| objects[i].packed())?;
        let (mut text_keys, mut object_keys) = (text_keys.iter(), object_keys.iter());
        let mut rows = Vec::with_capacity(results.len() * 7);
        for r in results {
            let message = r.message.as_ref().and_then(|_| text_keys.next());
            let details = r.details.as_ref().and_then(|_| object_keys.next());
            rows.extend(p![
                build,
                r.test,
                r.status.as_str(),
                r.duration,
                message.map(|k| messages[k]),
                r.attempts,
                details.map(|k| details_ids[k])
            ]);
        }
        let head = "INSERT INTO results (build_id, test_id, status, duration, message_id, \
             attempts, details_id)";
        self.engine.insert_rows(head, 7, "", &rows)
    }

    fn blamelists(&mut self, builds: &[Id]) -> Result<HashMap<Id, Vec<ChangeRef>>> {
        let mut out: HashMap<Id, Vec<ChangeRef>> =
            builds.iter().map(|&b| (b, Vec::new())).collect();
        let sql = changes_by("build_changes", "build_id", &E::any("t.build_id", 1), "");
        self.engine.query(&sql, &[Param::Ids(builds)], |r| {
            out.entry(r.id(0)?).or_default().push(change_ref(r, 1)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn unlink_changes(&mut self, build: Id) -> Result<()> {
        self.exec("DELETE FROM build_changes WHERE build_id = ?1", &p![build])?;
        Ok(())
    }

    fn retire_builder(&mut self, name: &str, at: Option<Micros>) -> Result<bool> {
        let sql = format!(
            "UPDATE builders SET retired_at = ?2 WHERE {}",
            E::same("name", 1)
        );
        Ok(self.exec(&sql, &p![name, at])? > 0)
    }

    fn retired_builders(&mut self) -> Result<Vec<String>> {
        self.all(
            "SELECT name FROM builders WHERE retired_at IS NOT NULL ORDER BY name",
            &[],
            |r| r.string(0),
        )
    }

    fn lane_tests(&mut self, lane: Id) -> Result<Vec<Id>> {
        self.all(
            "SELECT DISTINCT test_id FROM runs WHERE lane_id = ?1 ORDER BY test_id",
            &p![lane],
            |r| r.id(0),
        )
    }

    fn tests_with_recent_problems(
        &mut self,
        builder: &str,
        branch: Option<&str>,
        since: i64,
    ) -> Result<Vec<Id>> {
        let sql = format!(
            "SELECT DISTINCT p.test_id FROM problems p \
             JOIN problem_builders pb ON pb.problem_id = p.id \
             JOIN builders b ON b.id = pb.builder_id WHERE {} AND {} \
             AND (pb.fixed_number IS NULL OR pb.fixed_number >= ?3) ORDER BY p.test_id",
            E::same("b.name", 1),
            E::same("p.branch", 2)
        );
        self.all(&sql, &p![builder, branch.unwrap_or(""), since], |r| r.id(0))
    }

    fn test_problem_keys(&mut self, test: Id, branch: Option<&str>) -> Result<Vec<(Id, Id)>> {
        let sql = format!(
            "SELECT id, first_build_id FROM problems WHERE test_id = ?1 AND {} ORDER BY id",
            E::same("branch", 2)
        );
        self.all(&sql, &p![test, branch.unwrap_or("")], |r| {
            Ok((r.id(0)?, r.id(1)?))
        })
    }

    fn save_problem(&mut self, p: &ProblemRecord) -> Result<Id> {
        let message = match &p.message {
            Some(text) => Some(self.message_id(text)?),
            None => None,
        };
        let (first, last, fixed) = (&p.first_failure, &p.last_failure, p.fixed.as_ref());
        let state = p.state();
        let values = p![
            p.test,
            p.branch.as_deref().unwrap_or(""),
            p.first_build,
            &first.builder,
            first.number,
            first.time,
            &first.revision,
            &last.builder,
            last.number,
            last.time,
            &last.revision,
            fixed.map(|f| f.builder.as_str()),
            fixed.map(|f| f.number),
            fixed.map(|f| f.time),
            fixed.and_then(|f| f.revision.as_deref()),
            state,
            p.intermittent,
            p.failures,
            message,
            clock::to_micros(clock::now()),
            &p.cluster,
            p.id
        ];
        let insert = |with_id: bool| {
            let (id, n) = if with_id { (", id", 22) } else { ("", 21) };
            format!(
                "INSERT INTO problems ({PROBLEM_COLUMNS}{id}) VALUES ({})",
                super::engine::marks(n)
            )
        };
        let id = if p.id == 0 {
            self.engine.insert(&insert(false), &values[..21])?
        } else {
            // Updated in place: the row (and what hangs on its id) stays.
            let set: Vec<String> = (PROBLEM_COLUMNS.split(", ").enumerate())
                .map(|(i, c)| format!("{} = ?{}", c.trim(), i + 1))
                .collect();
            let sql = format!("UPDATE problems SET {} WHERE id = ?22", set.join(", "));
            if self.exec(&sql, &values)? == 0 {
                self.exec(&insert(true), &values)?;
            }
            for table in ["problem_builders", "problem_changes"] {
                self.exec(
                    &format!("DELETE FROM {table} WHERE problem_id = ?1"),
                    &p![p.id],
                )?;
            }
            p.id
        };
        self.save_problem_parts(id, p)?;
        Ok(id)
    }

    fn delete_problem(&mut self, id: Id) -> Result<()> {
        self.exec("DELETE FROM problems WHERE id = ?1", &p![id])?;
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
        let mut conditions: Vec<(&str, Param<'_>)> = Vec::new();
        if let Some(open) = filter.open {
            conditions.push(("p.state", if open { "open" } else { "fixed" }.into()));
        }
        if let Some(intermittent) = filter.intermittent {
            conditions.push(("p.intermittent", intermittent.into()));
        }
        if let Some(test) = filter.test {
            conditions.push(("p.test_id", test.into()));
        }
        if let Some(build) = filter.first_build {
            conditions.push(("p.first_build_id", build.into()));
        }
        for (i, (column, _)) in conditions.iter().enumerate() {
            sql += &format!(" AND {column} = ?{}", i + 1);
        }
        if !filter.hidden {
            sql += " AND p.state <> 'hidden'";
        }
        let mut args: Vec<Param<'_>> = conditions.into_iter().map(|(_, arg)| arg).collect();
        if let Some(branch) = &filter.branch {
            args.push(branch.as_deref().unwrap_or("").into());
            sql += &format!(" AND {}", E::same("p.branch", args.len()));
        }
        if let Some(ids) = &filter.ids {
            args.push(Param::Ids(ids));
            sql += &format!(" AND {}", E::any("p.id", args.len()));
        }
        sql += " ORDER BY p.last_time DESC, p.id DESC";
        let mut problems = self.all(&sql, &args, |r| problem_record(r))?;
        if problems.is_empty() {
            return Ok(problems);
        }
        // Their builders and changes, for all of them at once rather than one query each.
        let ids: Vec<Id> = problems.iter().map(|p| p.id).collect();
        let index: HashMap<Id, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let sql = format!(
            "SELECT pb.problem_id, b.name, pb.first_number, pb.last_number, pb.fixed_number \
             FROM problem_builders pb JOIN builders b ON b.id = pb.builder_id \
             WHERE {} ORDER BY pb.problem_id, b.name",
            E::any("pb.problem_id", 1)
        );
        self.engine.query(&sql, &[Param::Ids(&ids)], |r| {
            if let Some(&i) = index.get(&r.id(0)?) {
                problems[i].builders.push(ProblemBuilder {
                    builder: r.string(1)?,
                    first_number: r.id(2)?,
                    last_number: r.id(3)?,
                    fixed_number: r.int(4)?,
                });
            }
            Ok(())
        })?;
        let sql = changes_by(
            "problem_changes",
            "problem_id",
            &E::any("t.problem_id", 1),
            ", t.role",
        );
        self.engine.query(&sql, &[Param::Ids(&ids)], |r| {
            let Some(p) = index.get(&r.id(0)?).map(|&i| &mut problems[i]) else {
                return Ok(());
            };
            let change = change_ref(r, 1)?;
            match r.string(4)?.as_str() {
                "start" => p.started_by.push(change),
                _ => p.fixed_by.push(change),
            }
            Ok(())
        })?;
        Ok(problems)
    }

    fn set_link(&mut self, problem: Id, url: &str, open: bool, at: Micros) -> Result<()> {
        let state = if open { "open" } else { "closed" };
        // Updated first: an upsert would take an id from a sequence even when it only updates.
        let sql = format!(
            "UPDATE problem_links SET state = ?3 WHERE problem_id = ?1 AND {}",
            E::same("url", 2)
        );
        if self.exec(&sql, &p![problem, url, state])? == 0 {
            let sql = format!(
                "INSERT INTO problem_links (problem_id, url, state, added_at) \
                 VALUES (?1, ?2, ?3, ?4) {}",
                E::upsert(
                    &format!("problem_id, {}", E::key("url")),
                    "state = excluded.state"
                )
            );
            self.exec(&sql, &p![problem, url, state, at])?;
        }
        Ok(())
    }

    fn remove_link(&mut self, problem: Id, url: &str) -> Result<bool> {
        let sql = format!(
            "DELETE FROM problem_links WHERE problem_id = ?1 AND {}",
            E::same("url", 2)
        );
        Ok(self.exec(&sql, &p![problem, url])? > 0)
    }

    fn links(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<LinkRecord>>> {
        let sql = format!(
            "SELECT problem_id, url, state, added_at FROM problem_links WHERE {} \
             ORDER BY problem_id, added_at, id",
            E::any("problem_id", 1)
        );
        let mut out: HashMap<Id, Vec<LinkRecord>> = HashMap::new();
        self.engine.query(&sql, &[Param::Ids(problems)], |r| {
            let problem = r.id(0)?;
            out.entry(problem).or_default().push(LinkRecord {
                problem,
                url: r.string(1)?,
                open: r.string(2)? == "open",
                added_at: r.id(3)?,
            });
            Ok(())
        })?;
        Ok(out)
    }

    fn add_note(
        &mut self,
        problem: Id,
        text: &str,
        author: Option<&str>,
        at: Micros,
    ) -> Result<Id> {
        self.engine.insert(
            "INSERT INTO problem_notes (problem_id, text, author, added_at) VALUES (?, ?, ?, ?)",
            &p![problem, text, author, at],
        )
    }

    fn notes(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<NoteRecord>>> {
        let sql = format!(
            "SELECT problem_id, id, text, author, added_at FROM problem_notes WHERE {} \
             ORDER BY problem_id, added_at, id",
            E::any("problem_id", 1)
        );
        let mut out: HashMap<Id, Vec<NoteRecord>> = HashMap::new();
        self.engine.query(&sql, &[Param::Ids(problems)], |r| {
            let problem = r.id(0)?;
            out.entry(problem).or_default().push(NoteRecord {
                id: r.id(1)?,
                problem,
                text: r.string(2)?,
                author: r.text(3)?,
                added_at: r.id(4)?,
            });
            Ok(())
        })?;
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
        self.engine.insert(
            "INSERT INTO bad_ranges (builder_id, from_number, to_number, reason, added_at) \
             VALUES (?, ?, ?, ?, ?)",
            &p![builder, from, to, reason, at],
        )
    }

    fn remove_bad_ranges(&mut self, builder: &str, from: i64) -> Result<Vec<BadRange>> {
        let found: Vec<BadRange> = self
            .bad_ranges()?
            .into_iter()
            .filter(|r| r.builder == builder && r.from == from)
            .collect();
        for range in &found {
            self.exec("DELETE FROM bad_ranges WHERE id = ?1", &p![range.id])?;
        }
        Ok(found)
    }

    fn bad_ranges(&mut self) -> Result<Vec<BadRange>> {
        self.all(
            "SELECT r.id, b.name, r.from_number, r.to_number, r.reason, r.added_at \
             FROM bad_ranges r JOIN builders b ON b.id = r.builder_id \
             ORDER BY b.name, r.from_number, r.id",
            &[],
            |r| {
                Ok(BadRange {
                    id: r.id(0)?,
                    builder: r.string(1)?,
                    from: r.id(2)?,
                    to: r.int(3)?,
                    reason: r.string(4)?,
                    added_at: r.id(5)?,
                })
            },
        )
    }

    fn rename_test(&mut self, old: Id, new: Id, at: Micros) -> Result<()> {
        let set = "new_test_id = excluded.new_test_id, renamed_at = excluded.renamed_at";
        let sql = format!(
            "INSERT INTO test_renames (old_test_id, new_test_id, renamed_at) VALUES (?1, ?2, ?3) {}",
            E::upsert("old_test_id", set)
        );
        self.exec(&sql, &p![old, new, at])?;
        Ok(())
    }

    fn renames(&mut self) -> Result<Vec<(Id, Id)>> {
        self.all(
            "SELECT old_test_id, new_test_id FROM test_renames ORDER BY renamed_at, old_test_id",
            &[],
            |r| Ok((r.id(0)?, r.id(1)?)),
        )
    }

    fn move_problems(&mut self, old: Id, new: Id) -> Result<()> {
        // The Problems to move are found first: MySQL cannot read the table an UPDATE writes.
        let ids = self.all(
            "SELECT p.id FROM problems p WHERE p.test_id = ?1 AND NOT EXISTS \
             (SELECT 1 FROM problems q WHERE q.test_id = ?2 AND q.branch = p.branch \
              AND q.first_build_id = p.first_build_id)",
            &p![old, new],
            |r| r.id(0),
        )?;
        if !ids.is_empty() {
            let sql = format!("UPDATE problems SET test_id = ?1 WHERE {}", E::any("id", 2));
            self.exec(&sql, &[new.into(), Param::Ids(&ids)])?;
        }
        Ok(())
    }

    fn failures(&mut self, branch: Option<&str>, since: Option<Micros>) -> Result<Vec<FailureRow>> {
        let sql = format!(
            "SELECT r.test_id, t.name, bl.name, b.number, b.time, b.revision, m.text, r.details, \
             d.data FROM results r JOIN builds b ON b.id = r.build_id \
             LEFT JOIN details d ON d.id = r.details_id \
             JOIN builders bl ON bl.id = b.builder_id JOIN lanes l ON l.id = b.lane_id \
             JOIN tests t ON t.id = r.test_id LEFT JOIN messages m ON m.id = r.message_id \
             WHERE r.status IN ('failed', 'error') AND {} AND b.time >= ?2 \
             ORDER BY b.time, bl.name, b.number, r.test_id",
            E::same("l.branch", 1)
        );
        let since = since.unwrap_or(i64::MIN);
        self.all(&sql, &p![branch.unwrap_or(""), since], |r| {
            Ok(FailureRow {
                test: r.id(0)?,
                test_name: r.bstring(1)?,
                builder: r.string(2)?,
                number: r.id(3)?,
                time: r.id(4)?,
                revision: r.text(5)?,
                message: r.bytes(6)?,
                text: super::details::text_of(r.details(7)?.as_deref()),
            })
        })
    }

    fn notifications(&mut self) -> Result<Vec<NotificationRecord>> {
        self.all(
            "SELECT problem_id, event, target, sent_at, attempts, last_error FROM notifications \
             ORDER BY problem_id, event, target",
            &[],
            |r| {
                Ok(NotificationRecord {
                    problem: r.id(0)?,
                    event: r.string(1)?,
                    target: r.string(2)?,
                    sent_at: r.int(3)?,
                    attempts: r.id(4)?,
                    last_error: r.text(5)?,
                })
            },
        )
    }

    fn record_notification(
        &mut self,
        problem: Id,
        event: &str,
        target: &str,
        sent_at: Option<Micros>,
        error: Option<&str>,
    ) -> Result<()> {
        let set = "sent_at = coalesce(notifications.sent_at, excluded.sent_at), \
             attempts = notifications.attempts + 1, last_error = excluded.last_error";
        let sql = format!(
            "INSERT INTO notifications (problem_id, event, target, sent_at, attempts, last_error) \
             VALUES (?1, ?2, ?3, ?4, 1, ?5) {}",
            E::upsert("problem_id, event, target", set)
        );
        self.exec(&sql, &p![problem, event, target, sent_at, error])?;
        Ok(())
    }

    fn notify_baseline(&mut self) -> Result<Option<Micros>> {
        self.id_of("SELECT set_at FROM notify_baseline WHERE id = 1", &[])
    }

    fn set_notify_baseline(&mut self, at: Micros) -> Result<()> {
        let sql = format!(
            "INSERT INTO notify_baseline (id, set_at) VALUES (1, ?1) {}",
            E::upsert("id", "set_at = excluded.set_at")
        );
        self.exec(&sql, &p![at])?;
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
        self.engine.query(&sql, &[], |r| {
            let cells = (table.columns.iter().enumerate())
                .map(|(i, column)| r.cell(i, column.kind))
                .collect::<Result<Vec<Cell>>>()?;
            Cell::check_row(table, &cells)?;
            each(cells)
        })
    }

    fn write_rows(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()> {
        let mut params = Vec::with_capacity(rows.len() * table.columns.len());
        for row in rows {
            Cell::check_row(table, row)?;
            params.extend(row.iter().zip(table.columns).map(|(cell, column)| {
                match (cell, column.kind) {
                    (Cell::Null, _) => Param::Null,
                    #[allow(clippy::cast_precision_loss)]
                    (Cell::Int(v), ColumnType::Real) => Param::Real(*v as f64),
                    (Cell::Int(v), _) => Param::Int(*v),
                    (Cell::Real(v), _) => Param::Real(*v),
                    (Cell::Text(t), _) => Param::Text(t),
                    (Cell::Bytes(b), ColumnType::Bytes) => Param::Report(b),
                    (Cell::Bytes(b), _) => Param::Blob(b),
                }
            }));
        }
        let head = format!("INSERT INTO {} ({})", table.name, table.column_list());
        self.engine
            .insert_rows(&head, table.columns.len(), "", &params)
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", table.name);
        Ok(self.first(&sql, &[], |r| r.count(0))?.unwrap_or(0))
    }

    fn finish_copy(&mut self) -> Result<()> {
        self.engine.finish_copy()
    }
}

impl<E: Engine> SqlStore<E> {
    /// A Problem's builders and changes, written after its row.
    fn save_problem_parts(&mut self, id: Id, p: &ProblemRecord) -> Result<()> {
        for b in &p.builders {
            let builder = self.create_builder(&b.builder)?;
            self.exec(
                "INSERT INTO problem_builders (problem_id, builder_id, first_number, \
                 last_number, fixed_number) VALUES (?1, ?2, ?3, ?4, ?5)",
                &p![id, builder, b.first_number, b.last_number, b.fixed_number],
            )?;
        }
        let mut rows = Vec::new();
        for (role, changes) in [("start", &p.started_by), ("fix", &p.fixed_by)] {
            for change in changes {
                rows.extend(p![id, role, change.id]);
            }
        }
        let head = "INSERT INTO problem_changes (problem_id, role, change_id)";
        let tail = E::upsert("problem_id, role, change_id", "");
        self.engine.insert_rows(head, 3, &tail, &rows)
    }
}
