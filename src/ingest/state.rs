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

/// How many messages and details a build holds before the details that come after are kept
/// packed only (`Details::keep_packed`: packed now where the parsing thread did not): a
/// million-test build's tracebacks were a fifth of its heap (docs/performance.md, *One huge
/// build: details kept packed*). A typical build stays under it, and never packs an object
/// already stored, nor inflates one again to store it against a base.
const TEXT_HELD: usize = 4096;

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
        self.push(
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
        self.push(test, Entry::new(status, 1, duration, 0, None));
    }

    /// Adds an entry; a list grown to [`Entries::chunk`] entries is settled and packed.
    fn push(&mut self, test: Id, entry: Entry) {
        self.entries.push(test, entry);
        if self.entries.list.len() >= self.entries.chunk {
            self.entries.seal();
        }
    }

    fn detail(&mut self, message: Option<BString>, mut details: Option<Details>) -> Option<u32> {
        if message.is_none() && details.is_none() {
            return None;
        }
        if let Some(details) = details.as_mut().filter(|_| self.details.len() >= TEXT_HELD) {
            details.keep_packed();
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
        self.push(test, entry);
    }

    /// Merges the results of each test that came more than once, in the order they came, so that
    /// [`BuildState::entries`] holds one entry per test, sorted by id. Cheap when the tests came
    /// in ascending id order, each once (new tests get their ids in the order they come).
    pub(crate) fn settle(&mut self) {
        self.entries.settle(&mut self.details);
    }
}

