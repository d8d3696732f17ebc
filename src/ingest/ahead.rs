//! Parsing ahead: a batch of builds (an `import`) reads and parses the next builds' reports on a
//! second thread while this one writes the current build to the database. Parsing is about a
//! quarter of an import's work; on two cores it now overlaps the rest.
//!
//! The parsing thread sends, for each build, its prepared reports, then each report's events in
//! the order its parser gave them, then the report's end. A bounded channel keeps it at most a few
//! thousand results ahead, so memory does not grow with the history.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender};

use bstr::BString;
use chrono::{DateTime, Utc};
use probtrack_parsers::{Format, ParseOptions, Sink, TestResult};

use super::read::{self, Input, Source};
use super::state::IngestSink;
use crate::error::{Error, Result};
use crate::store::Details;

/// Results sent together.
const BATCH: usize = 2048;
/// Details keys the parsing thread remembers having packed (16 bytes each); past this many it
/// starts afresh, so memory stays bounded.
const PACKED_KEYS: usize = 1 << 17;
/// Messages in flight: with `BATCH` results each, at most ~16,000 results parsed ahead.
pub const CAPACITY: usize = 8;

/// What the parsing thread sends.
pub enum Event {
    /// A build's reports, read and hashed, or why one could not be read.
    Build(Result<Vec<Source>>),
    /// Results, each with its details, packed here (off the database thread).
    Results(Vec<(TestResult, Option<Details>)>),
    Compiled(BString),
    Warning(String),
    Timestamp(DateTime<Utc>),
    /// The end of a report: the parser that read it, or why it could not be read.
    End(Result<&'static str>),
}

/// Prepares and parses the reports of each build in turn, sending what it finds; stops early when
/// the receiving side has gone (an error there ends the import).
pub fn parse_builds(
    builds: impl IntoIterator<Item = Vec<PathBuf>>,
    parser: Option<&'static dyn Format>,
    source_root: Option<String>,
    tx: SyncSender<Event>,
) {
    let mut packed = Packed::default();
    for paths in builds {
        let sources: Result<Vec<Source>> = paths
            .iter()
            .map(|path| read::prepare(&Input::File(path.clone())))
            .collect();
        // Files named on disk: the parsing side reads its own handle on each.
        let mine: Vec<Source> = match &sources {
            Ok(sources) => sources.iter().map(Source::same_file).collect(),
            Err(_) => Vec::new(),
        };
        if tx.send(Event::Build(sources)).is_err() {
            return;
        }
        if !parse_reports(&mine, parser, source_root.as_deref(), &tx, &mut packed) {
            return;
        }
    }
}

/// The details this thread has packed. Most details repeat from build to build (a skip's reason,
/// a test that fails the same way): one seen before is sent keyed but not packed again, and the
/// database side finds it stored, or packs it itself (if the build that brought it was undone).
#[derive(Default)]
pub struct Packed {
    keys: rustc_hash::FxHashSet<[u8; 16]>,
}

impl Packed {
    fn prepare(&mut self, json: String) -> Details {
        let mut details = Details::prepared(json, false);
        if self.keys.len() >= PACKED_KEYS {
            self.keys.clear();
        }
        if self.keys.insert(details.key()) {
            details = Details::prepared(details.into_json(), true);
        }
        details
    }
}

/// Parses each report in turn, sending its events then its end; false when the receiving side
/// has gone.
pub fn parse_reports(
    sources: &[Source],
    parser: Option<&'static dyn Format>,
    source_root: Option<&str>,
    tx: &SyncSender<Event>,
    packed: &mut Packed,
) -> bool {
    for source in sources {
        let mut sink = Forward {
            tx,
            packed: &mut *packed,
            pending: Vec::with_capacity(BATCH),
            earliest: None,
            gone: false,
        };
        let outcome = source
            .reader()
            .and_then(|reader| read::open(&source.name, reader, parser))
            .and_then(|(format, mut reader)| {
                let options = ParseOptions {
                    source: source.name.clone(),
                    source_root: source_root.map(str::to_owned),
                };
                format.parse(&mut reader, &options, &mut sink)?;
                Ok(format.name())
            });
        sink.flush();
        if let Some(time) = sink.earliest.take() {
            sink.send(Event::Timestamp(time));
        }
        if sink.gone || tx.send(Event::End(outcome)).is_err() {
            return false;
        }
    }
    true
}

/// The parser's side: forwards what it finds in batches. Of the timestamps (one per test suite)
/// only the earliest matters (see `IngestSink`), sent at the report's end.
struct Forward<'a> {
    tx: &'a SyncSender<Event>,
    packed: &'a mut Packed,
    pending: Vec<(TestResult, Option<Details>)>,
    earliest: Option<DateTime<Utc>>,
    gone: bool,
}

impl Forward<'_> {
    fn send(&mut self, event: Event) {
        if !self.gone && self.tx.send(event).is_err() {
            self.gone = true;
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
            self.send(Event::Results(batch));
        }
    }
}

impl Sink for Forward<'_> {
    fn result(&mut self, mut result: TestResult) {
        if self.gone {
            return;
        }
        let details = super::state::take_details(&mut result).map(|json| self.packed.prepare(json));
        self.pending.push((result, details));
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    fn compiled(&mut self, file: BString) {
        self.flush();
        self.send(Event::Compiled(file));
    }

    fn warning(&mut self, message: String) {
        self.flush();
        self.send(Event::Warning(message));
    }

    fn timestamp(&mut self, time: DateTime<Utc>) {
        self.earliest = Some(self.earliest.map_or(time, |t| t.min(time)));
    }
}

fn stopped() -> Error {
    Error::bad_input("the thread parsing reports stopped before the end of a report")
        .hint("this is a bug in probtrack; please report it with the report that caused it")
}

/// The next build's prepared reports.
pub fn build(rx: &Receiver<Event>) -> Result<Vec<Source>> {
    match rx.recv() {
        Ok(Event::Build(sources)) => sources,
        _ => Err(stopped()),
    }
}

/// Replays one report's events into `sink`: the parser's name, or the report's error.
pub fn replay(rx: &Receiver<Event>, sink: &mut IngestSink<'_>) -> Result<&'static str> {
    report(rx, Some(sink))?
}

/// Passes over one report's events (a report the build already holds): its own error does not
/// matter.
pub fn skip(rx: &Receiver<Event>) -> Result<()> {
    report(rx, None).map(|_| ())
}

/// One report's events into `sink`; the outer error is the parsing thread's, the inner the
/// report's.
fn report(
    rx: &Receiver<Event>,
    mut sink: Option<&mut IngestSink<'_>>,
) -> Result<Result<&'static str>> {
    loop {
        let event = rx.recv().map_err(|_| stopped())?;
        let Some(sink) = sink.as_deref_mut() else {
            match event {
                Event::End(outcome) => return Ok(outcome),
                Event::Build(_) => return Err(stopped()),
                _ => continue,
            }
        };
        match event {
            Event::Results(batch) => sink.batch(batch),
            Event::Compiled(file) => sink.compiled(file),
            Event::Warning(message) => sink.warning(message),
            Event::Timestamp(time) => sink.timestamp(time),
            Event::End(outcome) => return Ok(outcome),
            Event::Build(_) => return Err(stopped()),
        }
    }
}
