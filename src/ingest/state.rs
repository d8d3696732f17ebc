//! A build's results as reports stream in: one compact entry per test, merged as the contracts say.

use std::collections::HashSet;

use bstr::{BString, ByteSlice};
use chrono::{DateTime, Utc};
use probtrack_parsers::{Kind, Sink, Status, TestResult};

use super::Known;
use crate::error::Error;
use crate::store::{Details, Id, NewTest, ResultRecord, Store};

/// One test's result in the build being written: 24 bytes, as a huge build holds one per test
/// until it is written (docs/performance.md, *Memory of one huge build*).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub status: Status,
    pub attempts: u32,
    /// Seconds; NaN for none (a parser gives no NaN: it drops a duration that is not finite).
    duration: f64,
    /// Which report (0: what the build held before this ingest).
    report: u32,
    /// Index into [`BuildState::details`]; `u32::MAX` for a result without message or details.
    detail: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 24);

impl Entry {
    fn new(
        status: Status,
        attempts: u32,
        duration: Option<f64>,
        report: u32,
        detail: Option<u32>,
    ) -> Entry {
        Entry {
            status,
            attempts,
            duration: duration.unwrap_or(f64::NAN),
            report,
            detail: detail.unwrap_or(u32::MAX),
        }
    }

    /// The result's duration in seconds, if any report gave one.
    pub(crate) fn duration(&self) -> Option<f64> {
        (!self.duration.is_nan()).then_some(self.duration)
    }

    /// Index into [`BuildState::details`], for results with a message or details.
    pub(crate) fn detail(&self) -> Option<u32> {
        (self.detail != u32::MAX).then_some(self.detail)
    }
}

/// The message and details of a result that has them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Detail {
    pub message: Option<BString>,
    pub details: Option<Details>,
}

/// The build's results so far.
#[derive(Debug, Default)]
pub(crate) struct BuildState {
    pub entries: Entries,
    pub details: Vec<Detail>,
    /// Source files the compiler logs show being compiled.
    pub compiled: HashSet<BString>,
    pub warnings: Vec<String>,
    /// The earliest time a report names.
    pub timestamp: Option<DateTime<Utc>>,
    /// The entries that are source files' coverage (kind `coverage`): not counted as tests.
    pub coverage: HashSet<Id>,
}

impl BuildState {
    /// A result the build held before this ingest.
    pub(crate) fn existing(&mut self, record: ResultRecord) {
        let detail = self.detail(record.message, record.details);
        self.entries.push(
            record.test,
            Entry::new(
                record.status,
                record.attempts.max(1),
                record.duration,
                0,
                detail,
            ),
        );
    }

    /// A plain result the build held before this ingest (no stored row).
    pub(crate) fn existing_plain(&mut self, test: Id, status: Status, duration: Option<f64>) {
        self.entries
            .push(test, Entry::new(status, 1, duration, 0, None));
    }

    fn detail(&mut self, message: Option<BString>, details: Option<Details>) -> Option<u32> {
        if message.is_none() && details.is_none() {
            return None;
        }
        self.details.push(Detail { message, details });
        Some(u32::try_from(self.details.len() - 1).unwrap_or(u32::MAX))
    }

    /// Adds one result of report `report` (numbered from 1). A test that comes again is merged
    /// with what came before by [`BuildState::settle`].
    fn add(&mut self, test: Id, result: TestResult, details: Option<Details>, report: u32) {
        let detail = self.detail(result.message, details);
        let entry = Entry::new(
            result.status,
            result.attempts.max(1),
            result.duration,
            report,
            detail,
        );
        self.entries.push(test, entry);
    }