/// Sorts `list` by id, folding each test's later results into its first in the order they came
/// (a stable sort by id, then a merge of neighbours with one id).
fn settle_list(list: &mut Vec<(Id, Entry)>, details: &mut [Detail]) {
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
                list[first].1 = merge(list[first].1, list[i].1, details);
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

/// How many entries the list holds before they are settled and packed: a build of more tests
/// than this is held packed, ~6 bytes a test rather than 32 (docs/performance.md, *Memory of one
/// huge build*); an ordinary build never is.
const CHUNK: usize = 1 << 16;

/// The build's results, one entry per test once settled ([`BuildState::settle`]), sorted by test
/// id. Up to [`CHUNK`] tests, a flat list of `(id, entry)`; past that, runs of entries packed
/// each as it fills (sorted, each test once; see [`Packed`]) and merged into one when settled,
/// so that a huge build takes a few bytes a test.
#[derive(Debug)]
pub(crate) struct Entries {
    list: Vec<(Id, Entry)>,
    /// Whether `list` is sorted by id, each id once.
    sorted: bool,
    /// The packed runs, in the order they were packed (so a test's results in the order they
    /// came); one once settled, and then `list` is empty.
    packed: Vec<Packed>,
    /// How many entries `list` holds before they are packed ([`CHUNK`]; smaller in tests).
    chunk: usize,
}

impl Default for Entries {
    fn default() -> Self {
        Entries {
            list: Vec::new(),
            sorted: true,
            packed: Vec::new(),
            chunk: CHUNK,
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

    /// Packs the list, sorted by id (a test's results in the order they came, not yet merged:
    /// merging is not associative, so each test's results are folded only once all are in):
    /// onto the last packed run where its tests all come after that run's (as a huge build's new
    /// tests do), else as a run of its own.
    fn seal(&mut self) {
        let repeats = !self.sorted;
        if repeats {
            // Stable: a test's results stay in the order they came.
            self.list.sort_by_key(|(id, _)| *id);
            self.sorted = true;
        }
        let Some(&(first, _)) = self.list.first() else {
            return;
        };
        if self.packed.last().is_none_or(|p| p.last >= first) {
            self.packed.push(Packed::default());
        }
        if let Some(run) = self.packed.last_mut() {
            run.repeats |= repeats;
            for (id, entry) in self.list.drain(..) {
                run.push(id, &entry);
            }
        }
    }

    fn settle(&mut self, details: &mut [Detail]) {
        if self.packed.is_empty() {
            if !self.sorted {
                settle_list(&mut self.list, details);
                self.sorted = true;
            }
            return;
        }
        self.seal();
        if self.packed.len() == 1 && !self.packed[0].repeats {
            return;
        }
        // The runs merged in id order, each test's results folded in the order they came (the
        // order of the runs, then within a run).
        let runs = std::mem::take(&mut self.packed);
        let mut cursors: Vec<Cursor<'_>> = runs.iter().map(Packed::cursor).collect();
        // Each run's next entry, and the runs by that entry's id (then by their order).
        let mut heads: Vec<Option<(Id, Entry)>> = cursors.iter_mut().map(Iterator::next).collect();
        let mut order: std::collections::BinaryHeap<std::cmp::Reverse<(Id, usize)>> = (heads
            .iter())
        .enumerate()
        .filter_map(|(i, head)| head.map(|(id, _)| std::cmp::Reverse((id, i))))
        .collect();
        let mut merged = Packed::default();
        let mut pending: Option<(Id, Entry)> = None;
        while let Some(std::cmp::Reverse((_, i))) = order.pop() {
            let Some((id, entry)) = std::mem::replace(&mut heads[i], cursors[i].next()) else {
                continue;
            };
            if let Some((next, _)) = heads[i] {
                order.push(std::cmp::Reverse((next, i)));
            }
            pending = match pending {
                Some((at, prev)) if at == id => Some((id, merge(prev, entry, details))),
                Some((at, prev)) => {
                    merged.push(at, &prev);
                    Some((id, entry))
                }
                None => Some((id, entry)),
            };
        }
        if let Some((at, prev)) = pending {
            merged.push(at, &prev);
        }
        self.packed = vec![merged];
    }

    /// A test's entry (the entries must be settled, or the list at least sorted: then the list's
    /// entry, else the newest packed run's that has one).
    pub(crate) fn get(&self, test: &Id) -> Option<Entry> {
        debug_assert!(self.sorted, "entries read before they were settled");
        if let Ok(at) = self.list.binary_search_by_key(test, |(id, _)| *id) {
            return Some(self.list[at].1);
        }
        self.packed.iter().rev().find_map(|run| run.get(*test))
    }

    fn settled(&self) -> bool {
        self.sorted && (self.packed.is_empty() || (self.packed.len() == 1 && self.list.is_empty()))
    }

    /// Every test and its entry, by id (the entries must be settled).
    pub(crate) fn iter(&self) -> Iter<'_> {
        debug_assert!(self.settled(), "entries read before they were settled");
        match self.packed.first() {
            None => Iter::List(self.list.iter()),
            Some(run) => Iter::Packed(run.cursor()),
        }
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = Id> + '_ {
        self.iter().map(|(id, _)| id)
    }

    /// Keeps the tests `keep` says yes to (the order stays; the entries must be settled).
    pub(crate) fn retain(&mut self, keep: impl Fn(&Id) -> bool) {
        self.list.retain(|(id, _)| keep(id));
        if let Some(run) = self.packed.first() {
            let mut kept = Packed::default();
            for (id, entry) in run.cursor().filter(|(id, _)| keep(id)) {
                kept.push(id, &entry);
            }
            self.packed = vec![kept];
        }
    }
}

/// The entries in id order: borrowed from the list, or decoded from the packed run.
#[derive(Clone)]
pub(crate) enum Iter<'a> {
    List(std::slice::Iter<'a, (Id, Entry)>),
    Packed(Cursor<'a>),
}

impl Iterator for Iter<'_> {
    type Item = (Id, Entry);

    fn next(&mut self) -> Option<(Id, Entry)> {
        match self {
            Iter::List(list) => list.next().copied(),
            Iter::Packed(cursor) => cursor.next(),
        }
    }
}

/// Entries sorted by id (each test once, unless `repeats`), packed into bytes: per entry the id's difference from
/// the one before, a byte of flags (the status, and which of the rest follow), the report, then
/// where not the usual the attempts (else 1) and the details index, and the duration as whole
/// microseconds where it is exactly that many (else its 8 bytes), each number as a LEB128 varint.
/// A plain pass of a huge build takes ~6 bytes.
#[derive(Debug, Default)]
struct Packed {
    bytes: Vec<u8>,
    /// At every [`MARK`]th entry: its id, its offset in `bytes`, and the id before it, so that a
    /// test is found by a binary search and a short walk.
    marks: Vec<(Id, usize, Id)>,
    len: usize,
    /// The last entry's id (0 when none).
    last: Id,
    /// Whether a test may have more than one entry (its results in the order they came).
    repeats: bool,
}

/// Entries between two marks of a [`Packed`] run.
const MARK: usize = 64;

const ATTEMPTS: u8 = 1 << 3;
const DETAIL: u8 = 1 << 4;
const MICROS: u8 = 1 << 5;
const SECONDS: u8 = 1 << 6;

impl Packed {
    fn push(&mut self, id: Id, entry: &Entry) {
        debug_assert!(self.len == 0 || id >= self.last);
        if self.len % MARK == 0 {
            self.marks.push((id, self.bytes.len(), self.last));
        }
        let out = &mut self.bytes;
        varint(out, id.wrapping_sub(self.last) as u64);
        let status = Status::ALL.iter().position(|s| *s == entry.status);
        let mut flags = status.unwrap_or(0) as u8;
        let micros = whole_micros(entry.duration);
        if entry.attempts != 1 {
            flags |= ATTEMPTS;
        }
        if entry.detail != u32::MAX {
            flags |= DETAIL;
        }
        if micros.is_some() {
            flags |= MICROS;
        } else if !entry.duration.is_nan() {
            flags |= SECONDS;
        }
        out.push(flags);
        varint(out, u64::from(entry.report));
        if flags & ATTEMPTS != 0 {
            varint(out, u64::from(entry.attempts));
        }
        if flags & DETAIL != 0 {
            varint(out, u64::from(entry.detail));
        }
        if let Some(micros) = micros {
            varint(out, micros);
        } else if flags & SECONDS != 0 {
            out.extend_from_slice(&entry.duration.to_le_bytes());
        }
        self.len += 1;
        self.last = id;
    }

    fn cursor(&self) -> Cursor<'_> {
        Cursor {
            bytes: &self.bytes,
            prev: 0,
        }
    }

    fn get(&self, test: Id) -> Option<Entry> {
        let mark = self.marks.partition_point(|m| m.0 <= test).checked_sub(1)?;
        let (_, at, prev) = self.marks[mark];
        let mut cursor = Cursor {
            bytes: &self.bytes[at..],
            prev,
        };
        cursor
            .find(|(id, _)| *id >= test)
            .and_then(|(id, entry)| (id == test).then_some(entry))
    }
}

/// Reads a [`Packed`] run's entries in order.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    prev: Id,
}

