//! Storage: the one interface the rest of probtrack uses, whatever the database.
//!
//! Only this module (and its backends) knows which database is in use. Results are kept as *runs*:
//! per lane (a builder's builds on one branch) and test, the build number from which the test had
//! one outcome; plus the details of every result that is not a plain pass, and compact per-build
//! durations. See `docs/schema.md`.

use std::collections::HashMap;
use std::path::PathBuf;

use bstr::BString;
use probtrack_parsers::{Kind, Status};
use serde::Serialize;

use crate::clock::Micros;
use crate::connect::redact;
use crate::error::{Error, Result};

mod catalog;
mod engine;
mod migrate;
mod mysql;
mod postgres;
mod sql;
mod sqlite;

pub use crate::details::Details;
pub use catalog::{table, Cell, Column, ColumnType, Table, TABLES};

pub type Id = i64;

/// A 16-byte key for a name or text of any length (tests, messages and details are found by it on
/// every backend): the first bytes of its BLAKE3 hash.
pub(crate) fn key(bytes: &[u8]) -> [u8; 16] {
    let hash = blake3::hash(bytes);
    let mut key = [0; 16];
    key.copy_from_slice(&hash.as_bytes()[..16]);
    key
}

/// Where the database lives, as `--db` / `PROBTRACK_DB` / the settings name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// A `mysql://` or `mariadb://` URL (MySQL or MariaDB).
    Mysql(String),
}

impl Location {
    pub fn parse(text: &str) -> Result<Location> {
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            if rest.is_empty() {
                return Err(Error::usage("database `sqlite:` names no file")
                    .hint("write `sqlite:PATH`, e.g. `sqlite:probtrack.db`"));
            }
            return Ok(Location::Sqlite(PathBuf::from(rest)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_owned()));
        }
        if text.starts_with("mysql://") {
            return Ok(Location::Mysql(text.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("mariadb://") {
            return Ok(Location::Mysql(format!("mysql://{rest}")));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(Error::usage(format!(
                "database `{}`: probtrack does not know the scheme `{scheme}://`",
                redact(text)
            ))
            .hint(
                "use a path or `sqlite:PATH`, `postgres://USER@HOST/DB` or `mysql://USER@HOST/DB`",
            ));
        }
        Ok(Location::Sqlite(PathBuf::from(text)))
    }

    /// Whether this is a database server (shared by many machines) rather than a file.
    pub fn is_server(&self) -> bool {
        !matches!(self, Location::Sqlite(_))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) | Location::Mysql(url) => write!(f, "{}", redact(url)),
        }
    }
}

/// Whether opening may create the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Commands that write: create the database (and its schema) when it does not exist.
    Create,
    /// Commands that only read: a missing database is an error that says how to make one.
    Existing,
}

/// Opens the database at `location`, upgrading an older schema and refusing a newer one.
pub fn open(location: &Location, mode: OpenMode) -> Result<Box<dyn Store>> {
    Ok(match location {
        Location::Sqlite(path) => Box::new(sqlite::Sqlite::open(path, mode)?),
        Location::Postgres(url) => Box::new(postgres::Postgres::open(url, mode)?),
        Location::Mysql(url) => Box::new(mysql::Mysql::open(url, mode)?),
    })
}

/// Whether the database exists yet (for a server: whether it holds probtrack's schema).
pub fn exists(location: &Location) -> bool {
    match location {
        Location::Sqlite(path) => path.exists(),
        Location::Postgres(_) | Location::Mysql(_) => open(location, OpenMode::Existing).is_ok(),
    }
}

/// Whether `location` names a database file that does not exist yet: the one kind of database that
/// [`remove_if_empty`] removes again after a failed first write. A server's database is never
/// removed, so it is not opened (connected to, its schema checked) to find out.
pub fn is_new_file(location: &Location) -> bool {
    matches!(location, Location::Sqlite(path) if !path.exists())
}

