//! What a run of ingests in one transaction remembers from build to build: test ids by identity
//! and each lane's runs. An `import` of a thousand builds would otherwise look up the same 10,000
//! test names and read the same lanes back from the database for every build.
//!
//! Only valid inside the transaction that filled it: after a rollback (of the transaction or of a
//! savepoint), call [`Known::forget`].

use std::collections::HashMap;

use bstr::BString;

use crate::error::Result;
use crate::store::{Id, NewTest, Run, RunsOf, Store};

/// How many runs [`LaneChunks`] reads at a time (a test's runs are ~70 bytes in memory).
const CHUNK_ROWS: usize = 32_768;

/// A lane's runs read in test-id order a chunk at a time, so that a lane of a million tests is
/// never in memory at once (docs/performance.md, *Memory of one huge build*).
pub(crate) struct LaneChunks {
    lane: Id,
    chunk: std::iter::Peekable<std::vec::IntoIter<(Id, Vec<Run>)>>,
    /// The last test read; `None` once every chunk has been read.
    after: Option<Id>,
}

impl LaneChunks {
    pub(crate) fn new(lane: Id) -> LaneChunks {
        LaneChunks {
            lane,
            chunk: Vec::new().into_iter().peekable(),
            after: Some(Id::MIN),
        }
    }

    /// The next test with runs on the lane, without taking it. A chunk is read when the last one
    /// is used up: the runs of tests after it must not have been written since (the caller
    /// writes only tests it has passed).
    pub(crate) fn peek(&mut self, store: &mut dyn Store) -> Result<Option<Id>> {
        if self.chunk.peek().is_none() {
            if let Some(after) = self.after {
                let rows = CHUNK_ROWS;
                let lane = self.lane;
                let chunk = store.runs(RunsOf::LaneAfter { lane, after, rows })?;
                self.after = chunk.last().map(|(test, _)| *test);
                self.chunk = chunk.into_iter().peekable();
            }
        }
        Ok(self.chunk.peek().map(|(test, _)| *test))
    }

    /// Takes the test [`LaneChunks::peek`] gave.
    pub(crate) fn take(&mut self) -> Option<(Id, Vec<Run>)> {
        self.chunk.next()
    }
}

/// Each test's runs on a lane (a fast hash: every build looks up each of its tests).
pub(super) type LaneRuns = rustc_hash::FxHashMap<Id, Vec<Run>>;

/// `Known::default()` remembers nothing (one build: nothing to gain, and memory to keep low for a
/// huge report); [`Known::across_builds`] remembers.
#[derive(Default)]
pub(crate) struct Known {
    remember: bool,
    /// A test's name → its id and the runner id stored with it.
    tests: rustc_hash::FxHashMap<BString, (Id, Option<String>)>,
    /// A lane → each test's runs there, as written so far.
    lanes: HashMap<Id, LaneRuns>,
    /// Builds (builder, number) known to be absent from the database: an import looked them up
    /// under the writers' lock, so [`crate::ingest::write`] need not.
    absent: std::collections::HashSet<(String, i64)>,
}

impl Known {
    pub(crate) fn across_builds() -> Known {
        Known {
            remember: true,
            ..Known::default()
        }
    }

    /// Drops everything: the database may no longer hold it.
    pub(crate) fn forget(&mut self) {
        self.tests.clear();
        self.lanes.clear();
        self.absent.clear();
    }

    /// Remembers that the database holds no build `number` of `builder` (looked up in this
    /// transaction).
    pub(crate) fn learn_absent(&mut self, builder: &str, number: i64) {
        self.absent.insert((builder.to_owned(), number));
    }

    /// Whether build `number` of `builder` is known to be absent; it is not once asked (the
    /// caller writes it).
    pub(crate) fn take_absent(&mut self, builder: &str, number: i64) -> bool {
        self.absent.remove(&(builder.to_owned(), number))
    }

    /// A test's id, if known in this transaction and stored with this runner id (`None`: keep
    /// what is stored).
    pub(crate) fn test_id(&self, name: &[u8], runner_id: Option<&str>) -> Option<Id> {
        let (id, stored) = self.tests.get(name)?;
        match runner_id {
            None => Some(*id),
            Some(given) => (Some(given) == stored.as_deref()).then_some(*id),
        }
    }

    /// Remembers the id the store gave a test.
    pub(crate) fn learn_test(&mut self, test: NewTest, id: Id) {
        if !self.remember {
            return;
        }
        let runner = match (test.runner_id, self.tests.get(&test.name)) {
            (None, Some((_, stored))) => stored.clone(),
            (given, _) => given,
        };
        self.tests.insert(test.name, (id, runner));
    }

    /// A lane's runs, taken out of memory (or read from the store); give them back with
    /// [`Known::keep_lane_runs`] once updated.
    pub(crate) fn take_lane_runs(&mut self, store: &mut dyn Store, lane: Id) -> Result<LaneRuns> {
        match self.lanes.remove(&lane) {
            Some(runs) => Ok(runs),
            None => Ok(store.runs(RunsOf::Lane(lane))?.into_iter().collect()),
        }
    }

    /// Whether a lane's runs are in memory, or are to be kept there: else [`LaneChunks`] reads
    /// them a chunk at a time.
    pub(crate) fn holds_lane(&self, lane: Id) -> bool {
        self.remember || self.lanes.contains_key(&lane)
    }

    /// Whether [`Known::keep_lane_runs`] keeps anything.
    pub(crate) fn remembers(&self) -> bool {
        self.remember
    }

    /// Remembers a lane's runs as they now are in the store.
    pub(crate) fn keep_lane_runs(&mut self, lane: Id, runs: LaneRuns) {
        if self.remember {
            self.lanes.insert(lane, runs);
        }
    }
}