    /// Merges the results of each test that came more than once, in the order they came, so that
    /// [`BuildState::entries`] holds one entry per test, sorted by id. Cheap when the tests came
    /// in ascending id order, each once (new tests get their ids in the order they come).
    pub(crate) fn settle(&mut self) {
        let Entries { list, sorted } = &mut self.entries;
        if *sorted {
            return;
        }
        let n = list.len();
        // Positions in id order, each test's results in the order they came.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by_key(|&i| (list[i as usize].0, i));
        // Fold each test's later results into its first, which alone stays.
        let mut kept = 0;
        for r in 0..n {
            let i = order[r] as usize;
            if kept > 0 {
                let first = order[kept - 1] as usize;
                if list[first].0 == list[i].0 {
                    list[first].1 = merge(list[first].1, list[i].1, &mut self.details);
                    continue;
                }
            }
            order[kept] = i as u32;
            kept += 1;
        }
        // Into that order, in place (the folded positions last, then cut off), by following the
        // permutation's cycles.
        let mut dropped: Vec<bool> = vec![true; n];
        for &i in &order[..kept] {
            dropped[i as usize] = false;
        }
        order.truncate(kept);
        order.extend((0..n as u32).filter(|&i| dropped[i as usize]));
        drop(dropped);
        const DONE: u32 = u32::MAX;
        for start in 0..n {
            if order[start] == DONE || order[start] as usize == start {
                continue;
            }
            let saved = list[start];
            let mut k = start;
            loop {
                let from = order[k] as usize;
                order[k] = DONE;
                if from == start {
                    list[k] = saved;
                    break;
                }
                list[k] = list[from];
                k = from;
            }
        }
        list.truncate(kept);
        *sorted = true;
    }
}

/// The result of a test that came again (`next`) merged into what came before (`prev`), as the
/// contracts say: a repeat within one report is a retry; a skip does not hide an outcome; failing
/// in one report and passing in a later one is flaky.
fn merge(prev: Entry, next: Entry, details: &mut [Detail]) -> Entry {
    let attempts = prev.attempts.saturating_add(next.attempts);
    let status = if prev.report == next.report {
        // A repeat within one report: a retry.
        probtrack_parsers::repeat_status(prev.status, next.status)
    } else if next.status == Status::Skipped && prev.status != Status::Skipped {
        prev.status
    } else if next.status.is_passing() && (prev.status.is_failing() || prev.status == Status::Flaky)
    {
        // Failed in one report, passed in a later one: flaky.
        Status::Flaky
    } else {
        next.status
    };
    let keep_prev = next.status == Status::Skipped && prev.status != Status::Skipped;
    let duration = match (prev.duration(), next.duration()) {
        (Some(a), Some(b)) if !keep_prev => Some(a + b),
        (a, b) => a.or(b),
    };
    let detail = match next.detail() {
        Some(i) if !keep_prev => {
            // The later message and details, each where it has one, else the earlier.
            // The earlier entry's detail is no longer referenced: taken, not copied.
            let previous = prev
                .detail()
                .and_then(|p| details.get_mut(p as usize))
                .map(std::mem::take)
                .unwrap_or_default();
            if let Some(d) = details.get_mut(i as usize) {
                if d.message.is_none() {
                    d.message = previous.message;
                }
                if d.details.is_none() {
                    d.details = previous.details;
                }
            }
            Some(i)
        }
        unused => {
            if let Some(d) = unused.and_then(|i| details.get_mut(i as usize)) {
                *d = Detail::default();
            }
            prev.detail()
        }
    };
    Entry::new(
        status,
        attempts,
        duration,
        prev.report.max(next.report),
        detail,
    )
}

/// The build's results, one entry per test once settled ([`BuildState::settle`]), sorted by test
/// id: a flat list (32 bytes a test, grown in place) rather than a hash map (whose table at a
/// million tests is twice that, and three times while it grows).
#[derive(Debug)]
pub(crate) struct Entries {
    list: Vec<(Id, Entry)>,
    /// Whether `list` is sorted by id, each id once.
    sorted: bool,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            list: Vec::new(),
            sorted: true,
        }
    }
}

impl Entries {
    fn push(&mut self, test: Id, entry: Entry) {
        if self.list.last().is_some_and(|(last, _)| *last >= test) {
            self.sorted = false;
        }
        self.list.push((test, entry));
    }