/// Removes a database file that holds no build (one that a failed first ingest created). A server
/// database is left as it is: its schema is shared and cheap.
pub fn remove_if_empty(location: &Location) {
    let Location::Sqlite(path) = location else {
        return;
    };
    let empty = open(location, OpenMode::Existing)
        .and_then(|mut store| {
            store.builds(&BuildFilter {
                limit: 1,
                ..BuildFilter::default()
            })
        })
        .is_ok_and(|builds| builds.is_empty());
    if !empty {
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// A step of [`Store::savepoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Savepoint {
    /// Marks the point to come back to.
    Mark,
    /// Keeps what was written since the mark.
    Keep,
    /// Undoes what was written since the mark.
    Undo,
}

/// What an ingest locks, as it reaches it (see [`Store::lock`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock<'a> {
    /// A lane (builder and branch): its builds' rows and runs, written one build at a time.
    Lane {
        builder: &'a str,
        branch: Option<&'a str>,
    },
    /// A branch's Problems (they span its builders): judged one build at a time.
    Branch(Option<&'a str>),
    /// The creation of new tests, shared by every lane: one ingest at a time creates them (in the
    /// order its reports list them), so that two cannot deadlock on them.
    NewTests,
}

impl Lock<'_> {
    /// The lock's 64-bit key: a hash of what it names, apart from the writers' lock's.
    pub fn key(&self) -> i64 {
        let mut name = Vec::new();
        let (kind, builder, branch) = match *self {
            Lock::Lane { builder, branch } => ("lane", Some(builder), branch),
            Lock::Branch(branch) => ("branch", None, branch),
            Lock::NewTests => ("tests", None, None),
        };
        // Stored alike (lanes keep no branch as ''), so locked alike.
        let branch = branch.filter(|b| !b.is_empty());
        for part in [Some(kind), builder, branch] {
            // Absent and empty differ; a 0 byte ends each part.
            match part {
                Some(text) => name.extend_from_slice(text.as_bytes()),
                None => name.push(1),
            }
            name.push(0);
        }
        let k = key(&name);
        i64::from_le_bytes([k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]])
    }
}

/// How many results of each status a build has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub error: u64,
    pub skipped: u64,
    pub expected_failure: u64,
    pub unexpected_success: u64,
    pub flaky: u64,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        *self.slot(status) += 1;
    }

    fn slot(&mut self, status: Status) -> &mut u64 {
        match status {
            Status::Passed => &mut self.passed,
            Status::Failed => &mut self.failed,
            Status::Error => &mut self.error,
            Status::Skipped => &mut self.skipped,
            Status::ExpectedFailure => &mut self.expected_failure,
            Status::UnexpectedSuccess => &mut self.unexpected_success,
            Status::Flaky => &mut self.flaky,
        }
    }
}

/// A build as stored.
#[derive(Clone, Debug)]
pub struct BuildRecord {
    pub id: Id,
    pub builder: String,
    pub number: i64,
    pub lane: Id,
    /// `None`: the build has no branch.
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub time: Micros,
    pub result: Option<String>,
    /// A JSON object.
    pub properties: String,
    pub clean: bool,
    pub counts: Counts,
}

/// What [`Store::forget_build`] forgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forget {
    /// Its blamelist, which a build that arrived late changes.
    Blamelist,
    /// Its reports, results and blamelist; its metadata stays (`--replace`).
    Results,
    /// The build and all that hangs on it.
    Build,
}

/// The metadata of a build to create or update.
#[derive(Clone, Debug)]
pub struct NewBuild {
    pub builder: Id,
    pub number: i64,
    pub lane: Id,
    pub revision: Option<String>,
    pub time: Micros,
    pub result: Option<String>,
    pub properties: String,
    pub clean: bool,
    pub ingested_at: Micros,
}

/// A build of a lane, in the lane's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneBuild {
    pub number: i64,
    pub id: Id,
    pub revision: Option<String>,
    pub time: Micros,
    /// Built with `--clean-build`: it compiled every source file.
    pub clean: bool,
    /// The set of source files its compiler logs show it compiling (`compiled_sets`), if any.
    pub compiled: Option<Id>,
}

/// A lane: one builder's builds on one branch.
#[derive(Clone, Debug)]
pub struct LaneRecord {
    pub id: Id,
    pub builder: String,
    pub branch: Option<String>,
    /// `prune` dropped this lane's builds numbered below this.
    pub pruned_before: Option<i64>,
}

/// From build `first` of its lane on, until the next run, a test's outcome was `status` (`None`: the
/// test was not in those builds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub first: i64,
    pub status: Option<Status>,
}

