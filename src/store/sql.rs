//! The one SQL store: every query and its row mapping, written once over an [`Engine`].
//!
//! Queries are written in SQLite's syntax with `?`/`?N` placeholders; an engine rewrites what it
//! must. The few places where the dialects differ call the engine by name (`E::same`,
//! `E::upsert`, `E::any`, …), and bulk writes go through the engine's bulk methods, which the
//! servers override with their faster ways. `SqlStore<E>` is generic, so a row's columns are read
//! with the engine's own types: nothing is dispatched dynamically per row or value.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use bstr::BString;
use probtrack_parsers::{Kind, Status};
use rustc_hash::FxHashMap;

use super::engine::{marks, p, Engine, Fields, Param};
use super::{
    key, migrate, Acceptance, BadRange, BuildFilter, BuildRecord, BuildRef, Cell, ChangeRecord,
    ChangeRef, Changes, ColumnType, Counts, CoverageBuild, CoverageSpan, Details, FailureRow,
    Forget, Id, LaneBuild, LaneRecord, LinkRecord, MetricPoint, MetricStep, MetricValue, NewBuild,
    NewTest, NoteRecord, NotificationRecord, OpenMode, ProblemBuilder, ProblemFilter,
    ProblemRecord, ResultRecord, ResultTexts, Run, RunsOf, Savepoint, SeriesRecord, Store, Table,
    TestRecord, Tests,
};
use crate::clock::{self, Micros};
use crate::details;
use crate::error::{Error, Result};
use crate::metrics::samples;

pub(super) struct SqlStore<E> {
    pub(super) engine: E,
    /// Message, details and builder ids looked up or created in the current write, by table and
    /// key: a batch of builds repeats the same few texts and names. Forgotten when the write ends
    /// or rolls back.
    text_ids: HashMap<(&'static str, [u8; 16]), Id>,
    /// Changes written in the current write, by revision: their id and what the row is known to
    /// hold (`None`: not known), so that a blamelist that names them again (the next build of
    /// each builder) costs no round trip. Forgotten with `text_ids`.
    changes: HashMap<String, KnownChange>,
    /// Metric series looked up in the current write, by the key of their name: every build has
    /// the same built-in ones. Forgotten with `text_ids`, and where a series is written.
    series: HashMap<[u8; 16], SeriesRecord>,
    /// The tests by key, where [`Store::test_ids`] read the whole table in the current write
    /// ([`SCAN_ROWS_PER_KEY`]), with those it created or changed since (past [`SCANNED_MOST`],
    /// only marked). Forgotten with `text_ids`.
    tests: Option<Scanned>,
    /// Builds created in the current write whose `results` and `metric_values` rows (by table)
    /// have not been written yet: a new build id was never given before (schema 12), so it has
    /// none, and the first write of each goes without deleting old ones (two statements a
    /// build; on a server, a `DELETE` also sends the held writes before it). Forgotten with
    /// `text_ids`.
    fresh: HashSet<(Id, &'static str)>,
}

/// A change's id and the columns it is known to hold: user, time, comments, parents.
type KnownChange = (
    Id,
    Option<Id>,
    Option<Micros>,
    Option<String>,
    Option<String>,
);

/// Rows found by key: their id and one more column. The keys are BLAKE3 hashes already: FxHash
/// hashes them at a fraction of SipHash's cost (here and in [`Scanned`]: a `tests` scan inserts
/// every test, and a report looks up each of its tests).
type Keyed = FxHashMap<[u8; 16], (Id, Option<String>)>;

/// The tests of the table a write knows: their ids by the key of their names, and the runner ids
/// apart, since few tests have one. An entry of `ids` is 24 bytes, not the 48 of a [`Keyed`]
/// one, so that a build of 100,000 new tests holds and rehashes half as much (its peak memory).
///
/// It holds up to [`SCANNED_MOST`] tests; past that, the keys of the ones it does not hold are
/// only marked in `beyond` (a Bloom filter of 1 MiB, four bits a key: it misses none, and at a
/// million tests ~2% of the keys it never saw look marked), and a key marked there is looked
/// up. A build of a million new tests into a fresh database kept them all in the map, ~70 MB of
/// map and of its rehashing (peak RSS 133 MiB against issue 25's 64 MiB line); looked up
/// instead, each new one cost a search.
#[derive(Default)]
struct Scanned {
    ids: FxHashMap<[u8; 16], Id>,
    runners: FxHashMap<Id, String>,
    beyond: Option<Vec<u64>>,
}

/// How many tests a write's map of the `tests` table ([`Scanned`]) holds.
const SCANNED_MOST: usize = 32_768;

/// The bits of [`Scanned`]'s filter of the tests past [`SCANNED_MOST`] (1 MiB).
const BEYOND_BITS: usize = 1 << 23;

/// Where a key's four bits are in the filter: its bytes are a BLAKE3 hash already, so four
/// slices of it are four independent hashes.
fn beyond_bits(key: &[u8; 16]) -> [usize; 4] {
    std::array::from_fn(|i| {
        let slice = [key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]];
        u32::from_le_bytes(slice) as usize % BEYOND_BITS
    })
}

/// What a [`Scanned`] knows of a key.
#[derive(Debug, PartialEq)]
enum Held {
    /// The test's id and runner id.
    Yes(Id, Option<String>),
    /// Surely not in the table.
    No,
    /// Maybe in the table, not held: look it up.
    Maybe,
}

impl Scanned {
    fn get(&self, key: &[u8; 16]) -> Held {
        if let Some(&id) = self.ids.get(key) {
            return Held::Yes(id, self.runners.get(&id).cloned());
        }
        let marked = |bits: &Vec<u64>| {
            (beyond_bits(key).iter()).all(|&b| bits[b / 64] & (1 << (b % 64)) != 0)
        };
        match &self.beyond {
            Some(bits) if marked(bits) => Held::Maybe,
            _ => Held::No,
        }
    }

    /// Keeps a test as found or created (a test it holds takes the runner id given); past
    /// [`SCANNED_MOST`], a test new to it is marked in the filter instead.
    fn insert(&mut self, key: [u8; 16], (id, runner): (Id, Option<String>)) {
        if self.ids.len() >= SCANNED_MOST && !self.ids.contains_key(&key) {
            let bits = (self.beyond).get_or_insert_with(|| vec![0; BEYOND_BITS / 64]);
            for b in beyond_bits(&key) {
                bits[b / 64] |= 1 << (b % 64);
            }
            return;
        }
        self.ids.insert(key, id);
        match runner {
            Some(runner) => self.runners.insert(id, runner),
            None => self.runners.remove(&id),
        };
    }
}

/// In a file, [`Store::test_ids`] reads the whole `tests` table once a write, rather than look
/// its keys up, when asked for at least [`SCAN_KEYS_FROM`] tests and the table's highest id (a
/// bound on its rows) is at most this many times as many: SQLite finds `name_hash IN (…)` at
/// ~9,000 instructions a key (sorting the list, then a search of the index and of the table per
/// key) and scans a row at ~1,500 (docs/performance.md, *one more ingest: the instructions*).
/// A report's tests come in batches of 2,048: one more build of a lane of 10,000 tests was five
/// batches looked up, now one scan.
const SCAN_ROWS_PER_KEY: usize = 8;

/// How many tests [`Store::test_ids`] must be asked for before it reads the whole `tests` table
/// ([`SCAN_ROWS_PER_KEY`]): fewer are looked up by key.
const SCAN_KEYS_FROM: usize = 256;

/// Up to how many lanes [`Store::tests_runs`] reads a file's runs a lane at a time.
const LANES_READ_APART: usize = 16;

impl<E: Engine> SqlStore<E> {
    /// The store over a connected engine, its schema checked and migrated.
    pub(super) fn open(mut engine: E, mode: OpenMode) -> Result<Self> {
        migrate::prepare(&mut engine, mode)?;
        Ok(SqlStore {
            engine,
            text_ids: HashMap::new(),
            changes: HashMap::new(),
            series: HashMap::new(),
            tests: None,
            fresh: HashSet::new(),
        })
    }

    /// Forgets what the current write looked up or wrote (it ends, or rolls back).
    fn forget_write(&mut self) {
        self.text_ids.clear();
        self.changes.clear();
        self.series.clear();
        self.tests = None;
        self.fresh.clear();
    }

    /// Every test by the key of its name, read whole where [`SCAN_ROWS_PER_KEY`] says (`None`:
    /// look `keys` up instead).
    fn scanned_tests(&mut self, keys: usize) -> Result<Option<&Scanned>> {
        if self.tests.is_none() && !self.engine.is_server() && keys >= SCAN_KEYS_FROM {
            let highest = self
                .engine
                .first("SELECT max(id) FROM tests", &[], |r| r.int(0))?;
            let highest = highest.flatten().unwrap_or(0);
            // A table larger than the map would be scanned only to be looked up again.
            if highest <= (keys * SCAN_ROWS_PER_KEY).min(SCANNED_MOST) as i64 {
                let mut all = Scanned {
                    ids: FxHashMap::with_capacity_and_hasher(
                        highest.max(0) as usize,
                        Default::default(),
                    ),
                    runners: FxHashMap::default(),
                    beyond: None,
                };
                self.engine
                    .query("SELECT name_hash, id, runner_id FROM tests", &[], |r| {
                        if let Some(k) = r.key(0)? {
                            all.insert(k, (r.id(1)?, r.text(2)?));
                        }
                        Ok(())
                    })?;
                self.tests = Some(all);
            }
        }
        Ok(self.tests.as_ref())
    }