    /// A test's entry (the entries must be settled).
    pub(crate) fn get(&self, test: &Id) -> Option<&Entry> {
        debug_assert!(self.sorted, "entries read before they were settled");
        let at = self.list.binary_search_by_key(test, |(id, _)| *id).ok()?;
        Some(&self.list[at].1)
    }

    /// Every test and its entry, by id (the entries must be settled).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Id, &Entry)> + Clone {
        debug_assert!(self.sorted, "entries read before they were settled");
        self.list.iter().map(|(id, entry)| (id, entry))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Id> {
        self.iter().map(|(id, _)| id)
    }

    /// Keeps the tests `keep` says yes to (the order stays).
    pub(crate) fn retain(&mut self, keep: impl Fn(&Id) -> bool) {
        self.list.retain(|(id, _)| keep(id));
    }
}

/// A compile diagnostic's file, from its identity `path:flag:message`: relative to the same root
/// as the compiled files the parser reports.
/// The runner's own id of a test, when its report gives one.
fn runner_id(result: &TestResult) -> Option<&str> {
    result.details.get("runner_id").and_then(|v| v.as_str())
}

fn compile_file(result: &TestResult) -> Option<BString> {
    (result.kind == Kind::Compile)
        .then(|| result.test.split_str(":").next().map(BString::from))
        .flatten()
}

/// How many results are resolved against the store at a time.
const BATCH: usize = 2048;

/// A parser's sink that resolves each result's test in the store (in batches) and merges it into
/// the build's state. Store errors stop the merging and are returned by [`IngestSink::finish`].
pub(crate) struct IngestSink<'a> {
    pub store: &'a mut dyn Store,
    known: &'a mut Known,
    pub state: &'a mut BuildState,
    pub report: u32,
    /// Results waiting for their test ids, each with its details.
    pending: Vec<(TestResult, Option<Details>)>,
    pub results: u64,
    error: Option<Error>,
}