/// Whose runs [`Store::runs`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunsOf {
    /// Every test's on this lane, by test.
    Lane(Id),
    /// The next tests' on a lane, by test: those with an id above `after`, whole, in about `rows`
    /// runs (more only where one test alone has more); none once past the last. Reads a lane of
    /// a million tests in bounded memory.
    LaneAfter { lane: Id, after: Id, rows: usize },
}

/// A test to look up or create.
#[derive(Clone, Debug)]
pub struct NewTest {
    pub name: BString,
    pub kind: Kind,
    pub file: Option<BString>,
    pub runner_id: Option<String>,
}

/// Which tests [`Store::tests`] finds.
#[derive(Clone, Copy, Debug)]
pub enum Tests<'a> {
    Ids(&'a [Id]),
    /// The test of exactly this name.
    Named(&'a [u8]),
    /// Tests whose name contains these bytes (case-sensitive), at most `usize`.
    Containing(&'a [u8], usize),
}

#[derive(Clone, Debug)]
pub struct TestRecord {
    pub id: Id,
    pub name: BString,
    pub kind: Kind,
    pub file: Option<BString>,
    pub runner_id: Option<String>,
}

/// The stored details of one result that is not a plain pass.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRecord {
    pub test: Id,
    pub status: Status,
    pub duration: Option<f64>,
    pub message: Option<BString>,
    pub attempts: u32,
    /// A JSON object, or `None` when there are no details.
    pub details: Option<Details>,
}

/// A stored result's message and details as ids ([`Store::result_texts`]).
pub type ResultTexts = (Option<i64>, Option<i64>, Option<Vec<u8>>);

/// A change (commit) as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    pub revision: String,
    /// As the change records it: `Name <email>`.
    pub author: Option<String>,
    pub time: Option<Micros>,
    pub comments: Option<String>,
    /// Parent revisions, space-separated, where known.
    pub parents: Option<String>,
}

/// Which changes [`Store::changes`] finds.
#[derive(Clone, Copy, Debug)]
pub enum Changes<'a> {
    OfBuild(Id),
    Revision(&'a str),
}

/// A change as a Problem names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRef {
    pub id: Id,
    pub revision: String,
    pub author: Option<String>,
}

/// A build as a Problem names it (copied in, so that it outlives pruning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildRef {
    pub builder: String,
    pub number: i64,
    pub time: Micros,
    pub revision: Option<String>,
}

/// One builder's part in a Problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProblemBuilder {
    pub builder: String,
    pub first_number: i64,
    pub last_number: i64,
    pub fixed_number: Option<i64>,
}

/// A Problem as stored.
#[derive(Clone, Debug)]
pub struct ProblemRecord {
    /// 0 for a Problem not stored yet.
    pub id: Id,
    pub test: Id,
    pub test_name: BString,
    pub kind: Kind,
    pub branch: Option<String>,
    pub first_build: Id,
    pub first_failure: BuildRef,
    pub last_failure: BuildRef,
    pub fixed: Option<BuildRef>,
    pub open: bool,
    /// Every failure of it lies in a known-bad range (`mark-bad`): kept, with its id and what hangs
    /// on it, for `unmark-bad` to bring back, but shown nowhere (stored state `hidden`).
    pub hidden: bool,
    pub intermittent: bool,
    pub failures: u64,
    pub message: Option<BString>,
    /// The cause cluster id of the last failure (`analyze::signature::cause_id`).
    pub cluster: Option<String>,
    pub builders: Vec<ProblemBuilder>,
    pub started_by: Vec<ChangeRef>,
    pub fixed_by: Vec<ChangeRef>,
    /// A metric Problem's step (kind `metric`); `None` for a test's.
    pub metric: Option<MetricStep>,
}

impl ProblemRecord {
    /// The state stored and shown: `open`; `fixed` (a pass fixed it); `retired` (every builder that
    /// failed it was retired and never passed it again: not open, and nothing fixed it); `hidden`
    /// (a known-bad range explains it); `accepted` (a metric Problem whose new level someone
    /// declared the normal one, and that the series has not returned from: not open, not fixed).
    pub fn state(&self) -> &'static str {
        let accepted = self.metric.as_ref().is_some_and(|m| m.accepted.is_some());
        match (self.hidden, self.open, &self.fixed) {
            (true, ..) => "hidden",
            (false, _, None) if accepted => "accepted",
            (false, true, _) => "open",
            (false, false, Some(_)) => "fixed",
            (false, false, None) => "retired",
        }
    }
}