impl Iterator for Cursor<'_> {
    type Item = (Id, Entry);

    fn next(&mut self) -> Option<(Id, Entry)> {
        if self.bytes.is_empty() {
            return None;
        }
        let id = self.prev.wrapping_add(self.varint() as Id);
        let (&flags, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        let report = self.varint() as u32;
        let attempts = if flags & ATTEMPTS != 0 {
            self.varint() as u32
        } else {
            1
        };
        let detail = if flags & DETAIL != 0 {
            self.varint() as u32
        } else {
            u32::MAX
        };
        let duration = if flags & MICROS != 0 {
            self.varint() as f64 / 1e6
        } else if flags & SECONDS != 0 {
            let (bytes, rest) = self.bytes.split_first_chunk::<8>()?;
            self.bytes = rest;
            f64::from_le_bytes(*bytes)
        } else {
            f64::NAN
        };
        self.prev = id;
        let status = Status::ALL[usize::from(flags & 7).min(Status::ALL.len() - 1)];
        Some((
            id,
            Entry {
                status,
                attempts,
                duration,
                report,
                detail,
            },
        ))
    }
}

impl Cursor<'_> {
    fn varint(&mut self) -> u64 {
        let mut value = 0u64;
        for (i, &b) in self.bytes.iter().enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return value;
            }
        }
        self.bytes = &[];
        value
    }
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A duration of seconds as whole microseconds, where that many microseconds is exactly it (as a
/// report's `time="0.123"` is: the division rounds as the parsing did).
fn whole_micros(seconds: f64) -> Option<u64> {
    let micros = (seconds * 1e6).round();
    let whole = seconds.is_sign_positive()
        && micros < 9e15
        && (micros / 1e6).to_bits() == seconds.to_bits();
    whole.then_some(micros as u64)
}

/// The runner's own id of a test, when its report gives one.
fn runner_id(result: &TestResult) -> Option<&str> {
    result.details.get("runner_id").and_then(|v| v.as_str())
}

/// A compile diagnostic's file, from its identity `path:flag:message`: relative to the same root
/// as the compiled files the parser reports.
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

    /// Past `TEXT_HELD` messages and details, a build keeps the details that come packed only
    /// (packed now where they came as text); those before keep their text. Either way each reads
    /// back as it came, and a repeat merged with an earlier result keeps the later details.
    #[test]
    fn details_past_the_held_text_are_kept_packed_and_read_back() {
        use std::borrow::Cow;
        let traceback = |i: usize| {
            format!(
                r#"{{"text":"Traceback\n{}AssertionError: {i}\n"}}"#,
                "  File \"t.py\", line 3, in t\n".repeat(8)
            )
        };
        let mut state = BuildState::default();
        let n = TEXT_HELD + 10;
        for i in 0..n {
            // Every third one packed ahead, as the parsing thread does when it is ahead.
            let details = match i % 3 {
                0 => Details::prepared(traceback(i), true),
                _ => Details::from(traceback(i)),
            };
            state.add(
                i as Id + 1,
                result(Status::Failed, 0.1, Some("boom")),
                Some(details),
                1,
            );
        }
        // The first test again in a later report, with other details: merged, the later kept.
        let again = Details::from(traceback(n));
        state.add(1, result(Status::Failed, 0.1, None), Some(again), 2);
        state.settle();
        for (test, entry) in state.entries.iter() {
            let i = test as usize - 1;
            let d = &state.details[entry.detail().unwrap() as usize];
            let details = d.details.as_ref().unwrap();
            let want = if i == 0 { traceback(n) } else { traceback(i) };
            assert_eq!(details.text(), want, "test {test}");
            let held = i < TEXT_HELD && i != 0;
            assert_eq!(
                matches!(details.text(), Cow::Borrowed(_)),
                held,
                "test {test}: the text held only before TEXT_HELD"
            );
            assert_eq!(d.message.as_ref().map(|m| m.as_slice()), Some(&b"boom"[..]));
        }
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
            .map(|(id, e)| (id, e.status, e.attempts, e.duration()))
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
        assert_eq!(plain.entries.keys().collect::<Vec<_>>(), [1, 2, 5]);
    }

    /// What a settled state holds, as comparable values: each entry (duration by its bits) and its
    /// message.
    fn held(state: &BuildState) -> Vec<(Id, Status, u32, u32, u64, Option<String>)> {
        (state.entries.iter())
            .map(|(id, e)| {
                let d = e.detail().map(|i| &state.details[i as usize]);
                let message = d.and_then(|d| d.message.as_ref()).map(|m| m.to_string());
                (
                    id,
                    e.status,
                    e.attempts,
                    e.report,
                    e.duration.to_bits(),
                    message,
                )
            })
            .collect()
    }

    /// A huge build's entries are packed a chunk at a time: whatever the chunk, with tests that
    /// come again across chunks, out of order, in several reports and after a first settle, the
    /// settled entries are those of one list, and each is found by id.
    #[test]
    fn entries_packed_in_chunks_settle_as_one_list_does() {
        // A fixed pseudo-random sequence of results: runs of ascending new ids (as a huge build's
        // new tests come), then repeats of earlier tests in a scrambled order, in three reports.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let durations = [0.123, 1.0 / 3.0, 0.0, -0.0, 2.5e-7, 1e12, 123_456.789_012];
        let mut adds = Vec::new();
        for report in 1..=3u32 {
            for i in 0..700 {
                let id = if report == 1 {
                    3 * i + 5
                } else {
                    3 * next(800) as Id + 5
                };
                let status = Status::ALL[next(Status::ALL.len() as u64) as usize];
                let duration = durations[next(durations.len() as u64) as usize];
                let message = (next(4) == 0).then(|| format!("m{report}-{i}"));
                let timed = next(5) != 0;
                adds.push((id, status, duration, timed, message, report));
            }
        }
        let build = |chunk: usize, settle_at: usize| {
            let mut state = BuildState::default();
            state.entries.chunk = chunk;
            for (n, (id, status, duration, timed, message, report)) in adds.iter().enumerate() {
                if n == settle_at {
                    state.settle();
                }
                let mut r = result(*status, *duration, message.as_deref());
                r.duration = timed.then_some(*duration);
                state.add(*id, r, None, *report);
            }
            state.settle();
            state
        };
        let whole = build(usize::MAX, usize::MAX);
        assert!(whole.entries.packed.is_empty());
        let expected = held(&whole);
        assert!(expected.len() > 700, "{}", expected.len());
        assert!(expected.iter().any(|e| e.2 > 1) && expected.iter().any(|e| e.5.is_some()));
        for chunk in [1, 2, 3, 64, 100, 699, 700, 701, 2000] {
            for settle_at in [usize::MAX, 350, 700, 1500] {
                let state = build(chunk, settle_at);
                let got = held(&state);
                let differ = got.iter().zip(&expected).position(|(g, e)| g != e);
                assert_eq!(
                    differ.map(|i| (&got[i], &expected[i])),
                    None,
                    "chunk {chunk}, settled at {settle_at}"
                );
                assert_eq!(got.len(), expected.len());
                if chunk < 2000 {
                    assert_eq!(state.entries.packed.len(), 1, "chunk {chunk}");
                }
                for (id, ..) in &expected {
                    let (got, want) = (state.entries.get(id), whole.entries.get(id));
                    assert_eq!(
                        got.map(|e| e.duration.to_bits()),
                        want.map(|e| e.duration.to_bits())
                    );
                    assert_eq!(
                        got.map(|e| (e.status, e.attempts)),
                        want.map(|e| (e.status, e.attempts))
                    );
                    assert!(state.entries.get(&(id + 1)).is_none());
                }
                assert!(state.entries.get(&0).is_none() && state.entries.get(&10_000).is_none());
            }
        }
        // Keeping some tests keeps their entries as they were.
        let mut state = build(64, usize::MAX);
        state.entries.retain(|id| id % 2 == 0);
        let kept: Vec<_> = expected.iter().filter(|e| e.0 % 2 == 0).cloned().collect();
        assert_eq!(held(&state), kept);
    }
}