impl<'a> IngestSink<'a> {
    pub(crate) fn new(
        store: &'a mut dyn Store,
        known: &'a mut Known,
        state: &'a mut BuildState,
        report: u32,
    ) -> Self {
        IngestSink {
            store,
            known,
            state,
            report,
            pending: Vec::with_capacity(BATCH),
            results: 0,
            error: None,
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        self.resolve(batch);
    }

    /// Resolves a batch's tests and merges its results into the build's state.
    fn resolve(&mut self, batch: Vec<(TestResult, Option<Details>)>) {
        if self.error.is_some() {
            return;
        }
        // Tests already known in this transaction need no lookup.
        let mut ids: Vec<Option<Id>> = batch
            .iter()
            .map(|(r, _)| self.known.test_id(&r.test, runner_id(r)))
            .collect();
        let missing: Vec<usize> = (0..batch.len()).filter(|&i| ids[i].is_none()).collect();
        if !missing.is_empty() {
            let tests: Vec<NewTest> = missing
                .iter()
                .map(|&i| {
                    let r = &batch[i].0;
                    NewTest {
                        name: r.test.clone(),
                        kind: r.kind,
                        file: compile_file(r),
                        runner_id: runner_id(r).map(str::to_owned),
                    }
                })
                .collect();
            match self.store.test_ids(&tests) {
                Ok(found) => {
                    for ((&i, id), test) in missing.iter().zip(found).zip(tests) {
                        ids[i] = Some(id);
                        self.known.learn_test(test, id);
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        for (id, result) in ids.into_iter().zip(batch) {
            self.state
                .add(id.unwrap_or_default(), result.0, result.1, self.report);
        }
    }

    /// Resolves what is left; the first store error, if any.
    pub(crate) fn finish(mut self) -> Result<u64, Error> {
        self.flush();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.results),
        }
    }
}

impl IngestSink<'_> {
    /// A result whose details were already taken out (see [`take_details`]).
    fn with_details(&mut self, result: TestResult, details: Option<Details>) {
        self.results += 1;
        self.pending.push((result, details));
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    /// Results that came as a batch (from the parsing thread): resolved as they are, not copied
    /// into the sink's own batch.
    pub(crate) fn batch(&mut self, batch: Vec<(TestResult, Option<Details>)>) {
        self.results += batch.len() as u64;
        self.flush();
        self.resolve(batch);
    }
}

/// A result's details as stored (a JSON object's text), or none.
fn details_json(result: &TestResult) -> Option<String> {
    (!result.details.is_empty()).then(|| serde_json::to_string(&result.details).unwrap_or_default())
}

/// Takes a result's details out as the JSON text to store; only the runner's id stays behind
/// (see `runner_id`), so the rest is not carried further.
pub(super) fn take_details(result: &mut TestResult) -> Option<String> {
    let json = details_json(result)?;
    result.details.retain(|key, _| key == "runner_id");
    Some(json)
}

impl Sink for IngestSink<'_> {
    fn result(&mut self, mut result: TestResult) {
        let details = take_details(&mut result).map(Details::from);
        self.with_details(result, details);
    }

    fn compiled(&mut self, file: BString) {
        self.state.compiled.insert(file);
    }

    fn warning(&mut self, message: String) {
        self.state.warnings.push(message);
    }

    fn timestamp(&mut self, time: DateTime<Utc>) {
        let earliest = self.state.timestamp.map_or(time, |t| t.min(time));
        self.state.timestamp = Some(earliest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: Status, duration: f64, message: Option<&str>) -> TestResult {
        let mut r = TestResult::new("t", Kind::Test, status);
        r.duration = Some(duration);
        r.message = message.map(BString::from);
        r
    }

    /// Tests that come out of id order and more than once are merged, once settled, in the order
    /// they came, as the hash map merged them on arrival before.
    #[test]
    fn repeats_out_of_order_merge_in_the_order_they_came() {
        let mut state = BuildState::default();
        state.add(9, result(Status::Failed, 1.0, Some("boom")), None, 1);
        state.add(4, result(Status::Passed, 0.5, None), None, 1);
        state.add(7, result(Status::Skipped, 0.0, Some("later")), None, 1);
        // Report 2: 9 passes (it failed before: flaky), 4 is skipped (a skip hides no outcome),
        // 7 passes (after a skip: passed).
        state.add(9, result(Status::Passed, 2.0, None), None, 2);
        state.add(4, result(Status::Skipped, 0.25, Some("not here")), None, 2);
        state.add(7, result(Status::Passed, 0.125, None), None, 2);
        // A repeat within one report: 2 failed on its first attempt, passed on the second.
        state.add(2, result(Status::Failed, 0.25, Some("first")), None, 3);
        state.add(2, result(Status::Passed, 0.5, None), None, 3);
        state.settle();
        let got: Vec<(Id, Status, u32, Option<f64>)> = (state.entries.iter())
            .map(|(&id, e)| (id, e.status, e.attempts, e.duration()))
            .collect();
        assert_eq!(
            got,
            [
                (2, Status::Flaky, 2, Some(0.75)),
                (4, Status::Passed, 2, Some(0.5)),
                (7, Status::Passed, 2, Some(0.125)),
                (9, Status::Flaky, 2, Some(3.0)),
            ]
        );
        let message = |id: Id| {
            let e = state.entries.get(&id).unwrap();
            let d = e.detail().map(|i| &state.details[i as usize]);
            d.and_then(|d| d.message.as_ref()).map(|m| m.to_string())
        };
        // The failure's message stays with the flaky result; the skip's does not replace a pass.
        assert_eq!(message(9).as_deref(), Some("boom"));
        assert_eq!(message(2).as_deref(), Some("first"));
        assert_eq!(message(4), None);
        assert_eq!(state.entries.get(&5).map(|e| e.status), None);
        // Ascending ids, each once: nothing to merge, the list is already settled.
        let mut plain = BuildState::default();
        for id in [1, 2, 5] {
            plain.add(id, result(Status::Passed, 0.001, None), None, 1);
        }
        assert!(plain.entries.sorted);
        plain.settle();
        assert_eq!(plain.entries.keys().copied().collect::<Vec<_>>(), [1, 2, 5]);
    }
}