/// Which Problems a listing shows.
#[derive(Clone, Debug, Default)]
pub struct ProblemFilter {
    /// `Some(true)`: open only; `Some(false)`: fixed only.
    pub open: Option<bool>,
    /// `Some(false)`: leave intermittent Problems out.
    pub intermittent: Option<bool>,
    /// `None`: every branch.
    pub branch: Option<Option<String>>,
    pub test: Option<Id>,
    /// Problems of any of these tests.
    pub tests: Option<Vec<Id>>,
    pub ids: Option<Vec<Id>>,
    /// Problems whose first failure is this build.
    pub first_build: Option<Id>,
    /// Include hidden Problems (those a known-bad range explains), for analysis.
    pub hidden: bool,
}

/// A bug-tracker link on a Problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRecord {
    pub url: String,
    /// Whether the linked bug is still open.
    pub open: bool,
    pub added_at: Micros,
}

/// A note on a Problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteRecord {
    pub text: String,
    pub author: Option<String>,
    pub added_at: Micros,
}

/// A known-bad range of a builder's builds: they give no evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRange {
    pub builder: String,
    pub from: i64,
    /// `None`: every later build too.
    pub to: Option<i64>,
    pub reason: String,
    pub added_at: Micros,
}

impl BadRange {
    pub fn contains(&self, number: i64) -> bool {
        number >= self.from && self.to.is_none_or(|to| number <= to)
    }
}

/// One failing result, for clustering.
#[derive(Clone, Debug)]
pub struct FailureRow {
    pub test: Id,
    pub test_name: BString,
    pub builder: String,
    pub number: i64,
    pub time: Micros,
    pub revision: Option<String>,
    pub message: Option<BString>,
    /// The failure's full text (`details.text`: a traceback), where the report gave one.
    pub text: Option<String>,
}

/// What `notify` recorded for one Problem, event and target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    pub problem: Id,
    /// `opened`, `fixed` or `intermittent`.
    pub event: String,
    /// `webhook` or `email:ADDRESS`.
    pub target: String,
    /// `None`: the last attempt failed (the table keeps how many and the last error).
    pub sent_at: Option<Micros>,
}

/// Which builds a listing shows.
#[derive(Clone, Debug, Default)]
pub struct BuildFilter {
    pub builder: Option<String>,
    /// `Some(None)`: builds without a branch; `None`: every branch.
    pub branch: Option<Option<String>>,
    /// The build of this number (of `builder`).
    pub number: Option<i64>,
    pub limit: usize,
}

/// A metric series as stored: a `tests` row of kind `metric` and its `metric_series` row.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRecord {
    pub id: Id,
    /// The identity, `NAME{key=value,...}`.
    pub name: String,
    /// The normalised unit (`s`, `B`, `B/s`, or as written); `None`: a plain number.
    pub unit: Option<String>,
    /// `lower_is_better` or `higher_is_better` where a metric file said so; else `None` (the
    /// settings, then the unit decide).
    pub direction: Option<String>,
}

/// One value of a series in one build, with the spread of its rounds.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricValue {
    pub series: Id,
    pub value: f64,
    /// How many rounds the value comes from (0: unknown).
    pub rounds: u64,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub stddev: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The rounds themselves, where the file gave them.
    pub samples: Vec<f64>,
}

/// A stored value of a series in a build of a lane.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    pub series: Id,
    pub build: Id,
    pub number: i64,
    pub time: Micros,
    pub revision: Option<String>,
    pub value: MetricValue,
}

/// A metric Problem's step: its size, which way it went, and whether someone accepted it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricStep {
    /// `regression` or `improvement`.
    pub step: String,
    /// The levels before and after the step.
    pub before: f64,
    pub after: f64,
    /// The step's size in units of its standard error.
    pub z: f64,
    pub accepted: Option<Acceptance>,
}

/// Who declared a metric Problem's new level the normal one, and why (`accept`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    pub by: String,
    pub reason: String,
    pub at: Micros,
}

/// A build's coverage as stored: its totals, and what its spans are relative to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoverageBuild {
    pub build: Id,
    /// The build's number (read back; ignored when writing).
    pub number: i64,
    /// The build whose coverage the spans change; `None`: the spans are the whole (a keyframe).
    pub base: Option<Id>,
    /// How many deltas led from the chain's keyframe to this build when it was written (0 for a
    /// keyframe); a build before it rewritten as a keyframe since may have shortened the chain.
    pub depth: u32,
    pub files: u64,
    pub lines_covered: u64,
    pub lines_total: u64,
    pub branches_covered: u64,
    pub branches_total: u64,
}

