//! `import --buildbot URL`: a Buildbot master's history, read through its REST API.
//!
//! The builds of the chosen builders (complete ones, started since `--since`) are listed first,
//! small records, and those already in the database are left out. The rest are fetched by
//! [`Options::jobs`] threads, each build's parts in turn: its Changes (revision, author, time:
//! the blamelist, those of the build's request, as the step sees them), the `stdio` log of each step named (`--step NAME=PARSER`,
//! read in pages of lines into a temporary file, so memory does not grow with a log), and its
//! test result sets. This thread writes them in time order, each build in a transaction of its
//! own (`ingest::ingest`), so a stopped import loses nothing and the next run goes on from there.
//! At most `2 × jobs` fetched builds wait to be written.
//!
//! A log's text is what the `ProbtrackIngest` step gives probtrack for the same build: its output
//! and error lines, without Buildbot's header lines, and, for a compiler log, the command (the
//! header's first line) in front, as `make` echoes it. A compiler log's paths are made relative to
//! the step's directory (the header's `in dir`) unless `--source-root` says otherwise.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use chrono::{DateTime, Utc};
use probtrack_parsers::Format;

use crate::clock;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions, Source};
use crate::store::{ChangeRecord, Store};
use crate::views::import::ImportSummary;

mod api;
mod results;

pub(crate) use api::Auth;
use api::{segment, At, Client};

/// Builds listed per request, and log lines and test results fetched per request.
const PAGE: usize = 500;
const LOG_LINES: usize = 20_000;

/// What to import, and how.
#[derive(Clone)]
pub(crate) struct Options {
    /// The master's web address.
    pub url: String,
    pub auth: Auth,
    /// Step name and the parser of its `stdio` log.
    pub steps: Vec<(String, &'static dyn Format)>,
    /// Only these builders (all when empty).
    pub builders: Vec<String>,
    /// Only builds started at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub branch: Option<String>,
    /// Compiler logs: make paths relative to this directory instead of the step's own.
    pub source_root: Option<String>,
    /// Requests in flight at most (builds fetched at once).
    pub jobs: usize,
    /// Read the builds' test result sets too.
    pub test_results: bool,
}

/// A build as the master lists it.
#[derive(Clone, Debug)]
pub(crate) struct Listed {
    pub builder: String,
    pub number: i64,
    buildid: i64,
    buildrequestid: Option<i64>,
    started: DateTime<Utc>,
    result: Option<i64>,
    revision: Option<String>,
}

/// A build fetched whole, ready to write.
struct Fetched {
    changes: Vec<ChangeRecord>,
    sources: Vec<Source>,
}

/// Imports the master's history, calling `progress` after each build (with its warnings).
pub(crate) fn import(
    store: &mut dyn Store,
    options: &Options,
    mut progress: impl FnMut(&Listed, usize, &mut Vec<String>),
) -> Result<ImportSummary> {
    let client = Client::new(&options.url, &options.auth)?;
    let listed = list(&client, options)?;
    let mut summary = ImportSummary {
        builds: listed.len(),
        ..ImportSummary::default()
    };
    let mut todo = Vec::new();
    for build in &listed {
        if store.find_build(&build.builder, build.number)?.is_some() {
            summary.skipped += 1;
        } else {
            todo.push(build);
        }
    }
    let jobs = options.jobs.max(1);
    let window = 2 * jobs;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many builds this thread has written; a fetcher waits while it is `window` ahead.
    let written = (Mutex::new(0usize), Condvar::new());
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Fetched>)>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (client, todo, next, stop, written) = (&client, &todo, &next, &stop, &written);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= todo.len() {
                    return;
                }
                {
                    let (lock, wake) = written;
                    let mut done = lock.lock().unwrap_or_else(|e| e.into_inner());
                    while i >= *done + window && !stop.load(Ordering::SeqCst) {
                        done = wake.wait(done).unwrap_or_else(|e| e.into_inner());
                    }
                }
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let fetched = fetch(client, options, todo[i]);
                if tx.send((i, fetched)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let outcome = write_in_order(
            store,
            options,
            &todo,
            &rx,
            &written,
            &mut summary,
            &mut progress,
        );
        stop.store(true, Ordering::SeqCst);
        written.1.notify_all();
        drop(rx);
        outcome
    })?;
    Ok(summary)
}

