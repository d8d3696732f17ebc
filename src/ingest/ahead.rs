//! Parsing ahead: an `ingest`, or a batch of builds (an `import`), parses reports on a second
//! thread while this one writes to the database. On two cores the two halves of the work overlap.
//!
//! The parsing thread sends, for each build, a marker, then each report's events in the order its
//! parser gave them, then the report's end. A bounded channel keeps it at most a few
//! thousand results ahead, so memory does not grow with the history.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

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
pub(crate) const CAPACITY: usize = 8;

/// What the parsing thread sends.
pub(crate) enum Event {
    /// The next build: its reports' events follow, report by report.
    Build,
    /// Results, each with its details (keyed and packed here when this thread is ahead).
    Results(Vec<(TestResult, Option<Details>)>),
    Compiled(BString),
    Warning(String),
    Timestamp(DateTime<Utc>),
    /// The content hash of a report read from a file that parsed, just before its end: what
    /// [`read::prepare`] would give (an import's builds are written with it, unread again).
    Hashed([u8; 32]),
    /// The end of a report: the parser that read it, or why it could not be read.
    End(Result<&'static str>),
}

/// Parses the reports of each build in turn, sending what it finds; stops early when the
/// receiving side has gone (an error there ends the import). The receiving side reads and hashes
/// each report itself ([`read::prepare`]) only when the build is not read ahead whole
/// ([`Events::hashes`]); otherwise the hash this thread works out as it parses is used.
pub(crate) fn parse_builds(
    builds: impl IntoIterator<Item = Vec<PathBuf>>,
    parser: Option<&'static dyn Format>,
    source_root: Option<String>,
    tx: SyncSender<Event>,
) {
    let mut packed = Packed::default();
    for paths in builds {
        if tx.send(Event::Build).is_err() {
            return;
        }
        let reports = paths.into_iter().map(|path| {
            let input = Input::File(path);
            (input.name(), read::open_file(&input))
        });
        if !parse_each(
            reports,
            parser,
            source_root.as_deref(),
            &tx,
            &mut packed,
            true,
        ) {
            return;
        }
    }
}

/// The details this thread has packed. Most details repeat from build to build (a skip's reason,
/// a test that fails the same way): one seen before is sent keyed but not packed again, and the
/// database side finds it stored, or packs it itself (if the build that brought it was undone).
/// Packing is left to the database thread while that thread keeps up (the channel has room):
/// whichever thread has time to spare does it.
#[derive(Default)]
pub(crate) struct Packed {
    keys: rustc_hash::FxHashSet<[u8; 16]>,
    /// Whether the last send found the channel full (the database thread is behind).
    ahead: bool,
}

impl Packed {
    fn prepare(&mut self, json: String) -> Details {
        if !self.ahead {
            return Details::from(json);
        }
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

/// Parses each report in turn (with its own format and root where it has them), sending its
/// events then its end; false when the receiving side has gone.
pub(crate) fn parse_reports(
    sources: &[Source],
    parser: Option<&'static dyn Format>,
    source_root: Option<&str>,
    tx: &SyncSender<Event>,
) -> bool {
    let mut packed = Packed::default();
    sources.iter().all(|s| {
        parse_each(
            std::iter::once((s.name.clone(), s.reader())),
            s.parser.or(parser),
            s.source_root.as_deref().or(source_root),
            tx,
            &mut packed,
            false,
        )
    })
}

/// Parses each report (its name and a reader on it, or why it could not be opened) in turn; with
/// `hash`, sends each parsed report's content hash before its end.
fn parse_each(
    reports: impl Iterator<Item = (String, Result<Box<dyn std::io::Read>>)>,
    parser: Option<&'static dyn Format>,
    source_root: Option<&str>,
    tx: &SyncSender<Event>,
    packed: &mut Packed,
    hash: bool,
) -> bool {
    for (name, reader) in reports {
        let mut sink = Forward {
            tx,
            packed: &mut *packed,
            pending: Vec::with_capacity(BATCH),
            earliest: None,
            gone: false,
        };
        let mut hasher = None;
        let outcome = reader
            .and_then(|reader| {
                let reader: Box<dyn std::io::Read> = if hash {
                    let (reader, handle) = read::Hashing::new(reader);
                    hasher = Some(handle);
                    Box::new(reader)
                } else {
                    reader
                };
                read::open(&name, reader, parser)
            })
            .and_then(|(format, mut reader)| {
                let options = ParseOptions {
                    source: name.clone(),
                    source_root: source_root.map(str::to_owned),
                };
                format.parse(&mut reader, &options, &mut sink)?;
                if hasher.is_some() {
                    read::drain(&name, &mut reader)?;
                }
                Ok(format.name())
            });
        sink.flush();
        if let Some(time) = sink.earliest.take() {
            sink.send(Event::Timestamp(time));
        }
        if let (Ok(_), Some(hasher)) = (&outcome, hasher) {
            let hash = *hasher.borrow().finalize().as_bytes();
            sink.send(Event::Hashed(hash));
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
        if self.gone {
            return;
        }
        self.packed.ahead = false;
        let sent = match self.tx.try_send(event) {
            Err(TrySendError::Full(event)) => {
                self.packed.ahead = true;
                self.tx.send(event).is_ok()
            }
            sent => sent.is_ok(),
        };
        self.gone = !sent;
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

/// The receiving side: the parsing thread's events in order, some of them perhaps read ahead
/// ([`Events::read_build`]).
pub(crate) struct Events<'a> {
    rx: &'a Receiver<Event>,
    buffered: VecDeque<Event>,
}

impl<'a> Events<'a> {
    pub(crate) fn new(rx: &'a Receiver<Event>) -> Self {
        Events {
            rx,
            buffered: VecDeque::new(),
        }
    }

    fn recv(&mut self) -> Result<Event> {
        match self.buffered.pop_front() {
            Some(event) => Ok(event),
            None => self.rx.recv().map_err(|_| stopped()),
        }
    }

    /// The start of the next build's events.
    pub(crate) fn build(&mut self) -> Result<()> {
        match self.recv()? {
            Event::Build => Ok(()),
            _ => Err(stopped()),
        }
    }

    /// Reads the events of a build's `reports` reports ahead (right after [`Events::build`]), up
    /// to `limit` results: true if every report ended within them, each parsed without error (so
    /// writing the build cannot fail on a report), false if one failed or the limit came first.
    pub(crate) fn read_build(&mut self, reports: usize, limit: usize) -> Result<bool> {
        let (mut ended, mut results) = (0, 0);
        while ended < reports {
            if results >= limit {
                return Ok(false);
            }
            let event = self.rx.recv().map_err(|_| stopped())?;
            let failed = match &event {
                Event::Results(batch) => {
                    results += batch.len();
                    false
                }
                Event::End(outcome) => {
                    ended += 1;
                    outcome.is_err()
                }
                Event::Build => return Err(stopped()),
                _ => false,
            };
            self.buffered.push_back(event);
            if failed {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The content hashes of the `reports` reports of a build read ahead whole
    /// ([`Events::read_build`] gave true), in order; `None` unless the parsing thread sent one
    /// for each (it does for files, in an import).
    pub(crate) fn hashes(&self, reports: usize) -> Option<Vec<[u8; 32]>> {
        let hashes: Vec<[u8; 32]> = self
            .buffered
            .iter()
            .filter_map(|event| match event {
                Event::Hashed(hash) => Some(*hash),
                _ => None,
            })
            .collect();
        (hashes.len() == reports).then_some(hashes)
    }

    /// Replays one report's events into `sink`: the parser's name, or the report's error.
    pub(crate) fn replay(&mut self, sink: &mut IngestSink<'_>) -> Result<&'static str> {
        self.report(Some(sink))?
    }

    /// Passes over one report's events (a report the build already holds): its own error does
    /// not matter.
    pub(crate) fn skip(&mut self) -> Result<()> {
        self.report(None).map(|_| ())
    }

    /// One report's events into `sink`; the outer error is the parsing thread's, the inner the
    /// report's.
    fn report(&mut self, mut sink: Option<&mut IngestSink<'_>>) -> Result<Result<&'static str>> {
        loop {
            let event = self.recv()?;
            let Some(sink) = sink.as_deref_mut() else {
                match event {
                    Event::End(outcome) => return Ok(outcome),
                    Event::Build => return Err(stopped()),
                    _ => continue,
                }
            };
            match event {
                Event::Results(batch) => sink.batch(batch),
                Event::Compiled(file) => sink.compiled(file),
                Event::Warning(message) => sink.warning(message),
                Event::Timestamp(time) => sink.timestamp(time),
                Event::Hashed(_) => {}
                Event::End(outcome) => return Ok(outcome),
                Event::Build => return Err(stopped()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use probtrack_parsers::{Kind, Status};

    fn results(n: usize) -> Event {
        let result = TestResult::new("t", Kind::Test, Status::Passed);
        Event::Results(vec![(result, None); n])
    }

    fn kinds(events: &mut Events<'_>, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| match events.recv().unwrap() {
                Event::Build => "build".to_owned(),
                Event::Results(batch) => format!("results {}", batch.len()),
                Event::End(Ok(parser)) => format!("end {parser}"),
                Event::End(Err(_)) => "end error".to_owned(),
                _ => "other".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_build_read_ahead_replays_in_order_and_says_whether_it_parsed() {
        let (tx, rx) = std::sync::mpsc::sync_channel(64);
        for event in [
            Event::Build,
            results(3),
            Event::End(Ok("junit")),
            results(2),
            Event::End(Ok("trial")),
            Event::Build,
            results(1),
            Event::End(Err(Error::bad_input("broken"))),
            Event::Build,
            results(4),
            results(4),
            Event::End(Ok("junit")),
        ] {
            tx.send(event).unwrap();
        }
        drop(tx);
        let mut events = Events::new(&rx);

        // Two reports that parsed: clean, and nothing lost or reordered.
        events.build().unwrap();
        assert!(events.read_build(2, 100).unwrap());
        assert_eq!(
            kinds(&mut events, 4),
            ["results 3", "end junit", "results 2", "end trial"]
        );

        // A report that failed: not clean; its events still come, the error last.
        events.build().unwrap();
        assert!(!events.read_build(1, 100).unwrap());
        assert_eq!(kinds(&mut events, 2), ["results 1", "end error"]);

        // More results than the limit: not clean, read no further than the limit.
        events.build().unwrap();
        assert!(!events.read_build(1, 4).unwrap());
        assert_eq!(events.buffered.len(), 1);
        assert_eq!(
            kinds(&mut events, 3),
            ["results 4", "results 4", "end junit"]
        );

        // The parsing thread gone before a build ends: an error, not a hang.
        assert!(events.build().is_err());
    }
}