/// One stored span of a build's coverage: lines `first..=last` of a file now have `state`
/// (`None`: not executable; with `first == 0`, the file has no coverage any more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageSpan {
    pub file: Id,
    /// The file's path (read back; ignored when writing).
    pub path: String,
    pub first: u32,
    pub last: u32,
    pub state: Option<crate::coverage::delta::State>,
}

/// The storage interface. Writes happen between [`Store::begin_write`] and [`Store::commit`]: an
/// ingest is one transaction.
pub trait Store {
    fn begin_write(&mut self) -> Result<()>;
    /// Starts an ingest's write. Where the engine lets ingests write at once (PostgreSQL), it
    /// holds the writers' lock shared (ingests go on together; [`Store::begin_write`]'s writers
    /// wait for them, and they for it), and the ingest takes [`Store::lock`] on its lane and then
    /// its branch; elsewhere it is [`Store::begin_write`].
    fn begin_ingest(&mut self) -> Result<()>;
    /// Inside a write, takes the lock of a lane or branch until the write ends (true); nothing
    /// where the write holds the database whole (false).
    fn lock(&mut self, scope: Lock<'_>) -> Result<bool>;
    /// Inside a write, lets a server's engine hold the writes whose answers nothing reads and
    /// send several in one round trip, until the write ends: each goes before any statement that
    /// could see it. An error of a held write comes from a later call, and the write will not
    /// commit after it: an import sends each build's writes at its end ([`Store::send_held`]).
    fn hold_writes(&mut self);
    /// Sends the writes held so far, so that an error of one comes now (an import's build's).
    fn send_held(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;
    /// Inside a write, a savepoint (one at a time), so that one build of a batch can fail without
    /// undoing the others: marked, then kept or undone (the transaction goes on).
    fn savepoint(&mut self, step: Savepoint) -> Result<()>;

    fn create_builder(&mut self, name: &str) -> Result<Id>;
    fn lane_id(&mut self, builder: Id, branch: Option<&str>) -> Result<Id>;
    fn lanes(&mut self) -> Result<Vec<LaneRecord>>;
    fn set_pruned_before(&mut self, lane: Id, number: i64) -> Result<()>;

    /// Creates a build (`id` `None`) or updates one's metadata; returns its id.
    fn save_build(&mut self, id: Option<Id>, build: &NewBuild) -> Result<Id>;
    fn set_build_outcome(&mut self, id: Id, counts: &Counts, durations: &[u8]) -> Result<()>;
    /// Forgets a build, or part of it.
    fn forget_build(&mut self, id: Id, what: Forget) -> Result<()>;
    /// The builds of each of `lanes`, oldest first, by lane (in one query: judging reads a
    /// branch's every lane under its lock).
    fn lanes_builds(&mut self, lanes: &[Id]) -> Result<HashMap<Id, Vec<LaneBuild>>>;
    /// Records the source files a build compiled (none: `compiled` NULL), each set stored once.
    fn set_compiled(&mut self, build: Id, files: &[BString]) -> Result<()>;
    /// The files of compiled sets (`LaneBuild::compiled`), by set.
    fn compiled_sets(&mut self, sets: &[Id]) -> Result<HashMap<Id, Vec<BString>>>;
    /// Builds, newest first.
    fn builds(&mut self, filter: &BuildFilter) -> Result<Vec<BuildRecord>>;
    fn build_durations(&mut self, build: Id) -> Result<Option<Vec<u8>>>;

    fn report_exists(&mut self, build: Id, hash: &[u8]) -> Result<bool>;
    fn insert_report(
        &mut self,
        build: Id,
        hash: &[u8],
        name: &str,
        parser: &str,
        results: u64,
        at: Micros,
    ) -> Result<()>;

    /// Adds a change to a build's blamelist, storing it or adding to what is known of it.
    fn link_change(&mut self, build: Id, change: &ChangeRecord) -> Result<()>;
    /// The changes of a build's blamelist, in blamelist order, or the change of a revision.
    fn changes(&mut self, which: Changes<'_>) -> Result<Vec<ChangeRecord>>;

    /// Looks up or creates each test; returns their ids in order.
    fn test_ids(&mut self, tests: &[NewTest]) -> Result<Vec<Id>>;
    /// The tests with these ids, or this name, or whose name contains some bytes (at most a
    /// limit, by name).
    fn tests(&mut self, which: Tests<'_>) -> Result<Vec<TestRecord>>;

    /// Runs, by test on a lane; each one's runs oldest first.
    fn runs(&mut self, of: RunsOf) -> Result<Vec<(Id, Vec<Run>)>>;
    /// The runs of these tests on every lane, `(test, lane, runs oldest first)` by test and lane:
    /// one query for many tests (judging reads every test a build touched).
    fn tests_runs(&mut self, tests: &[Id]) -> Result<Vec<(Id, Id, Vec<Run>)>>;
    /// Replaces tests' runs on a lane: `(test, starts to delete, runs to write)` each.
    fn write_runs(&mut self, lane: Id, writes: &[(Id, Vec<i64>, Vec<Run>)]) -> Result<()>;
    /// The compile diagnostics that have ever had an outcome on a lane, with their files.
    fn lane_compile_tests(&mut self, lane: Id) -> Result<Vec<(Id, Option<BString>)>>;

    /// The stored results (those that are not plain passes) of a build, of a test, or of a test
    /// in a build, each with its build, in build and test order; without `details`, each with
    /// none (they are not read, nor inflated).
    fn results(
        &mut self,
        build: Option<Id>,
        test: Option<Id>,
        details: bool,
    ) -> Result<Vec<(Id, ResultRecord)>>;
    /// The stored results, with their details, of these `(build, test)` pairs, each with its
    /// build, in build and test order: [`Store::results`] of many tests in many builds, in one
    /// query (judging reads each new Problem's last failure).
    fn results_of(&mut self, pairs: &[(Id, Id)]) -> Result<Vec<(Id, ResultRecord)>>;
    /// What the stored results of these `(build, test)` pairs say, by pair, as ids: their
    /// message's id, their details' id and their details written inline (the same for two
    /// results: the same message and details, without reading or inflating them).
    fn result_texts(&mut self, pairs: &[(Id, Id)]) -> Result<HashMap<(Id, Id), ResultTexts>>;
    /// The distinct messages of a test's failures and errors.
    fn failure_messages(&mut self, test: Id) -> Result<Vec<BString>>;
    fn replace_build_results(&mut self, build: Id, results: &[ResultRecord]) -> Result<()>;

    /// The changes in each build's blamelist.
    fn blamelists(&mut self, builds: &[Id]) -> Result<HashMap<Id, Vec<ChangeRef>>>;
    fn retire_builder(&mut self, name: &str, at: Option<Micros>) -> Result<bool>;
    fn retired_builders(&mut self) -> Result<Vec<String>>;
    /// Every test with an outcome on a lane.
    fn lane_tests(&mut self, lane: Id) -> Result<Vec<Id>>;

    /// Tests with a Problem on `branch` that `builder` still fails, or fixed in a build numbered
    /// `since` or later.
    fn tests_with_recent_problems(
        &mut self,
        builder: &str,
        branch: Option<&str>,
        since: i64,
    ) -> Result<Vec<Id>>;
    /// `(test, id, first build)` of these tests' Problems on a branch, by test and id.
    fn problem_keys(&mut self, tests: &[Id], branch: Option<&str>) -> Result<Vec<(Id, Id, Id)>>;
    /// Inserts (`id == 0`) or updates a Problem with its builders and changes; returns its id.
    fn save_problem(&mut self, problem: &ProblemRecord) -> Result<Id>;
    /// Inserts new Problems (each `id == 0`) with their builders and changes, as
    /// [`Store::save_problem`] of each in turn would: their ids, returned in order, ascend in
    /// that order. A few statements for all of them, not several each.
    fn save_problems(&mut self, problems: &[ProblemRecord]) -> Result<Vec<Id>>;
    /// Updates the stored Problem `stored` (as [`Store::problems`] read it, in this write) to
    /// `problem` (the same id), as [`Store::save_problem`] would, writing only the parts that
    /// differ: an open Problem that grew by a build changes its row, a builder's last build and
    /// its step's levels, not its changes nor its message.
    fn update_problem(&mut self, problem: &ProblemRecord, stored: &ProblemRecord) -> Result<Id>;
    fn delete_problem(&mut self, id: Id) -> Result<()>;
    fn problems(&mut self, filter: &ProblemFilter) -> Result<Vec<ProblemRecord>>;

    /// Adds a link to a Problem or sets an existing link's state (`Some(open)`), or removes it
    /// (`None`); false when there was no link to remove.
    fn set_link(&mut self, problem: Id, url: &str, open: Option<bool>, at: Micros) -> Result<bool>;
    /// The links of these Problems, oldest first.
    fn links(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<LinkRecord>>>;
    fn add_note(&mut self, problem: Id, text: &str, author: Option<&str>, at: Micros)
        -> Result<Id>;
    /// The notes of these Problems, oldest first.
    fn notes(&mut self, problems: &[Id]) -> Result<HashMap<Id, Vec<NoteRecord>>>;

    /// Marks a builder's builds `from..=to` bad; false where there is no such builder.
    fn add_bad_range(
        &mut self,
        builder: &str,
        from: i64,
        to: Option<i64>,
        reason: &str,
        at: Micros,
    ) -> Result<bool>;
    /// Removes a builder's bad ranges that start at `from`; returns how many.
    fn remove_bad_ranges(&mut self, builder: &str, from: i64) -> Result<u64>;
    fn bad_ranges(&mut self) -> Result<Vec<BadRange>>;

    /// Records that `old`'s history belongs to `new`, and moves `old`'s Problems to `new` (keeping
    /// their ids), except any whose key `new` already has.
    fn rename_test(&mut self, old: Id, new: Id, at: Micros) -> Result<()>;
    /// `(old, new)` of every rename.
    fn renames(&mut self) -> Result<Vec<(Id, Id)>>;

    /// Every failing result on a branch (`None`: no branch), from builds at or after `since`.
    fn failures(&mut self, branch: Option<&str>, since: Option<Micros>) -> Result<Vec<FailureRow>>;

    fn notifications(&mut self) -> Result<Vec<NotificationRecord>>;
    /// Records a send (`sent_at` set) or a failed attempt (`error` set).
    fn record_notification(
        &mut self,
        problem: Id,
        event: &str,
        target: &str,
        sent_at: Option<Micros>,
        error: Option<&str>,
    ) -> Result<()>;
    fn notify_baseline(&mut self) -> Result<Option<Micros>>;
    fn set_notify_baseline(&mut self, at: Micros) -> Result<()>;

    /// Every row of `table`, in its key order, one at a time (for `copy` and for tests).
    fn read_table(
        &mut self,
        table: &Table,
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()>;
    /// Inserts rows of `table` as they are, ids included (for `copy`, inside a write).
    fn write_rows(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<()>;
    fn count_rows(&mut self, table: &Table) -> Result<u64>;
    /// For `copy`, each serial table's highest id, `(table, id)`: the highest stored or ever
    /// given (a row since deleted kept it, where the engine keeps the count), and for builds
    /// also every first failing build a Problem names.
    fn highest_ids(&mut self) -> Result<Vec<(&'static str, i64)>>;
    /// Before `copy` writes into the empty tables, outside its transaction: where an engine's
    /// counters move only by DDL that commits (MySQL), they move here, above the source's
    /// [`Store::highest_ids`].
    fn before_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()>;
    /// After `copy` wrote explicit ids: lets new rows take ids above the source's
    /// [`Store::highest_ids`], so that no id the source gave is given again.
    fn finish_copy(&mut self, highest: &[(&'static str, i64)]) -> Result<()>;

    // Metrics (docs/metrics.md).
    /// The series named (identities), as stored: `None` for a name with no series yet. A name
    /// that a test or diagnostic holds is an error.
    fn series_by_name(&mut self, names: &[String]) -> Result<Vec<Option<SeriesRecord>>>;
    /// Creates the series (their identity, unit and direction), or sets the direction of one
    /// whose file names it now; returns their ids in order.
    fn create_series(&mut self, series: &[SeriesRecord]) -> Result<Vec<Id>>;
    /// The series with these ids (those that are series), or every series (`None`), by identity.
    fn series(&mut self, ids: Option<&[Id]>) -> Result<Vec<SeriesRecord>>;
    /// Writes a build's values (replacing those of the same series in the build).
    fn write_metric_values(&mut self, build: Id, values: &[MetricValue]) -> Result<()>;
    /// The values of a lane's builds numbered from `since` on, of the `series` given (`None`:
    /// every series), by series then build number.
    fn lane_metric_values(
        &mut self,
        lane: Id,
        series: Option<&[Id]>,
        since: i64,
    ) -> Result<Vec<MetricPoint>>;
    /// What judging reads of a lane's builds numbered from `since` on: `(series, build, value)`
    /// of the `series` given (`None`: of every series), in no set order (no spread, no build
    /// row). With `None` the store reads the builds' values build by build, without a seek per
    /// value.
    fn lane_metric_levels(
        &mut self,
        lane: Id,
        series: Option<&[Id]>,
        since: i64,
    ) -> Result<Vec<(Id, Id, f64)>>;
    /// The parts of the metric state a lane's judging keeps between ingests (`metrics::state`):
    /// `(part, data)` in part order.
    fn metric_state(&mut self, lane: Id) -> Result<Vec<(i64, Vec<u8>)>>;
    /// Drops the lane's metric state parts numbered below `below`, then adds `parts`: `(part,
    /// the number of its newest build, data)`.
    fn put_metric_state(
        &mut self,
        lane: Id,
        below: i64,
        parts: &[(i64, i64, Vec<u8>)],
    ) -> Result<()>;
    /// Records who accepted a metric Problem's new level, and why; its state becomes `accepted`.
    fn accept_problem(&mut self, problem: Id, acceptance: &Acceptance) -> Result<bool>;

    // Coverage (docs/coverage.md).
    /// The ids of the source files named (relative paths), created as tests of kind `coverage`
    /// where new. A path that a test, diagnostic or metric holds is an error.
    fn coverage_files(&mut self, paths: &[String]) -> Result<Vec<Id>>;
    /// Writes a build's coverage: its record and spans, replacing any it had.
    fn write_coverage(&mut self, record: &CoverageBuild, spans: &[CoverageSpan]) -> Result<()>;
    /// The coverage records of a lane's builds, in build order.
    fn lane_coverage(&mut self, lane: Id) -> Result<Vec<CoverageBuild>>;
    /// The spans of the builds given, with their files' paths, by build (in the order given),
    /// then file, then first line.
    fn coverage_spans(&mut self, builds: &[Id]) -> Result<Vec<(Id, CoverageSpan)>>;
    /// The files whose coverage a lane's builds removed (the spans with `first_line` 0): `(build,
    /// path)`.
    fn coverage_removals(&mut self, lane: Id) -> Result<Vec<(Id, String)>>;
}

/// Shapes of the trait's answers that callers want often, written once over its methods.
impl dyn Store + '_ {
    pub fn tests_by_id(&mut self, ids: &[Id]) -> Result<HashMap<Id, TestRecord>> {
        Ok(self
            .tests(Tests::Ids(ids))?
            .into_iter()
            .map(|t| (t.id, t))
            .collect())
    }

    pub fn test_by_name(&mut self, name: &[u8]) -> Result<Option<TestRecord>> {
        Ok(self.tests(Tests::Named(name))?.pop())
    }

    /// The builds of a lane, oldest first.
    pub fn lane_builds(&mut self, lane: Id) -> Result<Vec<LaneBuild>> {
        Ok(self
            .lanes_builds(&[lane])?
            .remove(&lane)
            .unwrap_or_default())
    }

    pub fn find_build(&mut self, builder: &str, number: i64) -> Result<Option<BuildRecord>> {
        let filter = BuildFilter {
            builder: Some(builder.to_owned()),
            branch: None,
            number: Some(number),
            limit: 1,
        };
        Ok(self.builds(&filter)?.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::Lock;

    #[test]
    fn lane_and_branch_locks_have_keys_of_their_own() {
        let lane = |builder, branch| Lock::Lane { builder, branch }.key();
        // No branch is stored as '' and locked alike.
        assert_eq!(lane("b", None), lane("b", Some("")));
        assert_eq!(Lock::Branch(None).key(), Lock::Branch(Some("")).key());
        let keys = [
            lane("b", None),
            lane("b", Some("main")),
            lane("c", None),
            lane("bmain", None),
            Lock::Branch(None).key(),
            Lock::Branch(Some("main")).key(),
            Lock::Branch(Some("b")).key(),
            0x7072_6f62_7472_6b00, // the writers' lock on PostgreSQL
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