/// Writes the fetched builds in the order listed, each in its own transaction.
fn write_in_order(
    store: &mut dyn Store,
    options: &Options,
    todo: &[&Listed],
    rx: &std::sync::mpsc::Receiver<(usize, Result<Fetched>)>,
    written: &(Mutex<usize>, Condvar),
    summary: &mut ImportSummary,
    progress: &mut impl FnMut(&Listed, usize, &mut Vec<String>),
) -> Result<()> {
    let mut waiting: BTreeMap<usize, Result<Fetched>> = BTreeMap::new();
    for (i, build) in todo.iter().enumerate() {
        let fetched = loop {
            if let Some(fetched) = waiting.remove(&i) {
                break fetched;
            }
            let (j, fetched) = rx.recv().map_err(|_| {
                Error::bad_input(format!(
                    "{} #{}: the thread fetching it stopped",
                    build.builder, build.number
                ))
            })?;
            waiting.insert(j, fetched);
        }
        .map_err(|e| e.context(format!("{} #{}", build.builder, build.number)))?;
        let mut warnings = Vec::new();
        if fetched.sources.is_empty() {
            // As the step does: a build without any of the logs is not recorded.
            summary.no_results += 1;
        } else if store.find_build(&build.builder, build.number)?.is_some() {
            // Written by another process since the import started.
            summary.skipped += 1;
        } else {
            let ingest_options = IngestOptions {
                builder: build.builder.clone(),
                number: build.number,
                revision: build.revision.clone(),
                time: Some(build.started),
                changes: fetched.changes,
                branch: options.branch.clone(),
                result: build.result.map(result_name),
                source_root: options.source_root.clone(),
                ..IngestOptions::default()
            };
            let done = ingest::ingest(store, &ingest_options, &fetched.sources)?;
            summary.imported += 1;
            let c = done.counts;
            summary.results += c.passed
                + c.failed
                + c.error
                + c.skipped
                + c.expected_failure
                + c.unexpected_success
                + c.flaky;
            warnings.extend(done.warnings);
        }
        {
            let mut done = written.0.lock().unwrap_or_else(|e| e.into_inner());
            *done = i + 1;
        }
        written.1.notify_all();
        progress(build, todo.len(), &mut warnings);
    }
    Ok(())
}

/// Buildbot's result codes (`buildbot.process.results`).
fn result_name(code: i64) -> String {
    match code {
        0 => "success",
        1 => "warnings",
        2 => "failure",
        3 => "skipped",
        4 => "exception",
        5 => "retry",
        6 => "cancelled",
        _ => return format!("result-{code}"),
    }
    .to_owned()
}

/// The complete builds of the chosen builders, oldest first.
fn list(client: &Client, options: &Options) -> Result<Vec<Listed>> {
    let path = "/builders".to_owned();
    let answer = client.get_found(&path)?;
    let url = client.shown(&path);
    let root = At::root(&url, &answer);
    let builders = root.key("builders");
    let mut chosen = Vec::new();
    for builder in builders.items()? {
        let name = builder.key("name").str()?;
        if options.builders.is_empty() || options.builders.iter().any(|b| b == name) {
            chosen.push((builder.key("builderid").int()?, name.to_owned()));
        }
    }
    for wanted in &options.builders {
        if !chosen.iter().any(|(_, name)| name == wanted) {
            let names: Vec<&str> = builders
                .items()?
                .filter_map(|b| b.value.get("name").and_then(|n| n.as_str()))
                .collect();
            return Err(Error::usage(format!(
                "--builder `{wanted}`: the master has no such builder (it has: {})",
                names.join(", ")
            )));
        }
    }
    let since = options.since.map(|t| t.timestamp());
    let mut listed = Vec::new();
    for (builderid, name) in chosen {
        let mut offset = 0;
        loop {
            let mut path = format!(
                "/builders/{builderid}/builds?complete=true&order=number&limit={PAGE}&offset={offset}\
                 &property=got_revision&property=revision"
            );
            if let Some(since) = since {
                path.push_str(&format!("&started_at__ge={since}"));
            }
            let answer = client.get_found(&path)?;
            let url = client.shown(&path);
            let root = At::root(&url, &answer);
            let builds = root.key("builds");
            let mut count = 0;
            for build in builds.items()? {
                count += 1;
                let started = build.key("started_at");
                let seconds = started
                    .opt_seconds()?
                    .ok_or_else(|| started.error("a time"))?;
                let started = clock::from_micros((seconds * 1e6) as i64);
                if options.since.is_some_and(|since| started < since) {
                    continue;
                }
                let properties = build.key("properties");
                listed.push(Listed {
                    builder: name.clone(),
                    number: build.key("number").int()?,
                    buildid: build.key("buildid").int()?,
                    buildrequestid: build.key("buildrequestid").opt_int()?,
                    started,
                    result: build.key("results").opt_int()?,
                    revision: revision(&properties)?,
                });
            }
            if count < PAGE {
                break;
            }
            offset += PAGE;
        }
    }
    listed
        .sort_by(|a, b| (a.started, &a.builder, a.number).cmp(&(b.started, &b.builder, b.number)));
    Ok(listed)
}