    /// Runs a write whose answer nothing reads (it may be held: [`Store::hold_writes`]).
    fn run(&mut self, sql: &str, params: &[Param<'_>]) -> Result<()> {
        self.engine.send(sql, params)
    }

    /// The rows of a query of the ids in parameter 1, grouped by their first column (an id).
    fn grouped<T>(
        &mut self,
        sql: &str,
        ids: &[Id],
        mut map: impl FnMut(&E::Row<'_>) -> Result<T>,
    ) -> Result<HashMap<Id, Vec<T>>> {
        let mut out: HashMap<Id, Vec<T>> = HashMap::new();
        self.engine.query(sql, &[Param::Ids(ids)], |r| {
            out.entry(r.id(0)?).or_default().push(map(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Deletes the rows of each of `tables` whose `column` is `id`.
    fn delete(&mut self, tables: &[&str], column: &str, id: Id) -> Result<()> {
        for table in tables {
            let sql = format!("DELETE FROM {table} WHERE {column} = ?1");
            self.run(&sql, &p![id])?;
        }
        Ok(())
    }

    /// The ids of the tests of `kind` named `names`, created where new.
    fn tests_of_kind<'n>(
        &mut self,
        names: impl Iterator<Item = &'n [u8]>,
        kind: Kind,
    ) -> Result<Vec<Id>> {
        let tests: Vec<NewTest> = names
            .map(|name| NewTest {
                name: name.into(),
                kind,
                file: None,
                runner_id: None,
            })
            .collect();
        self.test_ids(&tests)
    }

    fn id_of(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Id>> {
        self.engine.first(sql, params, |r| r.id(0))
    }

    /// The id of the row of `table` whose `columns` hold `params` (the last a text looked up with
    /// `E::same`), created if there is none. Looking up first spends no id of a sequence on a row
    /// that exists.
    fn get_or_create(&mut self, table: &str, columns: &[&str], params: &[Param<'_>]) -> Result<Id> {
        let n = columns.len();
        let mut find: Vec<String> = (columns[..n - 1].iter().enumerate())
            .map(|(i, c)| eq(c, i + 1))
            .collect();
        find.push(E::same(columns[n - 1], n));
        let select = format!("SELECT id FROM {table} WHERE {}", find.join(" AND "));
        if let Some(id) = self.id_of(&select, params)? {
            return Ok(id);
        }
        let mut target = columns[..n - 1].to_vec();
        let key = E::key(columns[n - 1]);
        target.push(&key);
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({}) {}",
            columns.join(", "),
            marks(n),
            E::upsert(&target.join(", "), "")
        );
        self.run(&insert, params)?;
        self.id_of(&select, params)?
            .ok_or_else(|| Error::database("database error: a row vanished while being created"))
    }

    /// Rows of `table` by their 16-byte `key` column: the id and `extra` column of each found.
    fn find_keyed(
        &mut self,
        table: &str,
        key: &str,
        extra: &str,
        keys: &[[u8; 16]],
    ) -> Result<Keyed> {
        let mut found = Keyed::with_capacity_and_hasher(keys.len(), Default::default());
        let head = format!("SELECT {key}, id, {extra} FROM {table} WHERE");
        self.engine.query_keys(&head, key, keys, |r| {
            if let Some(k) = r.key(0)? {
                found.insert(k, (r.id(1)?, r.text(2)?));
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Creates rows of `table` keyed by `keys` (the first of `columns`; `rows` holds their
    /// values), and adds their ids to `found`: those the insert told with no `extra` (their keys
    /// returned), the others looked up with it (also those another process created meanwhile).
    fn create_keyed(
        &mut self,
        table: &str,
        (columns, extra): (&str, &str),
        keys: &[[u8; 16]],
        rows: &[Param<'_>],
        found: &mut Keyed,
    ) -> Result<Vec<[u8; 16]>> {
        let mut created = Vec::with_capacity(keys.len());
        for (k, id) in self.engine.insert_keyed(table, columns, rows, keys)? {
            found.insert(k, (id, None));
            created.push(k);
        }
        let missing: Vec<[u8; 16]> = (keys.iter())
            .filter(|k| !found.contains_key(*k))
            .copied()
            .collect();
        if !missing.is_empty() {
            let key = columns.split(',').next().unwrap_or_default();
            found.extend(self.find_keyed(table, key, extra, &missing)?);
        }
        match keys.iter().all(|k| found.contains_key(k)) {
            true => Ok(created),
            false => Err(Error::database(format!(
                "database error: a row of `{table}` vanished while being created"
            ))),
        }
    }

    /// The ids of messages (report texts stored once, by key: `texts[i]` is `keys[i]`'s), each
    /// created where new.
    fn message_ids(&mut self, keys: &[[u8; 16]], texts: &[&[u8]]) -> Result<HashMap<[u8; 16], Id>> {
        self.stored_ids("messages", keys, |_, new| {
            Ok(new
                .iter()
                .map(|&i| (Cow::Borrowed(texts[i]), None))
                .collect())
        })
    }

    /// The ids of the rows stored once by key (`messages`, `details`, `compiled_sets`) for
    /// `keys`, the missing ones created in the order of their keys from what `make` makes of
    /// their indexes, all at once: each one's stored form and, for `details`, its base.
    fn stored_ids<'v>(
        &mut self,
        table: &'static str,
        keys: &[[u8; 16]],
        make: impl FnOnce(&mut Self, &[usize]) -> Result<Vec<(Cow<'v, [u8]>, Option<Id>)>>,
    ) -> Result<HashMap<[u8; 16], Id>> {
        let mut ids = HashMap::with_capacity(keys.len());
        let (mut wanted, mut seen) = (Vec::new(), HashSet::new());
        for (i, k) in keys.iter().enumerate() {
            if let Some(&id) = self.text_ids.get(&(table, *k)) {
                ids.insert(*k, id);
            } else if seen.insert(*k) {
                wanted.push(i);
            }
        }
        if wanted.is_empty() {
            return Ok(ids);
        }
        let wanted_keys: Vec<[u8; 16]> = wanted.iter().map(|&i| keys[i]).collect();
        let mut found = self.find_keyed(table, "hash", "NULL", &wanted_keys)?;
        // Created in the order of their keys, so that two ingests creating some of the same rows
        // at once wait for each other rather than deadlock.
        let mut new: Vec<usize> = (wanted.into_iter())
            .filter(|&i| !found.contains_key(&keys[i]))
            .collect();
        new.sort_by_key(|&i| keys[i]);
        if !new.is_empty() {
            // Made (a details object packed) only where new: deflating is the costly part.
            let values = make(self, &new)?;
            let new_keys: Vec<[u8; 16]> = new.iter().map(|&i| keys[i]).collect();
            let columns = match table {
                "details" => "hash, data, base_id",
                "compiled_sets" => "hash, files",
                _ => "hash, text",
            };
            let mut rows = Vec::with_capacity(new.len() * 3);
            for (k, (v, base)) in new_keys.iter().zip(&values) {
                rows.push(Param::Blob(k));
                match table {
                    "details" => rows.extend([Param::Blob(v), Param::from(*base)]),
                    "compiled_sets" => rows.push(Param::Blob(v)),
                    _ => rows.push(Param::Report(v)),
                }
            }
            self.create_keyed(table, (columns, "NULL"), &new_keys, &rows, &mut found)?;
        }
        for (k, (id, _)) in found {
            self.text_ids.insert((table, k), id);
            ids.insert(k, id);
        }
        Ok(ids)
    }

    /// The stored forms of new details objects of `build`, each a result's of the test beside it:
    /// deflated against the test's current base on the build's lane where that makes it at most
    /// four fifths of the base's stored size (it resembles the base), else alone (and so a base
    /// for the next ones). See [`details`]: a base is an object stored alone, so no object needs
    /// more than two rows. The current base is the base of the test's newest object on the lane
    /// (by its result's build id), or that object where it is stored alone.
    fn pack_details<'d>(
        &mut self,
        build: Id,
        new: &[(Id, &'d Details)],
    ) -> Result<Vec<Packed<'d>>> {
        // Each test's current base with its data, in one query. On SQLite and MariaDB a test's
        // results are walked newest first (`results_test` holds the build id after the test's)
        // back to its newest one on the lane with details, passing its results on other lanes
        // and those without details; PostgreSQL, whose index is not in build order, reads the
        // test's results on the lane and sorts them. Grouping every base of the test on the lane
        // read its results in all the lane's builds: a fifth of an import's database thread at
        // 1,000 builds (docs/performance.md, *an import's details bases*).
        let tests = sorted_ids(new.iter().map(|(test, _)| *test));
        let sql = format!(
            "SELECT n.test_id, d.id, d.data FROM (SELECT t.id AS test_id, \
             (SELECT coalesce(o.base_id, o.id) FROM results r \
             JOIN builds b ON b.id = r.build_id JOIN details o ON o.id = r.details_id \
             WHERE r.test_id = t.id AND b.lane_id = l.lane_id \
             ORDER BY r.build_id DESC LIMIT 1) AS base \
             FROM tests t, (SELECT lane_id FROM builds WHERE id = ?1) l WHERE {}) n \
             JOIN details d ON d.id = n.base",
            E::any("t.id", 2)
        );
        let mut newest: HashMap<Id, Id> = HashMap::with_capacity(tests.len());
        let mut bases: HashMap<Id, (String, usize)> = HashMap::new();
        self.engine
            .query(&sql, &[build.into(), Param::Ids(&tests)], |r| {
                let (test, id) = (r.id(0)?, r.id(1)?);
                newest.insert(test, id);
                if !bases.contains_key(&id) {
                    let base =
                        r.with_bytes(2, |b| b.and_then(|b| Some((details::unpack(b)?, b.len()))))?;
                    bases.extend(base.map(|base| (id, base)));
                }
                Ok(())
            })?;
        Ok(new
            .iter()
            .map(|(test, object)| {
                let based = newest.get(test).and_then(|id| Some((*id, bases.get(id)?)));
                // (An object whose text does not inflate again is stored alone.)
                let based = based.zip(object.try_text());
                if let Some(((id, (base, size)), text)) = based {
                    let on = details::pack_on(&text, base);
                    if details::resembles(on.len(), *size) {
                        return (Cow::Owned(on), Some(id));
                    }
                }
                (object.packed(), None)
            })
            .collect())
    }

    /// Writes results of `build` (after [`Store::replace_build_results`] deleted its old ones).
    fn insert_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()> {
        let texts: Vec<&[u8]> = (results.iter().filter_map(|r| r.message.as_ref()))
            .map(|m| m.as_slice())
            .collect();
        let text_keys: Vec<[u8; 16]> = texts.iter().map(|t| key(t)).collect();
        let messages = self.message_ids(&text_keys, &texts)?;
        let objects: Vec<(Id, &Details)> = (results.iter())
            .filter_map(|r| Some((r.test, r.details.as_ref()?)))
            .collect();
        let object_keys: Vec<[u8; 16]> = objects.iter().map(|(_, d)| d.key()).collect();
        let details = self.stored_ids("details", &object_keys, |store, new| {
            let new: Vec<(Id, &Details)> = new.iter().map(|&i| objects[i]).collect();
            store.pack_details(build, &new)
        })?;
        let (mut text_keys, mut object_keys) = (text_keys.iter(), object_keys.iter());
        let mut rows = Vec::with_capacity(results.len() * 7);
        for r in results {
            let message = r.message.as_ref().and_then(|_| text_keys.next());
            let detail = r.details.as_ref().and_then(|_| object_keys.next());
            rows.extend(p![build, r.test, r.status.as_str(), r.duration]);
            rows.extend(p![
                message.map(|k| messages[k]),
                r.attempts,
                detail.map(|k| details[k])
            ]);
        }
        let head = "INSERT INTO results (build_id, test_id, status, duration, message_id, \
             attempts, details_id)";
        self.engine.insert_rows(head, 7, "", &rows)
    }

    /// Writes a change: its row updated where its revision is stored (what is known about a
    /// change only grows: a later, fuller record fills in the blanks), else inserted.
    fn write_change(&mut self, c: &ChangeRecord, user: Option<Id>) -> Result<Id> {
        let mut values = p![&c.revision, user, c.time, &c.comments, &c.parents];
        let find = format!("SELECT id FROM changes WHERE {}", E::same("revision", 1));
        if let Some(id) = self.id_of(&find, &values[..1])? {
            values[0] = id.into();
            self.run(
                "UPDATE changes SET user_id = coalesce(?2, user_id), time = coalesce(?3, time), \
                 comments = coalesce(?4, comments), parents = coalesce(?5, parents) WHERE id = ?1",
                &values,
            )?;
            return Ok(id);
        }
        let set = "user_id = coalesce(excluded.user_id, changes.user_id), \
             time = coalesce(excluded.time, changes.time), \
             comments = coalesce(excluded.comments, changes.comments), \
             parents = coalesce(excluded.parents, changes.parents)";
        let insert = format!(
            "INSERT INTO changes (revision, user_id, time, comments, parents) VALUES (?, ?, ?, ?, ?) {}",
            E::upsert(&E::key("revision"), set)
        );
        self.run(&insert, &values)?;
        self.id_of(&find, &values[..1])?
            .ok_or_else(|| Error::database("database error: a change vanished while being created"))
    }

    /// Stores a change, or adds to what is known of it; returns its id.
    fn upsert_change(&mut self, change: &ChangeRecord) -> Result<Id> {
        let user = match &change.author {
            Some(author) => {
                let k = ("users", key(author.as_bytes()));
                match self.text_ids.get(&k) {
                    Some(&id) => Some(id),
                    None => {
                        let id = self.get_or_create("users", &["name"], &p![author])?;
                        self.text_ids.insert(k, id);
                        Some(id)
                    }
                }
            }
            None => None,
        };
        let c = change;
        // Written before in this write, and holding what this record says: nothing to do.
        if let Some((id, u, t, comments, parents)) = self.changes.get(&c.revision) {
            let same = |given: bool, held: bool| !given || held;
            if same(user.is_some(), user == *u)
                && same(c.time.is_some(), c.time == *t)
                && same(c.comments.is_some(), c.comments == *comments)
                && same(c.parents.is_some(), c.parents == *parents)
            {
                return Ok(*id);
            }
        }
        let id = self.write_change(c, user)?;
        // What the row holds now: what was given, and what was known of the rest.
        let before = self.changes.remove(&c.revision);
        let (_, u, t, comments, parents) = before.unwrap_or((id, None, None, None, None));
        let now = (
            id,
            user.or(u),
            c.time.or(t),
            c.comments.clone().or(comments),
            c.parents.clone().or(parents),
        );
        self.changes.insert(c.revision.clone(), now);
        Ok(id)
    }

    /// A Problem's builders and changes, written after its row.
    fn save_problem_parts(&mut self, id: Id, p: &ProblemRecord) -> Result<()> {
        self.save_problem_builders(id, p)?;
        self.save_problem_changes(id, p)?;
        if p.id != 0 {
            // A new Problem has no metric row yet.
            self.run("DELETE FROM problem_metrics WHERE problem_id = ?1", &p![id])?;
        }
        self.save_problem_metric(id, p)
    }

    fn save_problem_builders(&mut self, id: Id, p: &ProblemRecord) -> Result<()> {
        let mut rows = Vec::with_capacity(p.builders.len() * 5);
        for b in &p.builders {
            let builder = self.create_builder(&b.builder)?;
            rows.extend(p![
                id,
                builder,
                b.first_number,
                b.last_number,
                b.fixed_number
            ]);
        }
        let head = "INSERT INTO problem_builders (problem_id, builder_id, first_number, \
             last_number, fixed_number)";
        self.engine.insert_rows(head, 5, "", &rows)
    }

    fn save_problem_changes(&mut self, id: Id, p: &ProblemRecord) -> Result<()> {
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

    fn save_problem_metric(&mut self, id: Id, p: &ProblemRecord) -> Result<()> {
        if let Some(m) = &p.metric {
            let a = m.accepted.as_ref();
            self.run(
                "INSERT INTO problem_metrics (problem_id, step, before_level, after_level, z, \
                 accepted_by, accepted_reason, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &p![
                    id,
                    m.step.as_str(),
                    m.before,
                    m.after,
                    m.z,
                    a.map(|a| a.by.as_str()),
                    a.map(|a| a.reason.as_str()),
                    a.map(|a| a.at)
                ],
            )?;
        }
        Ok(())
    }

    /// A Problem's row as `problems` holds it: the values of [`PROBLEM_COLUMNS`] (without
    /// `message_id` where `message` is `None`), then its id.
    fn problem_row<'p>(p: &'p ProblemRecord, message: Option<Option<Id>>) -> Vec<Param<'p>> {
        let (first, last, fixed) = (&p.first_failure, &p.last_failure, p.fixed.as_ref());
        let mut values = p![p.test, p.branch.as_deref().unwrap_or(""), p.first_build].to_vec();
        for b in [Some(first), Some(last), fixed] {
            let revision = b.and_then(|b| b.revision.as_deref());
            values.extend(p![b.map(|b| b.builder.as_str()), b.map(|b| b.number)]);
            values.extend(p![b.map(|b| b.time), revision]);
        }
        let now = clock::to_micros(clock::now());
        values.extend(p![p.state(), p.intermittent, p.failures]);
        if let Some(message) = message {
            values.push(message.into());
        }
        values.extend(p![now, &p.cluster, p.id]);
        values
    }

    /// The id of a Problem's message (created where new).
    fn problem_message(&mut self, p: &ProblemRecord) -> Result<Option<Id>> {
        Ok(match &p.message {
            Some(text) => {
                let k = key(text);
                Some(self.message_ids(&[k], &[text.as_slice()])?[&k])
            }
            None => None,
        })
    }
}

/// How many results `replace_build_results` writes at a time.
const RESULT_ROWS: usize = 4096;

/// How many ids one query of a list of ids takes.
const IDS_PER_QUERY: usize = 10_000;

/// How many `(build, test)` pairs one query of `results_of` takes (two parameters each).
const PAIRS_PER_QUERY: usize = 512;

/// The condition that `results r` is one of `pairs` (`(build, test)`, a non-empty chunk of at
/// most [`PAIRS_PER_QUERY`]), and its parameters: as many pairs as the next power of two (the last
/// repeated), so that a few shapes of the statement, which the engines keep prepared, serve every
/// count. (512 pairs nest ~514 deep, under SQLite's expression depth limit of 1,000.)
fn pairs_where(pairs: &[(Id, Id)]) -> (String, Vec<Param<'static>>) {
    let n = pairs.len().next_power_of_two();
    let last = pairs[pairs.len() - 1];
    let mut args: Vec<Param<'static>> = Vec::with_capacity(2 * n);
    let mut or = Vec::with_capacity(n);
    for i in 0..n {
        let (build, test) = pairs.get(i).copied().unwrap_or(last);
        args.extend(p![build, test]);
        or.push(format!(
            "(r.build_id = ?{} AND r.test_id = ?{})",
            2 * i + 1,
            2 * i + 2
        ));
    }
    (or.join(" OR "), args)
}

/// Drops the parts of the metric state (`metrics::state`) of the lane of build ?1 that may hold
/// that build or a later one (their newest build numbered at least ?2's): their values would be
/// stale; the parts before stay.
const DROP_METRIC_STATE: &str = "DELETE FROM metric_state WHERE lane_id = \
     (SELECT lane_id FROM builds WHERE id = ?1) AND last_number >= \
     (SELECT number FROM builds WHERE id = ?2)";

/// A query's `WHERE` conditions and their parameters, each condition added where it has a value.
struct Conditions<'a> {
    sql: String,
    args: Vec<Param<'a>>,
}

impl<'a> Conditions<'a> {
    fn new(select: &str) -> Self {
        let (sql, args) = (format!("{select} WHERE 1 = 1"), Vec::new());
        Conditions { sql, args }
    }

    /// `AND test(column, its parameter)`, where there is a value: `eq`, `E::same`, `E::any`.
    fn and(&mut self, test: fn(&str, usize) -> String, column: &str, value: Option<Param<'a>>) {
        if let Some(value) = value {
            self.args.push(value);
            self.sql += &format!(" AND {}", test(column, self.args.len()));
        }
    }
}

/// `column` equals parameter `at`.
fn eq(column: &str, at: usize) -> String {
    format!("{column} = ?{at}")
}

/// Ids sorted and without repeats: queries in chunks of them answer in id order overall.
fn sorted_ids(ids: impl IntoIterator<Item = Id>) -> Vec<Id> {
    let mut ids: Vec<Id> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// A details object as stored: its bytes, and the base it was deflated against, if any.
type Packed<'d> = (Cow<'d, [u8]>, Option<Id>);

/// The index of the first appearance of each key that `found` lacks.
fn first_missing<T, S: std::hash::BuildHasher>(
    keys: &[[u8; 16]],
    found: &HashMap<[u8; 16], T, S>,
) -> Vec<usize> {
    let mut seen = HashSet::new();
    (0..keys.len())
        .filter(|&i| !found.contains_key(&keys[i]) && seen.insert(keys[i]))
        .collect()
}

/// A `LIMIT` written into a statement (every engine takes an `i64`). A bound `LIMIT ?` would
/// do, but SQLite plans with its value and so prepares such a statement again at each binding.
fn literal_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

const BUILDS: &str = "SELECT b.id, bl.name, b.number, b.lane_id, l.branch, b.revision, b.time, \
     b.result, b.properties, b.clean, b.passed, b.failed, b.error, b.skipped, \
     b.expected_failure, b.unexpected_success, b.flaky FROM builds b \
     JOIN builders bl ON bl.id = b.builder_id JOIN lanes l ON l.id = b.lane_id";

fn build_record(r: &impl Fields) -> Result<BuildRecord> {
    Ok(BuildRecord {
        id: r.id(0)?,
        builder: r.string(1)?,
        number: r.id(2)?,
        lane: r.id(3)?,
        branch: r.branch(4)?,
        revision: r.text(5)?,
        time: r.id(6)?,
        result: r.text(7)?,
        properties: r.string(8)?,
        clean: r.flag(9)?,
        counts: Counts {
            passed: r.count(10)?,
            failed: r.count(11)?,
            error: r.count(12)?,
            skipped: r.count(13)?,
            expected_failure: r.count(14)?,
            unexpected_success: r.count(15)?,
            flaky: r.count(16)?,
        },
    })
}

const TESTS: &str = "SELECT id, name, kind, file, runner_id FROM tests";

fn test_record(r: &impl Fields) -> Result<TestRecord> {
    Ok(TestRecord {
        id: r.id(0)?,
        name: r.bstring(1)?,
        kind: r.kind(2)?,
        file: r.bytes(3)?,
        runner_id: r.text(4)?,
    })
}

/// What `result_record` reads, and the build: `results r`, `messages m`, `details d` and its
/// base `db`.
const RESULTS: &str = "SELECT r.test_id, r.status, r.duration, m.text, r.attempts, r.details, \
     d.data, db.data, r.build_id FROM results r LEFT JOIN messages m ON m.id = r.message_id \
     LEFT JOIN details d ON d.id = r.details_id LEFT JOIN details db ON db.id = d.base_id";

/// [`RESULTS`] without the details: their columns are NULL.
const RESULTS_BRIEF: &str = "SELECT r.test_id, r.status, r.duration, m.text, r.attempts, NULL, \
     NULL, NULL, r.build_id FROM results r LEFT JOIN messages m ON m.id = r.message_id";

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

const CHANGES: &str = "SELECT c.revision, u.name, c.time, c.comments, c.parents FROM changes c \
     LEFT JOIN users u ON u.id = c.user_id";

fn change_record(r: &impl Fields) -> Result<ChangeRecord> {
    Ok(ChangeRecord {
        revision: r.string(0)?,
        author: r.text(1)?,
        time: r.int(2)?,
        comments: r.text(3)?,
        parents: r.text(4)?,
    })
}

/// `(column, change id, revision, author, extra)` of `table`'s changes (a blamelist or a Problem's
/// suspects) where `condition`, in blamelist order.
fn change_refs(table: &str, column: &str, condition: &str, extra: &str) -> String {
    format!(
        "SELECT t.{column}, c.id, c.revision, u.name{extra} FROM {table} t \
         JOIN changes c ON c.id = t.change_id LEFT JOIN users u ON u.id = c.user_id \
         WHERE {condition} ORDER BY t.{column}, coalesce(c.time, 0), c.revision"
    )
}

fn change_ref(r: &impl Fields) -> Result<ChangeRef> {
    Ok(ChangeRef {
        id: r.id(1)?,
        revision: r.string(2)?,
        author: r.text(3)?,
    })
}

const PROBLEM_COLUMNS: &str = "test_id, branch, first_build_id, first_builder, first_number, \
     first_time, first_revision, last_builder, last_number, last_time, last_revision, \
     fixed_builder, fixed_number, fixed_time, fixed_revision, state, intermittent, failures, \
     message_id, updated_at, cluster";

const PROBLEMS: &str = "SELECT p.id, p.test_id, t.name, t.kind, p.branch, p.first_build_id, \
     p.first_builder, p.first_number, p.first_time, p.first_revision, \
     p.last_builder, p.last_number, p.last_time, p.last_revision, \
     p.fixed_builder, p.fixed_number, p.fixed_time, p.fixed_revision, \
     p.state, p.intermittent, p.failures, m.text, p.cluster \
     FROM problems p JOIN tests t ON t.id = p.test_id \
     LEFT JOIN messages m ON m.id = p.message_id";

fn build_ref(r: &impl Fields, at: usize) -> Result<Option<BuildRef>> {
    let Some(builder) = r.text(at)? else {
        return Ok(None);
    };
    let (number, time, revision) = (r.id(at + 1)?, r.id(at + 2)?, r.text(at + 3)?);
    Ok(Some(BuildRef {
        builder,
        number,
        time,
        revision,
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
        metric: None,
    })
}

/// A run from `(…, first_number, status)` at columns 1 and 2.
fn run_record(r: &impl Fields) -> Result<Run> {
    Ok(Run {
        first: r.id(1)?,
        status: r.opt_status(2)?,
    })
}

/// Adds a row of `test_id, first_number, status` to the runs by test read so far (rows by test).
fn group_runs(out: &mut Vec<(Id, Vec<Run>)>, r: &impl Fields) -> Result<()> {
    let (by, run) = (r.id(0)?, run_record(r)?);
    match out.last_mut() {
        Some((last, runs)) if *last == by => runs.push(run),
        _ => out.push((by, vec![run])),
    }
    Ok(())
}

impl<E: Engine> Store for SqlStore<E> {
    fn begin_write(&mut self) -> Result<()> {
        self.forget_write();
        self.engine.begin_write()
    }

    fn begin_ingest(&mut self) -> Result<()> {
        self.forget_write();
        self.engine.begin_ingest()
    }

    fn hold_writes(&mut self) {
        self.engine.hold_writes();
    }

    fn send_held(&mut self) -> Result<()> {
        self.engine.send_held()
    }

    fn lock(&mut self, scope: super::Lock<'_>) -> Result<bool> {
        self.engine.lock_key(scope.key())
    }

    fn commit(&mut self) -> Result<()> {
        self.forget_write();
        self.engine.commit()
    }

    fn rollback(&mut self) -> Result<()> {
        self.forget_write();
        self.engine.rollback()
    }

    fn savepoint(&mut self, step: Savepoint) -> Result<()> {
        match step {
            // The same words on every engine.
            Savepoint::Mark => self.engine.batch("SAVEPOINT build"),
            Savepoint::Keep => self.engine.batch("RELEASE SAVEPOINT build"),
            Savepoint::Undo => {
                self.forget_write();
                self.engine.batch("ROLLBACK TO SAVEPOINT build")?;
                self.engine.batch("RELEASE SAVEPOINT build")
            }
        }
    }

    fn create_builder(&mut self, name: &str) -> Result<Id> {
        // Every Problem saved names its builders: looked up once a write.
        let k = ("builders", key(name.as_bytes()));
        if let Some(&id) = self.text_ids.get(&k) {
            return Ok(id);
        }
        if !self.text_ids.contains_key(&("builders", [0; 16])) {
            // Every builder at once, the first time: judging names a Problem's builders under
            // the branch's lock, where each lookup would be a round trip the other writers wait
            // for. (The all-zero key marks the table read; no name hashes to it.)
            let all = self.engine.all("SELECT id, name FROM builders", &[], |r| {
                Ok((r.id(0)?, r.bytes(1)?.unwrap_or_default()))
            })?;
            for (id, name) in all {
                self.text_ids.insert(("builders", key(&name)), id);
            }
            self.text_ids.insert(("builders", [0; 16]), 0);
            if let Some(&id) = self.text_ids.get(&k) {
                return Ok(id);
            }
        }
        let id = self.get_or_create("builders", &["name"], &p![name])?;
        self.text_ids.insert(k, id);
        Ok(id)
    }

    fn lane_id(&mut self, builder: Id, branch: Option<&str>) -> Result<Id> {
        // Every build written looks its lane up: once a write.
        let branch = branch.unwrap_or("");
        let k = ("lanes", key(format!("{builder}\0{branch}").as_bytes()));
        if let Some(&id) = self.text_ids.get(&k) {
            return Ok(id);
        }
        let id = self.get_or_create("lanes", &["builder_id", "branch"], &p![builder, branch])?;
        self.text_ids.insert(k, id);
        Ok(id)
    }

    fn lanes(&mut self) -> Result<Vec<LaneRecord>> {
        self.engine.all(
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
        self.run(
            // (The largest integer is no cut: what a prune before schema 12 recorded on a lane it
            // emptied.)
            "UPDATE lanes SET pruned_before = CASE WHEN pruned_before IS NULL \
             OR pruned_before < ?2 OR pruned_before = ?3 THEN ?2 ELSE pruned_before END \
             WHERE id = ?1",
            &p![lane, number, i64::MAX],
        )
    }

    fn save_build(&mut self, id: Option<Id>, b: &NewBuild) -> Result<Id> {
        let Some(id) = id else {
            let id = self.engine.insert(
                "INSERT INTO builds (lane_id, revision, time, result, properties, clean, \
                 ingested_at, builder_id, number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &build_values(b, b.builder, b.number),
            )?;
            self.fresh.extend([(id, "results"), (id, "metric_values")]);
            return Ok(id);
        };
        // It may move to another lane: the metric state of its lane goes.
        self.run(DROP_METRIC_STATE, &p![id, id])?;
        self.run(
            "UPDATE builds SET lane_id = ?1, revision = ?2, time = ?3, result = ?4, \
             properties = ?5, clean = ?6, ingested_at = ?7 WHERE id = ?8",
            &build_values(b, id, 0)[..8],
        )?;
        Ok(id)
    }

    fn set_build_outcome(&mut self, id: Id, c: &Counts, durations: &[u8]) -> Result<()> {
        let (passed, failed, error, skipped) = (c.passed, c.failed, c.error, c.skipped);
        let (expected, unexpected, flaky) = (c.expected_failure, c.unexpected_success, c.flaky);
        let values = p![passed, failed, error, skipped, expected, unexpected, flaky, durations, id];
        self.run(
            "UPDATE builds SET passed = ?, failed = ?, error = ?, skipped = ?, \
             expected_failure = ?, unexpected_success = ?, flaky = ?, durations = ? WHERE id = ?",
            &values,
        )
    }

    fn forget_build(&mut self, id: Id, what: Forget) -> Result<()> {
        if !matches!(what, Forget::Blamelist) {
            // Before the build's row goes: the lane's metric state holds its values.
            self.run(DROP_METRIC_STATE, &p![id, id])?;
        }
        match what {
            Forget::Blamelist => self.delete(&["build_changes"], "build_id", id),
            Forget::Results => self.delete(
                &[
                    "reports",
                    "results",
                    "build_changes",
                    "metric_values",
                    "coverage_spans",
                    "coverage_builds",
                ],
                "build_id",
                id,
            ),
            Forget::Build => self.delete(&["builds"], "id", id),
        }
    }

    fn lanes_builds(&mut self, lanes: &[Id]) -> Result<HashMap<Id, Vec<LaneBuild>>> {
        let sql = format!(
            "SELECT lane_id, number, id, revision, time, clean, compiled_id FROM builds \
             WHERE {} ORDER BY lane_id, number",
            E::any("lane_id", 1)
        );
        self.grouped(&sql, lanes, |r| {
            Ok(LaneBuild {
                number: r.id(1)?,
                id: r.id(2)?,
                revision: r.text(3)?,
                time: r.id(4)?,
                clean: r.flag(5)?,
                compiled: r.int(6)?,
            })
        })
    }

    fn set_compiled(&mut self, build: Id, files: &[BString]) -> Result<()> {
        let mut set: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
        set.sort_unstable();
        set.dedup();
        let id = if set.is_empty() {
            None
        } else {
            // Paths hold no NUL: the files, sorted, NUL between them, deflated.
            let text = set.join(&0u8);
            let k = key(&text);
            let ids = self.stored_ids("compiled_sets", &[k], |_, _| {
                Ok(vec![(Cow::Owned(details::pack_bytes(&text)), None)])
            })?;
            ids.get(&k).copied()
        };
        self.run(
            "UPDATE builds SET compiled_id = ?2 WHERE id = ?1",
            &p![build, id],
        )
    }

    fn compiled_sets(&mut self, sets: &[Id]) -> Result<HashMap<Id, Vec<BString>>> {
        let sql = format!(
            "SELECT id, files FROM compiled_sets WHERE {}",
            E::any("id", 1)
        );
        let rows = self.engine.all(&sql, &[Param::Ids(sets)], |r| {
            let files = r.with_bytes(1, |b| b.and_then(details::unpack_bytes))?;
            Ok((r.id(0)?, files.unwrap_or_default()))
        })?;
        Ok((rows.into_iter())
            .map(|(id, text)| (id, text.split(|&b| b == 0).map(BString::from).collect()))
            .collect())
    }

    fn builds(&mut self, filter: &BuildFilter) -> Result<Vec<BuildRecord>> {
        let mut q = Conditions::new(BUILDS);
        q.and(E::same, "bl.name", filter.builder.as_ref().map(Param::from));
        let branch = filter.branch.as_ref().map(|b| b.as_deref().unwrap_or(""));
        q.and(E::same, "l.branch", branch.map(Param::from));
        q.and(eq, "b.number", filter.number.map(Param::from));
        // A literal limit: bound, `find_build` (three an ingest) was prepared again each time,
        // 600 preparations and 4% of an import's CPU time.
        q.sql += &format!(
            " ORDER BY b.time DESC, bl.name, b.number DESC LIMIT {}",
            literal_limit(filter.limit)
        );
        self.engine.all(&q.sql, &q.args, |r| build_record(r))
    }

    fn build_durations(&mut self, build: Id) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT durations FROM builds WHERE id = ?1";
        let found = self.engine.first(sql, &p![build], |r| {
            r.with_bytes(0, |b| b.map(<[u8]>::to_vec))
        })?;
        Ok(found.flatten())
    }

    fn report_exists(&mut self, build: Id, hash: &[u8]) -> Result<bool> {
        let sql = "SELECT 1 FROM reports WHERE build_id = ?1 AND hash = ?2";
        let found = self
            .engine
            .first(sql, &[build.into(), Param::Blob(hash)], |_| Ok(()))?;
        Ok(found.is_some())
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
            &p![build, hash, name, parser, results, at],
        )
    }

    fn link_change(&mut self, build: Id, change: &ChangeRecord) -> Result<()> {
        let change = self.upsert_change(change)?;
        let upsert = E::upsert("build_id, change_id", "");
        let sql = format!("INSERT INTO build_changes (build_id, change_id) VALUES (?, ?) {upsert}");
        self.run(&sql, &p![build, change])
    }

    fn changes(&mut self, which: Changes<'_>) -> Result<Vec<ChangeRecord>> {
        let (sql, arg) = match which {
            Changes::OfBuild(build) => (
                format!(
                    "{CHANGES} JOIN build_changes bc ON bc.change_id = c.id WHERE bc.build_id = ?1 \
                     ORDER BY coalesce(c.time, 0), c.revision"
                ),
                build.into(),
            ),
            Changes::Revision(revision) => (
                format!("{CHANGES} WHERE {}", E::same("c.revision", 1)),
                revision.into(),
            ),
        };
        self.engine.all(&sql, &[arg], |r| change_record(r))
    }

    fn test_ids(&mut self, tests: &[NewTest]) -> Result<Vec<Id>> {
        // Looked up by key; the new ones created in the order they first appear (so that every
        // engine gives the same ids), with their first runner id.
        let keys: Vec<[u8; 16]> = tests.iter().map(|t| key(&t.name)).collect();
        let mut found = match self.scanned_tests(keys.len())? {
            Some(all) => {
                let mut found = Keyed::default();
                let mut lacking: Vec<[u8; 16]> = Vec::new();
                for k in &keys {
                    match all.get(k) {
                        Held::Yes(id, runner) => {
                            found.insert(*k, (id, runner));
                        }
                        Held::No => {}
                        Held::Maybe => lacking.push(*k),
                    }
                }
                if !lacking.is_empty() {
                    found.extend(self.find_keyed("tests", "name_hash", "runner_id", &lacking)?);
                }
                found
            }
            None => self.find_keyed("tests", "name_hash", "runner_id", &keys)?,
        };
        let mut new = first_missing(&keys, &found);
        if !new.is_empty() && self.engine.lock_key(super::Lock::NewTests.key())? {
            // Concurrent ingests (PostgreSQL) create tests one at a time, until they commit: two
            // that create the same new tests in other orders would deadlock. (An ingest that
            // creates a test another has just created waits for that one's commit anyway.)
            found.extend(self.find_keyed("tests", "name_hash", "runner_id", &keys)?);
            new = first_missing(&keys, &found);
        }
        if !new.is_empty() {
            let new_keys: Vec<[u8; 16]> = new.iter().map(|&i| keys[i]).collect();
            let mut rows = Vec::with_capacity(new.len() * 5);
            for (&i, k) in new.iter().zip(&new_keys) {
                let (t, file) = (&tests[i], tests[i].file.as_deref());
                let kind = t.kind.as_str().into();
                rows.extend([Param::Blob(k), Param::Report(&t.name), kind]);
                rows.extend([
                    file.map_or(Param::Null, |f| Param::Report(f)),
                    (&t.runner_id).into(),
                ]);
            }
            let columns = "name_hash, name, kind, file, runner_id";
            let columns = (columns, "runner_id");
            let created = self.create_keyed("tests", columns, &new_keys, &rows, &mut found)?;
            let first: HashMap<[u8; 16], usize> = new.iter().map(|&i| (keys[i], i)).collect();
            for k in created {
                if let (Some(entry), Some(&i)) = (found.get_mut(&k), first.get(&k)) {
                    entry.1.clone_from(&tests[i].runner_id);
                }
            }
        }
        // A test's runner id becomes the last one given, where one is given.
        let mut ids = Vec::with_capacity(tests.len());
        let mut updates = BTreeMap::new();
        for (test, k) in tests.iter().zip(&keys) {
            let Some((id, runner_id)) = found.get_mut(k) else {
                return Err(Error::database(
                    "database error: a test vanished while being created",
                ));
            };
            if test.runner_id.is_some() && *runner_id != test.runner_id {
                updates.insert(*id, test.runner_id.clone());
                runner_id.clone_from(&test.runner_id);
            }
            ids.push(*id);
        }
        // Tests are shared by every lane: updated in one order (by id), so that two ingests that
        // change the same tests' runner ids cannot deadlock on PostgreSQL.
        for (id, runner_id) in updates {
            let sql = "UPDATE tests SET runner_id = ?2 WHERE id = ?1";
            self.engine.execute(sql, &p![id, &runner_id])?;
        }
        if let Some(all) = &mut self.tests {
            for (k, found) in found {
                all.insert(k, found);
            }
        }
        Ok(ids)
    }

    fn tests(&mut self, which: Tests<'_>) -> Result<Vec<TestRecord>> {
        let named: [u8; 16];
        let (sql, args) = match which {
            Tests::Ids(ids) => (
                format!("{TESTS} WHERE {}", E::any("id", 1)),
                vec![Param::Ids(ids)],
            ),
            Tests::Named(name) => {
                named = key(name);
                (
                    format!("{TESTS} WHERE name_hash = ?1"),
                    vec![Param::Blob(&named)],
                )
            }
            // Bytes against bytes: the match is case-sensitive and exact for any text.
            Tests::Containing(part, limit) => (
                format!(
                    "{TESTS} WHERE {} ORDER BY name LIMIT {}",
                    E::contains("name", 1),
                    literal_limit(limit)
                ),
                vec![Param::Blob(part)],
            ),
        };
        self.engine.all(&sql, &args, |r| test_record(r))
    }

    fn runs(&mut self, of: RunsOf) -> Result<Vec<(Id, Vec<Run>)>> {
        let mut out: Vec<(Id, Vec<Run>)> = Vec::new();
        match of {
            RunsOf::Lane(lane) => {
                let sql = "SELECT test_id, first_number, status FROM runs WHERE lane_id = ?1 \
                     ORDER BY test_id, first_number";
                self.engine
                    .query(sql, &p![lane], |r| group_runs(&mut out, r))?;
            }
            RunsOf::LaneAfter { lane, after, rows } => {
                let mut limit = rows.max(2);
                loop {
                    out.clear();
                    let mut read = 0;
                    let sql = format!(
                        "SELECT test_id, first_number, status FROM runs \
                         WHERE lane_id = ?1 AND test_id > ?2 ORDER BY test_id, first_number \
                         LIMIT {}",
                        literal_limit(limit)
                    );
                    let args = p![lane, after];
                    self.engine.query(&sql, &args, |r| {
                        read += 1;
                        group_runs(&mut out, r)
                    })?;
                    if read < limit {
                        break;
                    }
                    // The limit may have cut the last test's runs short: it comes in the next
                    // chunk, whole (or, if it is the only one, with a larger limit).
                    if out.len() > 1 {
                        out.pop();
                        break;
                    }
                    limit *= 2;
                }
            }
        }
        Ok(out)
    }

    fn tests_runs(&mut self, tests: &[Id]) -> Result<Vec<(Id, Id, Vec<Run>)>> {
        let sql = format!(
            "SELECT test_id, first_number, status, lane_id FROM runs WHERE {} \
             ORDER BY test_id, lane_id, first_number",
            E::any("test_id", 1)
        );
        let mut out: Vec<(Id, Id, Vec<Run>)> = Vec::new();
        // In a file, a lane at a time by the runs' primary key: by `runs_test` each row costs a
        // search of the primary key too, for its status (~3,300 instructions a row; one more
        // ingest reads ~13,000 of the judged tests' runs). A server is sent one query.
        let lanes = match self.engine.is_server() {
            true => Vec::new(),
            false => self
                .engine
                .all("SELECT id FROM lanes ORDER BY id", &[], |r| r.id(0))?,
        };
        if !lanes.is_empty() && lanes.len() <= LANES_READ_APART {
            let sql = format!(
                "SELECT test_id, first_number, status, lane_id FROM runs WHERE lane_id = ?1 \
                 AND {} ORDER BY test_id, first_number",
                E::any("test_id", 2)
            );
            for chunk in sorted_ids(tests.iter().copied()).chunks(IDS_PER_QUERY) {
                for &lane in &lanes {
                    self.engine
                        .query(&sql, &[lane.into(), Param::Ids(chunk)], |r| {
                            let (test, run) = (r.id(0)?, run_record(r)?);
                            match out.last_mut() {
                                Some((t, l, runs)) if (*t, *l) == (test, lane) => runs.push(run),
                                _ => out.push((test, lane, vec![run])),
                            }
                            Ok(())
                        })?;
                }
            }
            // In the order of one query: by test, then lane (each lane's runs in order already).
            out.sort_by_key(|(test, lane, _)| (*test, *lane));
            return Ok(out);
        }
        for chunk in sorted_ids(tests.iter().copied()).chunks(IDS_PER_QUERY) {
            self.engine.query(&sql, &[Param::Ids(chunk)], |r| {
                let (test, lane, run) = (r.id(0)?, r.id(3)?, run_record(r)?);
                match out.last_mut() {
                    Some((t, l, runs)) if (*t, *l) == (test, lane) => runs.push(run),
                    _ => out.push((test, lane, vec![run])),
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    fn write_runs(&mut self, lane: Id, writes: &[(Id, Vec<i64>, Vec<Run>)]) -> Result<()> {
        // Every delete first, then every upsert: the same as test by test, since tests' runs do not
        // overlap and a test's upserts come after its deletes.
        let deletes: Vec<(Id, i64)> = (writes.iter())
            .flat_map(|(test, delete, _)| delete.iter().map(move |first| (*test, *first)))
            .collect();
        if !deletes.is_empty() {
            self.engine.delete_runs(lane, &deletes)?;
        }
        let head = "INSERT INTO runs (lane_id, test_id, first_number, status)";
        let tail = E::upsert("lane_id, test_id, first_number", "status = excluded.status");
        let (mut rows, mut tests) = (Vec::new(), HashSet::new());
        for (test, _, upserts) in writes {
            // A statement may not upsert a row twice: a test named again starts another.
            if !tests.insert(*test) {
                self.engine.insert_rows(head, 4, &tail, &rows)?;
                rows.clear();
                tests = HashSet::from([*test]);
            }
            for run in upserts {
                rows.extend(p![lane, *test, run.first, run.status.map(Status::as_str)]);
            }
        }
        self.engine.insert_rows(head, 4, &tail, &rows)
    }

    fn lane_compile_tests(&mut self, lane: Id) -> Result<Vec<(Id, Option<BString>)>> {
        self.engine.all(
            "SELECT DISTINCT t.id, t.file FROM runs r JOIN tests t ON t.id = r.test_id \
             WHERE r.lane_id = ?1 AND t.kind = 'compile' ORDER BY t.id",
            &p![lane],
            |r| Ok((r.id(0)?, r.bytes(1)?)),
        )
    }

    fn results(
        &mut self,
        build: Option<Id>,
        test: Option<Id>,
        details: bool,
    ) -> Result<Vec<(Id, ResultRecord)>> {
        let mut q = Conditions::new(if details { RESULTS } else { RESULTS_BRIEF });
        q.and(eq, "r.build_id", build.map(Param::from));
        q.and(eq, "r.test_id", test.map(Param::from));
        q.sql += " ORDER BY r.build_id, r.test_id";
        self.engine
            .all(&q.sql, &q.args, |r| Ok((r.id(8)?, result_record(r)?)))
    }

    fn results_of(&mut self, pairs: &[(Id, Id)]) -> Result<Vec<(Id, ResultRecord)>> {
        let mut pairs = pairs.to_vec();
        pairs.sort_unstable();
        pairs.dedup();
        let mut out = Vec::new();
        for chunk in pairs.chunks(PAIRS_PER_QUERY) {
            let (or, args) = pairs_where(chunk);
            let sql = format!("{RESULTS} WHERE {or} ORDER BY r.build_id, r.test_id");
            out.extend(
                self.engine
                    .all(&sql, &args, |r| Ok((r.id(8)?, result_record(r)?)))?,
            );
        }
        Ok(out)
    }

    fn result_texts(&mut self, pairs: &[(Id, Id)]) -> Result<HashMap<(Id, Id), ResultTexts>> {
        let mut pairs = pairs.to_vec();
        pairs.sort_unstable();
        pairs.dedup();
        let mut out = HashMap::with_capacity(pairs.len());
        for chunk in pairs.chunks(PAIRS_PER_QUERY) {
            let (or, args) = pairs_where(chunk);
            let sql = format!(
                "SELECT r.build_id, r.test_id, r.message_id, r.details_id, r.details \
                 FROM results r WHERE {or}"
            );
            self.engine.query(&sql, &args, |r| {
                let texts = (r.int(2)?, r.int(3)?, r.bytes(4)?.map(Vec::from));
                out.insert((r.id(0)?, r.id(1)?), texts);
                Ok(())
            })?;
        }
        Ok(out)
    }

    fn failure_messages(&mut self, test: Id) -> Result<Vec<BString>> {
        self.engine.all(
            "SELECT m.text FROM messages m WHERE m.id IN (SELECT DISTINCT message_id FROM results \
             WHERE test_id = ?1 AND status IN ('failed', 'error')) ORDER BY m.id",
            &p![test],
            |r| r.bstring(0),
        )
    }

    fn replace_build_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()> {
        if !self.fresh.remove(&(build, "results")) {
            self.run("DELETE FROM results WHERE build_id = ?1", &p![build])?;
        }
        // A chunk at a time (a huge build's rows, keys and parameters would be tens of MB at
        // once); each chunk's tests are its own, so bases are found as in one go.
        for results in results.chunks(RESULT_ROWS) {
            self.insert_results(build, results)?;
        }
        Ok(())
    }

    fn blamelists(&mut self, builds: &[Id]) -> Result<HashMap<Id, Vec<ChangeRef>>> {
        let sql = change_refs("build_changes", "build_id", &E::any("t.build_id", 1), "");
        let mut out = self.grouped(&sql, builds, |r| change_ref(r))?;
        for &build in builds {
            out.entry(build).or_default();
        }
        Ok(out)
    }

    fn retire_builder(&mut self, name: &str, at: Option<Micros>) -> Result<bool> {
        let sql = format!(
            "UPDATE builders SET retired_at = ?2 WHERE {}",
            E::same("name", 1)
        );
        Ok(self.engine.execute(&sql, &p![name, at])? > 0)
    }

    fn retired_builders(&mut self) -> Result<Vec<String>> {
        let sql = "SELECT name FROM builders WHERE retired_at IS NOT NULL ORDER BY name";
        self.engine.all(sql, &[], |r| r.string(0))
    }

    fn lane_tests(&mut self, lane: Id) -> Result<Vec<Id>> {
        let sql = "SELECT DISTINCT test_id FROM runs WHERE lane_id = ?1 ORDER BY test_id";
        self.engine.all(sql, &p![lane], |r| r.id(0))
    }

    fn tests_with_recent_problems(
        &mut self,
        builder: &str,
        branch: Option<&str>,
        since: i64,
    ) -> Result<Vec<Id>> {
        // The builder's rows of `problem_builders` first (a scan of that narrow table), then
        // their Problems by id: joined the other way round, SQLite walked every Problem and
        // looked each one's builder up (2.2x the time at 6,900 Problems, in every ingest).
        let sql = format!(
            "SELECT DISTINCT p.test_id FROM problems p WHERE p.id IN \
             (SELECT pb.problem_id FROM problem_builders pb \
             JOIN builders b ON b.id = pb.builder_id WHERE {} \
             AND (pb.fixed_number IS NULL OR pb.fixed_number >= ?3)) AND {} ORDER BY p.test_id",
            E::same("b.name", 1),
            E::same("p.branch", 2)
        );
        self.engine
            .all(&sql, &p![builder, branch.unwrap_or(""), since], |r| r.id(0))
    }

    fn problem_keys(&mut self, tests: &[Id], branch: Option<&str>) -> Result<Vec<(Id, Id, Id)>> {
        let sql = format!(
            "SELECT test_id, id, first_build_id FROM problems WHERE {} AND {} \
             ORDER BY test_id, id",
            E::any("test_id", 1),
            E::same("branch", 2)
        );
        let mut out = Vec::new();
        for chunk in sorted_ids(tests.iter().copied()).chunks(IDS_PER_QUERY) {
            let args = [Param::Ids(chunk), branch.unwrap_or("").into()];
            out.extend(
                self.engine
                    .all(&sql, &args, |r| Ok((r.id(0)?, r.id(1)?, r.id(2)?)))?,
            );
        }
        Ok(out)
    }

    fn save_problem(&mut self, p: &ProblemRecord) -> Result<Id> {
        let message = self.problem_message(p)?;
        let values = Self::problem_row(p, Some(message));
        let insert = |n| {
            let id = if n == 22 { ", id" } else { "" };
            format!(
                "INSERT INTO problems ({PROBLEM_COLUMNS}{id}) VALUES ({})",
                marks(n)
            )
        };
        let id = if p.id == 0 {
            self.engine.insert(&insert(21), &values[..21])?
        } else {
            // Updated in place: the row (and what hangs on its id) stays.
            let set: Vec<String> = PROBLEM_COLUMNS
                .split(", ")
                .map(|c| format!("{c} = ?"))
                .collect();
            let sql = format!("UPDATE problems SET {} WHERE id = ?", set.join(", "));
            if self.engine.execute(&sql, &values)? == 0 {
                self.run(&insert(22), &values)?;
            }
            self.delete(&["problem_builders", "problem_changes"], "problem_id", p.id)?;
            p.id
        };
        self.save_problem_parts(id, p)?;
        Ok(id)
    }

    fn save_problems(&mut self, problems: &[ProblemRecord]) -> Result<Vec<Id>> {
        if problems.iter().any(|p| p.id != 0) {
            return problems.iter().map(|p| self.save_problem(p)).collect();
        }
        if problems.is_empty() {
            return Ok(Vec::new());
        }
        // Their messages at once (a text not stored yet is made in the order of its key, not of
        // the Problems: message ids are internal; a Problem's message is nearly always a stored
        // result's already).
        let texts: Vec<&[u8]> = (problems.iter())
            .filter_map(|p| p.message.as_ref().map(|m| m.as_slice()))
            .collect();
        let keys: Vec<[u8; 16]> = texts.iter().map(|t| key(t)).collect();
        let messages = match keys.is_empty() {
            true => HashMap::new(),
            false => self.message_ids(&keys, &texts)?,
        };
        // Their rows, in order: each engine gives a multi-row insert's rows ascending ids in the
        // order of the rows, as one insert after another would.
        let mut rows: Vec<Param<'_>> = Vec::with_capacity(problems.len() * 21);
        for p in problems {
            let message = (p.message.as_ref()).map(|m| messages[&key(m.as_slice())]);
            rows.extend(Self::problem_row(p, Some(message)).into_iter().take(21));
        }
        let head = format!("INSERT INTO problems ({PROBLEM_COLUMNS})");
        self.engine.insert_rows(&head, 21, "", &rows)?;
        // Their ids, read back by their keys (on MariaDB the ids of one multi-row insert are
        // consecutive only under some `innodb_autoinc_lock_mode`s).
        let branch_of = |p: &ProblemRecord| p.branch.clone().unwrap_or_default();
        let mut branches: Vec<String> = problems.iter().map(branch_of).collect();
        branches.sort_unstable();
        branches.dedup();
        let sql = format!(
            "SELECT id, test_id, first_build_id FROM problems WHERE {} AND {} AND {}",
            E::same("branch", 1),
            E::any("test_id", 2),
            E::any("first_build_id", 3)
        );
        let mut ids_of: HashMap<(String, Id, Id), Id> = HashMap::new();
        for branch in branches {
            let on = |p: &&ProblemRecord| branch_of(p) == branch;
            let tests = sorted_ids(problems.iter().filter(on).map(|p| p.test));
            let firsts = sorted_ids(problems.iter().filter(on).map(|p| p.first_build));
            for tests in tests.chunks(IDS_PER_QUERY) {
                for firsts in firsts.chunks(IDS_PER_QUERY) {
                    let args = [
                        branch.as_str().into(),
                        Param::Ids(tests),
                        Param::Ids(firsts),
                    ];
                    let found =
                        (self.engine).all(&sql, &args, |r| Ok((r.id(0)?, r.id(1)?, r.id(2)?)))?;
                    for (id, test, first) in found {
                        ids_of.insert((branch.clone(), test, first), id);
                    }
                }
            }
        }
        let ids = (problems.iter())
            .map(|p| {
                let found = ids_of.get(&(branch_of(p), p.test, p.first_build)).copied();
                found.ok_or_else(|| Error::database("a Problem just inserted was not found"))
            })
            .collect::<Result<Vec<Id>>>()?;
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids ascend: {ids:?}");
        // Their builders and changes, each table in one go.
        let mut builders = Vec::new();
        let mut changes = Vec::new();
        for (p, &id) in problems.iter().zip(&ids) {
            for b in &p.builders {
                let builder = self.create_builder(&b.builder)?;
                let (first, last, fixed) = (b.first_number, b.last_number, b.fixed_number);
                builders.extend(p![id, builder, first, last, fixed]);
            }
            for (role, list) in [("start", &p.started_by), ("fix", &p.fixed_by)] {
                changes.extend(list.iter().flat_map(|c| p![id, role, c.id]));
            }
        }
        let head = "INSERT INTO problem_builders (problem_id, builder_id, first_number, \
             last_number, fixed_number)";
        self.engine.insert_rows(head, 5, "", &builders)?;
        let head = "INSERT INTO problem_changes (problem_id, role, change_id)";
        let tail = E::upsert("problem_id, role, change_id", "");
        self.engine.insert_rows(head, 3, &tail, &changes)?;
        for (p, &id) in problems.iter().zip(&ids) {
            self.save_problem_metric(id, p)?;
        }
        Ok(ids)
    }

    fn update_problem(&mut self, p: &ProblemRecord, stored: &ProblemRecord) -> Result<Id> {
        if p.id == 0 || p.id != stored.id {
            return self.save_problem(p);
        }
        // The row: its message row stays where the text is the same (one row per text).
        let same_message = p.message == stored.message;
        let message = if same_message {
            None
        } else {
            Some(self.problem_message(p)?)
        };
        let values = Self::problem_row(p, message);
        let set: Vec<String> = (PROBLEM_COLUMNS.split(", "))
            .filter(|c| !same_message || *c != "message_id")
            .map(|c| format!("{c} = ?"))
            .collect();
        let sql = format!("UPDATE problems SET {} WHERE id = ?", set.join(", "));
        if self.engine.execute(&sql, &values)? == 0 {
            return self.save_problem(p);
        }
        let id = p.id;
        // The builders: where the same builders' numbers changed, those; else all anew.
        if p.builders != stored.builders {
            let held = |b: &ProblemBuilder| stored.builders.iter().find(|s| s.builder == b.builder);
            let same_builders = p.builders.len() == stored.builders.len()
                && p.builders.iter().all(|b| held(b).is_some());
            if same_builders {
                for b in &p.builders {
                    if held(b) == Some(b) {
                        continue;
                    }
                    let builder = self.create_builder(&b.builder)?;
                    self.run(
                        "UPDATE problem_builders SET first_number = ?3, last_number = ?4, \
                         fixed_number = ?5 WHERE problem_id = ?1 AND builder_id = ?2",
                        &p![id, builder, b.first_number, b.last_number, b.fixed_number],
                    )?;
                }
            } else {
                self.delete(&["problem_builders"], "problem_id", id)?;
                self.save_problem_builders(id, p)?;
            }
        }
        // The changes, where they are others.
        let changes = |r: &ProblemRecord| {
            let mut all: Vec<(bool, Id)> = (r.started_by.iter().map(|c| (true, c.id)))
                .chain(r.fixed_by.iter().map(|c| (false, c.id)))
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        if changes(p) != changes(stored) {
            self.delete(&["problem_changes"], "problem_id", id)?;
            self.save_problem_changes(id, p)?;
        }
        if p.metric != stored.metric {
            self.delete(&["problem_metrics"], "problem_id", id)?;
            self.save_problem_metric(id, p)?;
        }
        Ok(id)
    }

    fn delete_problem(&mut self, id: Id) -> Result<()> {
        self.run("DELETE FROM problems WHERE id = ?1", &p![id])
    }

    fn problems(&mut self, filter: &ProblemFilter) -> Result<Vec<ProblemRecord>> {
        let mut q = Conditions::new(PROBLEMS);
        let state = filter.open.map(|open| if open { "open" } else { "fixed" });
        q.and(eq, "p.state", state.map(Param::from));
        q.and(eq, "p.intermittent", filter.intermittent.map(Param::from));
        q.and(eq, "p.test_id", filter.test.map(Param::from));
        q.and(eq, "p.first_build_id", filter.first_build.map(Param::from));
        if !filter.hidden {
            q.sql += " AND p.state <> 'hidden'";
        }
        let branch = filter.branch.as_ref().map(|b| b.as_deref().unwrap_or(""));
        q.and(E::same, "p.branch", branch.map(Param::from));
        q.and(E::any, "p.id", filter.ids.as_deref().map(Param::Ids));
        q.and(E::any, "p.test_id", filter.tests.as_deref().map(Param::Ids));
        q.sql += " ORDER BY p.last_time DESC, p.id DESC";
        let mut problems = self.engine.all(&q.sql, &q.args, |r| problem_record(r))?;
        if problems.is_empty() {
            return Ok(problems);
        }
        // Their builders, changes and steps, for all of them at once rather than one query each.
        let ids: Vec<Id> = problems.iter().map(|p| p.id).collect();
        let sql = format!(
            "SELECT pb.problem_id, b.name, pb.first_number, pb.last_number, pb.fixed_number \
             FROM problem_builders pb JOIN builders b ON b.id = pb.builder_id \
             WHERE {} ORDER BY pb.problem_id, b.name",
            E::any("pb.problem_id", 1)
        );
        let mut builders = self.grouped(&sql, &ids, |r| {
            Ok(ProblemBuilder {
                builder: r.string(1)?,
                first_number: r.id(2)?,
                last_number: r.id(3)?,
                fixed_number: r.int(4)?,
            })
        })?;
        let sql = change_refs(
            "problem_changes",
            "problem_id",
            &E::any("t.problem_id", 1),
            ", t.role",
        );
        let mut changes = self.grouped(&sql, &ids, |r| Ok((r.string(4)?, change_ref(r)?)))?;
        let mut steps = HashMap::new();
        if problems.iter().any(|p| p.kind == Kind::Metric) {
            let sql = format!(
                "SELECT problem_id, step, before_level, after_level, z, accepted_by, \
                 accepted_reason, accepted_at FROM problem_metrics WHERE {}",
                E::any("problem_id", 1)
            );
            steps = self.grouped(&sql, &ids, |r| {
                let accepted = match r.text(5)? {
                    Some(by) => Some(Acceptance {
                        by,
                        reason: r.text(6)?.unwrap_or_default(),
                        at: r.int(7)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok(MetricStep {
                    step: r.string(1)?,
                    before: r.real(2)?.unwrap_or(f64::NAN),
                    after: r.real(3)?.unwrap_or(f64::NAN),
                    z: r.real(4)?.unwrap_or(f64::NAN),
                    accepted,
                })
            })?;
        }
        for p in &mut problems {
            p.builders = builders.remove(&p.id).unwrap_or_default();
            for (role, change) in changes.remove(&p.id).unwrap_or_default() {
                match role.as_str() {
                    "start" => p.started_by.push(change),
                    _ => p.fixed_by.push(change),
                }
            }
            p.metric = steps.remove(&p.id).and_then(|mut s| s.pop());
        }
        Ok(problems)
    }

    fn set_link(&mut self, problem: Id, url: &str, open: Option<bool>, at: Micros) -> Result<bool> {
        let Some(open) = open else {
            let sql = format!(
                "DELETE FROM problem_links WHERE problem_id = ?1 AND {}",
                E::same("url", 2)
            );
            return Ok(self.engine.execute(&sql, &p![problem, url])? > 0);
        };
        let state = if open { "open" } else { "closed" };
        // Updated first: an upsert would take an id from a sequence even when it only updates.
        let sql = format!(
            "UPDATE problem_links SET state = ?3 WHERE problem_id = ?1 AND {}",
            E::same("url", 2)
        );
        if self.engine.execute(&sql, &p![problem, url, state])? == 0 {
            let target = format!("problem_id, {}", E::key("url"));
            let sql = format!(
                "INSERT INTO problem_links (problem_id, url, state, added_at) VALUES (?, ?, ?, ?) {}",
                E::upsert(&target, "state = excluded.state")
            );
            self.run(&sql, &p![problem, url, state, at])?;
        }
        Ok(true)
    }

    fn links(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<LinkRecord>>> {
        let sql = format!(
            "SELECT problem_id, url, state, added_at FROM problem_links WHERE {} \
             ORDER BY problem_id, added_at, id",
            E::any("problem_id", 1)
        );
        self.grouped(&sql, problems, |r| {
            Ok(LinkRecord {
                url: r.string(1)?,
                open: r.string(2)? == "open",
                added_at: r.id(3)?,
            })
        })
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
            "SELECT problem_id, text, author, added_at FROM problem_notes WHERE {} \
             ORDER BY problem_id, added_at, id",
            E::any("problem_id", 1)
        );
        self.grouped(&sql, problems, |r| {
            Ok(NoteRecord {
                text: r.string(1)?,
                author: r.text(2)?,
                added_at: r.id(3)?,
            })
        })
    }

    fn add_bad_range(
        &mut self,
        builder: &str,
        from: i64,
        to: Option<i64>,
        reason: &str,
        at: Micros,
    ) -> Result<bool> {
        let sql = format!("SELECT id FROM builders WHERE {}", E::same("name", 1));
        let Some(builder) = self.id_of(&sql, &p![builder])? else {
            return Ok(false);
        };
        self.run(
            "INSERT INTO bad_ranges (builder_id, from_number, to_number, reason, added_at) \
             VALUES (?, ?, ?, ?, ?)",
            &p![builder, from, to, reason, at],
        )?;
        Ok(true)
    }

    fn remove_bad_ranges(&mut self, builder: &str, from: i64) -> Result<u64> {
        let sql = format!(
            "DELETE FROM bad_ranges WHERE from_number = ?2 AND builder_id IN \
             (SELECT id FROM builders WHERE {})",
            E::same("name", 1)
        );
        self.engine.execute(&sql, &p![builder, from])
    }

    fn bad_ranges(&mut self) -> Result<Vec<BadRange>> {
        self.engine.all(
            "SELECT b.name, r.from_number, r.to_number, r.reason, r.added_at \
             FROM bad_ranges r JOIN builders b ON b.id = r.builder_id \
             ORDER BY b.name, r.from_number, r.id",
            &[],
            |r| {
                Ok(BadRange {
                    builder: r.string(0)?,
                    from: r.id(1)?,
                    to: r.int(2)?,
                    reason: r.string(3)?,
                    added_at: r.id(4)?,
                })
            },
        )
    }

    fn rename_test(&mut self, old: Id, new: Id, at: Micros) -> Result<()> {
        // A series' values may be read under its new name: every lane's metric state goes.
        self.run("DELETE FROM metric_state", &[])?;
        let set = "new_test_id = excluded.new_test_id, renamed_at = excluded.renamed_at";
        let sql = format!(
            "INSERT INTO test_renames (old_test_id, new_test_id, renamed_at) VALUES (?, ?, ?) {}",
            E::upsert("old_test_id", set)
        );
        self.run(&sql, &p![old, new, at])?;
        // The Problems to move are found first: MySQL cannot read the table an UPDATE writes.
        let ids = self.engine.all(
            "SELECT p.id FROM problems p WHERE p.test_id = ?1 AND NOT EXISTS \
             (SELECT 1 FROM problems q WHERE q.test_id = ?2 AND q.branch = p.branch \
              AND q.first_build_id = p.first_build_id)",
            &p![old, new],
            |r| r.id(0),
        )?;
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!("UPDATE problems SET test_id = ?1 WHERE {}", E::any("id", 2));
        self.run(&sql, &[new.into(), Param::Ids(&ids)])
    }

    fn renames(&mut self) -> Result<Vec<(Id, Id)>> {
        let sql =
            "SELECT old_test_id, new_test_id FROM test_renames ORDER BY renamed_at, old_test_id";
        self.engine.all(sql, &[], |r| Ok((r.id(0)?, r.id(1)?)))
    }

    fn failures(&mut self, branch: Option<&str>, since: Option<Micros>) -> Result<Vec<FailureRow>> {
        let sql = format!(
            "SELECT r.test_id, t.name, bl.name, b.number, b.time, b.revision, m.text, r.details, \
             d.data, db.data FROM results r JOIN builds b ON b.id = r.build_id \
             LEFT JOIN details d ON d.id = r.details_id LEFT JOIN details db ON db.id = d.base_id \
             JOIN builders bl ON bl.id = b.builder_id JOIN lanes l ON l.id = b.lane_id \
             JOIN tests t ON t.id = r.test_id LEFT JOIN messages m ON m.id = r.message_id \
             WHERE r.status IN ('failed', 'error') AND {} AND b.time >= ?2 \
             ORDER BY b.time, bl.name, b.number, r.test_id",
            E::same("l.branch", 1)
        );
        let args = p![branch.unwrap_or(""), since.unwrap_or(i64::MIN)];
        self.engine.all(&sql, &args, |r| {
            Ok(FailureRow {
                test: r.id(0)?,
                test_name: r.bstring(1)?,
                builder: r.string(2)?,
                number: r.id(3)?,
                time: r.id(4)?,
                revision: r.text(5)?,
                message: r.bytes(6)?,
                text: details::text_of(r.details(7)?.as_deref()),
            })
        })
    }

    fn notifications(&mut self) -> Result<Vec<NotificationRecord>> {
        self.engine.all(
            "SELECT problem_id, event, target, sent_at FROM notifications \
             ORDER BY problem_id, event, target",
            &[],
            |r| {
                Ok(NotificationRecord {
                    problem: r.id(0)?,
                    event: r.string(1)?,
                    target: r.string(2)?,
                    sent_at: r.int(3)?,
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
             VALUES (?, ?, ?, ?, 1, ?) {}",
            E::upsert("problem_id, event, target", set)
        );
        self.run(&sql, &p![problem, event, target, sent_at, error])
    }

    fn notify_baseline(&mut self) -> Result<Option<Micros>> {
        self.id_of("SELECT set_at FROM notify_baseline WHERE id = 1", &[])
    }

    fn set_notify_baseline(&mut self, at: Micros) -> Result<()> {
        let upsert = E::upsert("id", "set_at = excluded.set_at");
        let sql = format!("INSERT INTO notify_baseline (id, set_at) VALUES (1, ?1) {upsert}");
        self.run(&sql, &p![at])
    }

    fn read_table(
        &mut self,
        table: &Table,
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()> {
        let (columns, order) = (table.column_list(), table.order.join(", "));
        let sql = format!("SELECT {columns} FROM {} ORDER BY {order}", table.name);
        self.engine.query(&sql, &[], |r| {
            // A cell for each column selected: the row fits the table.
            let cells = (table.columns.iter().enumerate())
                .map(|(i, column)| r.cell(i, column.kind))
                .collect::<Result<Vec<Cell>>>()?;
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
        Ok(self.engine.first(&sql, &[], |r| r.count(0))?.unwrap_or(0))
    }

    fn highest_ids(&mut self) -> Result<Vec<(&'static str, i64)>> {
        // An id given once is never given again (docs/schema.md): not a deleted Problem's, whose
        // id notes and links outside name, nor a build's that a Problem names as its first
        // failing one after `prune` took it (given again, a new build would be taken for that
        // Problem's first failure).
        let mut highest = Vec::new();
        for table in super::TABLES.iter().filter(|t| t.serial_id) {
            let sql = match table.name {
                "builds" => "SELECT max(m) FROM (SELECT max(id) AS m FROM builds \
                             UNION ALL SELECT max(first_build_id) AS m FROM problems) ids"
                    .to_owned(),
                name => format!("SELECT max(id) FROM {name}"),
            };
            let stored = self.engine.first(&sql, &[], |r| r.int(0))?.flatten();
            let given = self.engine.highest_given(table.name)?;
            highest.push((table.name, stored.max(given).unwrap_or(0)));
        }
        Ok(highest)
    }

    fn before_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()> {
        self.engine.before_copy(highest)
    }

    fn finish_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()> {
        self.engine.finish_copy(highest)
    }

    // Metrics: a series is a `tests` row of kind `metric` with its `metric_series` row.
    fn series_by_name(&mut self, names: &[String]) -> Result<Vec<Option<SeriesRecord>>> {
        let keys: Vec<[u8; 16]> = names.iter().map(|n| key(n.as_bytes())).collect();
        let mut found: HashMap<[u8; 16], SeriesRecord> = HashMap::with_capacity(keys.len());
        // Those looked up before in this write are known; the rest are asked for.
        let mut wanted = Vec::with_capacity(keys.len());
        for k in &keys {
            match self.series.get(k) {
                Some(record) => {
                    found.insert(*k, record.clone());
                }
                None => wanted.push(*k),
            }
        }
        let mut not_metric: Option<String> = None;
        let head = "SELECT t.name_hash, t.id, t.name, t.kind, s.unit, s.direction FROM tests t \
             LEFT JOIN metric_series s ON s.test_id = t.id WHERE";
        if !wanted.is_empty() {
            self.engine.query_keys(head, "t.name_hash", &wanted, |r| {
                let (Some(k), name) = (r.key(0)?, r.bstring(2)?) else {
                    return Ok(());
                };
                if r.kind(3)? != Kind::Metric {
                    not_metric.get_or_insert_with(|| name.to_string());
                    return Ok(());
                }
                let record = SeriesRecord {
                    id: r.id(1)?,
                    name: name.to_string(),
                    unit: r.text(4)?,
                    direction: r.text(5)?,
                };
                found.insert(k, record);
                Ok(())
            })?;
        }
        if let Some(name) = not_metric {
            return Err(Error::bad_input(format!(
                "the metric `{}` has the name of a test or diagnostic already recorded",
                name.escape_debug()
            ))
            .hint("give the metric another name (a prefix such as `bench.`)"));
        }
        for (k, record) in &found {
            self.series.entry(*k).or_insert_with(|| record.clone());
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    fn create_series(&mut self, series: &[SeriesRecord]) -> Result<Vec<Id>> {
        for s in series {
            self.series.remove(&key(s.name.as_bytes()));
        }
        let names = series.iter().map(|s| s.name.as_bytes());
        let ids = self.tests_of_kind(names, Kind::Metric)?;
        for (s, &id) in series.iter().zip(&ids) {
            let sql = "UPDATE metric_series SET direction = ?2 WHERE test_id = ?1";
            if self.engine.execute(sql, &p![id, &s.direction])? == 0 {
                self.run(
                    "INSERT INTO metric_series (test_id, unit, direction) VALUES (?1, ?2, ?3)",
                    &p![id, &s.unit, &s.direction],
                )?;
            }
        }
        Ok(ids)
    }

    fn series(&mut self, ids: Option<&[Id]>) -> Result<Vec<SeriesRecord>> {
        let (filter, args) = match ids {
            Some([]) => return Ok(Vec::new()),
            Some(ids) => (
                format!("WHERE {}", E::any("s.test_id", 1)),
                vec![Param::Ids(ids)],
            ),
            None => (String::new(), Vec::new()),
        };
        let sql = format!(
            "SELECT t.id, t.name, s.unit, s.direction FROM metric_series s \
             JOIN tests t ON t.id = s.test_id {filter} ORDER BY t.name"
        );
        self.engine.all(&sql, &args, |r| {
            Ok(SeriesRecord {
                id: r.id(0)?,
                name: r.bstring(1)?.to_string(),
                unit: r.text(2)?,
                direction: r.text(3)?,
            })
        })
    }

    fn write_metric_values(&mut self, build: Id, values: &[MetricValue]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        // The lane's metric state no longer holds what the table holds from this build on.
        self.run(DROP_METRIC_STATE, &p![build, build])?;
        if !self.fresh.remove(&(build, "metric_values")) {
            let ids: Vec<Id> = values.iter().map(|v| v.series).collect();
            let sql = format!(
                "DELETE FROM metric_values WHERE build_id = ?1 AND {}",
                E::any("test_id", 2)
            );
            self.run(&sql, &[build.into(), Param::Ids(&ids)])?;
        }
        // In the key's order (build, series): appended at the end of the table, its pages filled.
        let mut values: Vec<&MetricValue> = values.iter().collect();
        values.sort_by_key(|v| v.series);
        let packed: Vec<Option<Vec<u8>>> =
            values.iter().map(|v| samples::pack(&v.samples)).collect();
        let mut rows = Vec::with_capacity(values.len() * 10);
        for (v, data) in values.iter().zip(&packed) {
            rows.extend(p![v.series, build, v.value, v.rounds, v.mean, v.median]);
            rows.extend(p![v.stddev, v.min, v.max, data.as_deref()]);
        }
        let head = "INSERT INTO metric_values (test_id, build_id, value, rounds, mean, median, \
             stddev, min_value, max_value, samples)";
        self.engine.insert_rows(head, 10, "", &rows)
    }

    fn lane_metric_values(
        &mut self,
        lane: Id,
        series: Option<&[Id]>,
        since: i64,
    ) -> Result<Vec<MetricPoint>> {
        let mut sql = String::from(
            "SELECT v.test_id, v.build_id, b.number, b.time, b.revision, v.value, v.rounds, \
             v.mean, v.median, v.stddev, v.min_value, v.max_value, v.samples \
             FROM metric_values v JOIN builds b ON b.id = v.build_id \
             WHERE b.lane_id = ?1 AND b.number >= ?2",
        );
        let mut args = vec![Param::from(lane), Param::from(since)];
        if let Some(series) = series {
            args.push(Param::Ids(series));
            sql += &format!(" AND {}", E::any("v.test_id", 3));
        }
        sql += " ORDER BY v.test_id, b.number";
        self.engine.all(&sql, &args, |r| {
            let series = r.id(0)?;
            Ok(MetricPoint {
                series,
                build: r.id(1)?,
                number: r.id(2)?,
                time: r.id(3)?,
                revision: r.text(4)?,
                value: MetricValue {
                    series,
                    value: r.real(5)?.unwrap_or(f64::NAN),
                    rounds: r.count(6)?,
                    mean: r.real(7)?,
                    median: r.real(8)?,
                    stddev: r.real(9)?,
                    min: r.real(10)?,
                    max: r.real(11)?,
                    samples: r.with_bytes(12, |b| b.map(samples::unpack).unwrap_or_default())?,
                },
            })
        })
    }

    fn lane_metric_levels(
        &mut self,
        lane: Id,
        series: Option<&[Id]>,
        since: i64,
    ) -> Result<Vec<(Id, Id, f64)>> {
        // The lane's builds, then each build's values by the key's prefix: the values of one
        // build lie together (schema 11), where those of one series are spread over the table.
        let mut sql = String::from(
            "SELECT v.test_id, v.build_id, v.value FROM metric_values v WHERE v.build_id IN \
             (SELECT b.id FROM builds b WHERE b.lane_id = ?1 AND b.number >= ?2)",
        );
        let mut args = vec![Param::from(lane), Param::from(since)];
        if let Some(series) = series {
            // A few series: a seek of the key (build, series) for each value.
            if series.is_empty() {
                return Ok(Vec::new());
            }
            sql += &format!(" AND {}", E::any("v.test_id", 3));
            args.push(Param::Ids(series));
        }
        self.engine.all(&sql, &args, |r| {
            Ok((r.id(0)?, r.id(1)?, r.real(2)?.unwrap_or(f64::NAN)))
        })
    }

    fn metric_state(&mut self, lane: Id) -> Result<Vec<(i64, Vec<u8>)>> {
        let sql = "SELECT part, data FROM metric_state WHERE lane_id = ?1 ORDER BY part";
        self.engine.all(sql, &p![lane], |r| {
            let data = r.with_bytes(1, |b| b.map(<[u8]>::to_vec).unwrap_or_default())?;
            Ok((r.id(0)?, data))
        })
    }

    fn put_metric_state(
        &mut self,
        lane: Id,
        below: i64,
        parts: &[(i64, i64, Vec<u8>)],
    ) -> Result<()> {
        let sql = "DELETE FROM metric_state WHERE lane_id = ?1 AND part < ?2";
        self.run(sql, &p![lane, below])?;
        for (part, last_number, data) in parts {
            self.run(
                "INSERT INTO metric_state (lane_id, part, last_number, data) VALUES (?, ?, ?, ?)",
                &p![lane, *part, *last_number, data.as_slice()],
            )?;
        }
        Ok(())
    }

    fn accept_problem(&mut self, problem: Id, a: &Acceptance) -> Result<bool> {
        let sql = "UPDATE problem_metrics SET accepted_by = ?2, accepted_reason = ?3, \
             accepted_at = ?4 WHERE problem_id = ?1";
        let args = p![problem, a.by.as_str(), a.reason.as_str(), a.at];
        if self.engine.execute(sql, &args)? == 0 {
            return Ok(false);
        }
        let sql = "UPDATE problems SET state = 'accepted' WHERE id = ?1 AND state = 'open'";
        self.run(sql, &p![problem])?;
        Ok(true)
    }

    // Coverage: a source file is a `tests` row of kind `coverage`; a build's line coverage is its
    // `coverage_builds` row and spans (docs/coverage.md).
    fn coverage_files(&mut self, paths: &[String]) -> Result<Vec<Id>> {
        let ids = self.tests_of_kind(paths.iter().map(|p| p.as_bytes()), Kind::Coverage)?;
        let sql = format!(
            "SELECT name FROM tests WHERE {} AND kind <> 'coverage' ORDER BY id",
            E::any("id", 1)
        );
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let clash = self
                .engine
                .all(&sql, &[Param::Ids(chunk)], |r| r.bstring(0))?;
            if let Some(name) = clash.first() {
                return Err(Error::bad_input(format!(
                    "the source file `{}` has the name of a test, diagnostic or metric already \
                     recorded",
                    name.to_string().escape_debug()
                ))
                .hint("give the coverage reports another source root (--source-root)"));
            }
        }
        Ok(ids)
    }

    fn write_coverage(&mut self, c: &CoverageBuild, spans: &[CoverageSpan]) -> Result<()> {
        // Coverage carries per-file values to later builds: the lane's metric state goes.
        self.run(DROP_METRIC_STATE, &p![c.build, c.build])?;
        self.delete(&["coverage_spans", "coverage_builds"], "build_id", c.build)?;
        self.run(
            "INSERT INTO coverage_builds (build_id, base_build_id, depth, files, lines_covered, \
             lines_total, branches_covered, branches_total) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &p![
                c.build,
                c.base,
                c.depth,
                c.files,
                c.lines_covered,
                c.lines_total,
                c.branches_covered,
                c.branches_total
            ],
        )?;
        let mut rows = Vec::with_capacity(spans.len() * 8);
        for span in spans {
            let state = span.state;
            let branches = state.and_then(|s| s.branches);
            rows.extend(p![c.build, span.file, span.first, span.last]);
            rows.extend(p![
                state.map(|s| s.covered),
                branches.map(|b| b.covered),
                branches.map(|b| b.total),
                state.and_then(|s| s.hits)
            ]);
        }
        let head = "INSERT INTO coverage_spans (build_id, test_id, first_line, last_line, \
             covered, branches_covered, branches_total, hits)";
        self.engine.insert_rows(head, 8, "", &rows)
    }

    fn lane_coverage(&mut self, lane: Id) -> Result<Vec<CoverageBuild>> {
        let sql = "SELECT c.build_id, b.number, c.base_build_id, c.depth, c.files, \
             c.lines_covered, c.lines_total, c.branches_covered, c.branches_total \
             FROM coverage_builds c JOIN builds b ON b.id = c.build_id \
             WHERE b.lane_id = ?1 ORDER BY b.number";
        self.engine.all(sql, &p![lane], |r| {
            Ok(CoverageBuild {
                build: r.id(0)?,
                number: r.id(1)?,
                base: r.int(2)?,
                depth: u32::try_from(r.count(3)?).unwrap_or(u32::MAX),
                files: r.count(4)?,
                lines_covered: r.count(5)?,
                lines_total: r.count(6)?,
                branches_covered: r.count(7)?,
                branches_total: r.count(8)?,
            })
        })
    }

    fn coverage_spans(&mut self, builds: &[Id]) -> Result<Vec<(Id, CoverageSpan)>> {
        // One query for the builds of a chain (it may be a thousand builds long, most of them a
        // row or none), then in the order asked.
        let sql = format!(
            "SELECT s.build_id, s.test_id, t.name, s.first_line, s.last_line, s.covered, \
             s.branches_covered, s.branches_total, s.hits FROM coverage_spans s \
             JOIN tests t ON t.id = s.test_id WHERE {} \
             ORDER BY s.build_id, s.test_id, s.first_line",
            E::any("s.build_id", 1)
        );
        let mut by_build: HashMap<Id, Vec<CoverageSpan>> = HashMap::new();
        for chunk in builds.chunks(IDS_PER_QUERY) {
            let line = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
            by_build.extend(self.grouped(&sql, chunk, |r| {
                let state = match r.int(5)? {
                    None => None,
                    Some(covered) => Some(crate::coverage::delta::State {
                        covered: covered != 0,
                        // NULL: written before schema 6, which kept only whether it ran.
                        hits: match r.int(8)? {
                            Some(h) => Some(u64::try_from(h).unwrap_or(0)),
                            None => (covered == 0).then_some(0),
                        },
                        branches: match (r.int(6)?, r.int(7)?) {
                            (Some(c), Some(t)) => Some(probtrack_parsers::coverage::Branches {
                                covered: u32::try_from(c).unwrap_or(0),
                                total: u32::try_from(t).unwrap_or(0),
                            }),
                            _ => None,
                        },
                    }),
                };
                Ok(CoverageSpan {
                    file: r.id(1)?,
                    path: r.bstring(2)?.to_string(),
                    first: line(r.count(3)?),
                    last: line(r.count(4)?),
                    state,
                })
            })?);
        }
        let mut out = Vec::new();
        for build in builds {
            if let Some(spans) = by_build.remove(build) {
                out.extend(spans.into_iter().map(|span| (*build, span)));
            }
        }
        Ok(out)
    }

    fn coverage_removals(&mut self, lane: Id) -> Result<Vec<(Id, String)>> {
        let sql = "SELECT s.build_id, t.name FROM coverage_spans s \
             JOIN builds b ON b.id = s.build_id JOIN tests t ON t.id = s.test_id \
             WHERE b.lane_id = ?1 AND s.first_line = 0";
        self.engine.all(sql, &p![lane], |r| {
            Ok((r.id(0)?, r.bstring(1)?.to_string()))
        })
    }
}

/// A build's metadata, then two more values (its builder and number, or its id).
fn build_values(b: &NewBuild, x: i64, y: i64) -> [Param<'_>; 9] {
    p![
        b.lane,
        &b.revision,
        b.time,
        &b.result,
        &b.properties,
        b.clean,
        b.ingested_at,
        x,
        y
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write's map of tests past its size: every test it was given is held or marked (none is
    /// taken for a new one), and few it was not given look marked.
    #[test]
    fn scanned_tests_past_the_map_are_marked_never_missed() {
        let key_of = |i: u64| key(&i.to_le_bytes());
        let runner_of = |i: u64| (i % 1000 == 0).then(|| format!("r{i}"));
        let given = (SCANNED_MOST + 20_000) as u64;
        let mut scanned = Scanned::default();
        for i in 0..given {
            scanned.insert(key_of(i), (i as Id + 1, runner_of(i)));
        }
        assert_eq!(scanned.ids.len(), SCANNED_MOST);
        for i in 0..given {
            match scanned.get(&key_of(i)) {
                Held::Yes(id, runner) => {
                    assert_eq!(id, i as Id + 1);
                    assert_eq!(runner, runner_of(i));
                }
                Held::No => panic!("test {i} was given and is taken for a new one"),
                Held::Maybe => assert!(i as usize >= SCANNED_MOST, "test {i} is not held"),
            }
        }
        let marked = |scanned: &Scanned, from: u64| {
            (from..from + 20_000)
                .filter(|&i| scanned.get(&key_of(i)) == Held::Maybe)
                .count()
        };
        assert!(
            marked(&scanned, given) < 20,
            "few keys never given look marked"
        );
        // At a million past the map, about 2% (what the filter's size is chosen for).
        let million = given + 1_000_000;
        for i in given..million {
            scanned.insert(key_of(i), (i as Id + 1, None));
        }
        let at_a_million = marked(&scanned, million);
        assert!(
            (100..800).contains(&at_a_million),
            "{at_a_million} of 20,000 keys never given look marked at a million"
        );
        // A held test takes the runner id given last, and loses one given none.
        scanned.insert(key_of(0), (1, None));
        assert_eq!(scanned.get(&key_of(0)), Held::Yes(1, None));
    }
}