/// `got_revision`, else `revision` (each `[value, source]`); with several codebases, the first
/// one's.
fn revision(properties: &At<'_>) -> Result<Option<String>> {
    for name in ["got_revision", "revision"] {
        let property = properties.key(name);
        if property.value.is_null() {
            continue;
        }
        let value = property.items()?.next();
        let found = match value.as_ref().map(|v| v.value) {
            Some(serde_json::Value::String(rev)) => Some(rev.clone()),
            Some(serde_json::Value::Object(by_codebase)) => by_codebase
                .values()
                .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
                .map(str::to_owned),
            _ => None,
        };
        if let Some(rev) = found.filter(|r| !r.is_empty()) {
            return Ok(Some(rev));
        }
    }
    Ok(None)
}

/// A build's blamelist, logs and test results.
fn fetch(client: &Client, options: &Options, build: &Listed) -> Result<Fetched> {
    let buildid = build.buildid;
    let changes = match build.buildrequestid {
        Some(request) => changes(client, request)?,
        None => Vec::new(),
    };
    let mut sources = Vec::new();
    for (step, parser) in &options.steps {
        if let Some(source) = step_log(client, buildid, step, *parser)? {
            sources.push(source);
        }
    }
    if options.test_results {
        sources.extend(results::fetch(client, buildid)?);
    }
    Ok(Fetched { changes, sources })
}

/// The Changes of the build's request (of its source stamps): what the build itself brought, as
/// the step's `build.allChanges()` sees them. (Buildbot's `/builds/N/changes` is another thing:
/// every change since the builder's last successful build, which would blame a failing build's
/// changes again in the next one.)
fn changes(client: &Client, buildrequestid: i64) -> Result<Vec<ChangeRecord>> {
    let path = format!("/buildrequests/{buildrequestid}");
    let answer = client.get_found(&path)?;
    let url = client.shown(&path);
    let root = At::root(&url, &answer);
    let requests = root.key("buildrequests");
    let Some(request) = requests.items()?.next() else {
        return Err(requests.error("the build request"));
    };
    let buildsetid = request.key("buildsetid").int()?;
    let path = format!("/buildsets/{buildsetid}/sourcestamps");
    let answer = client.get_found(&path)?;
    let url = client.shown(&path);
    let root = At::root(&url, &answer);
    let mut out: Vec<ChangeRecord> = Vec::new();
    for stamp in root.key("sourcestamps").items()? {
        let ssid = stamp.key("ssid").int()?;
        source_stamp_changes(client, ssid, &mut out)?;
    }
    Ok(out)
}

fn source_stamp_changes(client: &Client, ssid: i64, out: &mut Vec<ChangeRecord>) -> Result<()> {
    let path = format!("/sourcestamps/{ssid}/changes");
    let answer = client.get_found(&path)?;
    let url = client.shown(&path);
    let root = At::root(&url, &answer);
    for change in root.key("changes").items()? {
        let Some(revision) = change.key("revision").opt_str()?.filter(|r| !r.is_empty()) else {
            continue;
        };
        if out.iter().any(|c| c.revision == revision) {
            continue;
        }
        out.push(ChangeRecord {
            revision: revision.to_owned(),
            author: Some(
                change
                    .key("author")
                    .opt_str()?
                    .filter(|a| !a.is_empty())
                    .unwrap_or("unknown")
                    .to_owned(),
            ),
            time: change
                .key("when_timestamp")
                .opt_seconds()?
                .map(|s| (s * 1e6) as i64),
            comments: change.key("comments").opt_str()?.map(str::to_owned),
            parents: None,
        });
    }
    Ok(())
}

/// The `stdio` log of the build's step `step`, spooled to a temporary file; `None` when the build
/// has no such step or log.
fn step_log(
    client: &Client,
    buildid: i64,
    step: &str,
    parser: &'static dyn Format,
) -> Result<Option<Source>> {
    let path = format!("/builds/{buildid}/steps/{}/logs/stdio", segment(step));
    let Some(answer) = client.get(&path)? else {
        return Ok(None);
    };
    let url = client.shown(&path);
    let root = At::root(&url, &answer);
    let logs = root.key("logs");
    let Some(log) = logs.items()?.next() else {
        return Ok(None);
    };
    let logid = log.key("logid").int()?;
    let lines = usize::try_from(log.key("num_lines").int()?).unwrap_or(0);
    let stream = log.key("type").opt_str()? == Some("s");

    let mut spool = Spool::new()?;
    let mut command: Option<String> = None;
    let mut directory: Option<String> = None;
    let compile = parser.name() == "gcc";
    let mut offset = 0;
    while offset < lines {
        let path = format!("/logs/{logid}/contents?offset={offset}&limit={LOG_LINES}");
        let Some(answer) = client.get(&path)? else {
            break;
        };
        let url = client.shown(&path);
        let root = At::root(&url, &answer);
        let chunks = root.key("logchunks");
        let chunk = chunks
            .items()?
            .next()
            .ok_or_else(|| chunks.error("one log chunk"))?;
        let content = chunk.key("content").str()?;
        let mut got = 0;
        for line in content.split_inclusive('\n') {
            got += 1;
            if !stream {
                spool.write(line.as_bytes())?;
                continue;
            }
            let (channel, text) = line.split_at(line.len().min(1));
            match channel {
                "o" | "e" => {
                    spool.write(text.as_bytes())?;
                    if !text.ends_with('\n') {
                        spool.write(b"\n")?;
                    }
                }
                "h" if command.is_none() => {
                    command = Some(text.trim_end_matches('\n').to_owned());
                }
                "h" if directory.is_none() => {
                    directory = text.strip_prefix(" in dir ").map(|d| {
                        d.split(" (timeout")
                            .next()
                            .unwrap_or(d)
                            .trim_end()
                            .to_owned()
                    });
                }
                _ => {}
            }
        }
        if got == 0 {
            break;
        }
        offset += got;
    }
    let prefix = match (&command, compile) {
        (Some(command), true) => format!("{command}\n"),
        _ => String::new(),
    };
    let name = format!("{step}/stdio");
    let mut source = spool.finish(name, prefix.as_bytes())?;
    source.parser = Some(parser);
    if compile {
        source.source_root = directory;
    }
    Ok(Some(source))
}

/// A temporary file that a report is written to, hashed as it is written (its first bytes, a
/// compiler log's command, may be known only at the end: `finish` puts them in front).
pub(super) struct Spool {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
}

impl Spool {
    pub(super) fn new() -> Result<Spool> {
        let file = tempfile::NamedTempFile::new()
            .map_err(|e| Error::bad_input(format!("cannot make a temporary file: {e}")))?;
        Ok(Spool {
            file: std::io::BufWriter::with_capacity(256 * 1024, file),
        })
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|e| Error::bad_input(format!("cannot write a temporary file: {e}")))
    }

    pub(super) fn finish(self, name: String, prefix: &[u8]) -> Result<Source> {
        let failed =
            |e: std::io::Error| Error::bad_input(format!("cannot write a temporary file: {e}"));
        let body = self.file.into_inner().map_err(|e| failed(e.into_error()))?;
        let spool = if prefix.is_empty() {
            body
        } else {
            let mut whole = tempfile::NamedTempFile::new().map_err(failed)?;
            whole.write_all(prefix).map_err(failed)?;
            std::io::copy(&mut body.reopen().map_err(failed)?, &mut whole).map_err(failed)?;
            whole
        };
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_reader(spool.reopen().map_err(failed)?)
            .map_err(failed)?;
        Ok(Source::spooled(name, spool, *hasher.finalize().as_bytes()))
    }
}
