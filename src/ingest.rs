//! Ingest: reports → parsed results → one store transaction.
//!
//! Every report is parsed before the database is touched, so a report that cannot be read changes
//! nothing. The writes then happen in one transaction: the build lands whole or not at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

use bstr::{BString, ByteSlice};
use chrono::{DateTime, Utc};
use probtrack_parsers::{Format, Kind, ParseOptions, Status, TestResult, SNIFF_LEN};
use serde::Serialize;

use crate::blamelist;
use crate::clock;
use crate::durations;
use crate::error::{Error, Result};
use crate::runs;
use crate::store::{ChangeRecord, Counts, Id, NewBuild, NewTest, ResultRecord, Store};

/// A report to read: a file, or standard input (`-`).
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    pub fn from_arg(arg: &std::ffi::OsStr) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }

    /// The name messages use.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }
}

/// One report, read and parsed.
#[derive(Debug)]
pub struct Parsed {
    pub name: String,
    pub parser: &'static str,
    /// BLAKE3 of the report's bytes.
    pub hash: [u8; 32],
    pub results: Vec<TestResult>,
    pub compiled: Vec<BString>,
    pub warnings: Vec<String>,
    pub timestamp: Option<DateTime<Utc>>,
}

/// Reads `input` and parses it with `parser`, or with the format its first bytes show.
pub fn parse_input(
    input: &Input,
    parser: Option<&'static dyn Format>,
    source_root: Option<&str>,
) -> Result<Parsed> {
    let name = input.name();
    let reader: Box<dyn Read> = match input {
        Input::File(path) => {
            if path.is_dir() {
                return Err(
                    Error::bad_input(format!("{name} is a directory, not a report"))
                        .hint("name the report files, e.g. `reports/*.xml`"),
                );
            }
            Box::new(
                File::open(path)
                    .map_err(|e| Error::bad_input(format!("cannot read {name}: {e}")).with_io(e))?,
            )
        }
        Input::Stdin => Box::new(io::stdin().lock()),
    };
    let mut hashing = Hashing {
        inner: reader,
        hasher: blake3::Hasher::new(),
    };
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut hashing)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::bad_input(format!("cannot read {name}: {e}")))?;
    let format = match parser {
        Some(format) => format,
        None => {
            if head.is_empty() {
                return Err(
                    Error::bad_input(format!("{name} is empty: there is nothing to read"))
                        .hint("check that the test step wrote its report before this ran"),
                );
            }
            probtrack_parsers::detect(&head).ok_or_else(|| {
                let names: Vec<_> = probtrack_parsers::registry().iter().map(|f| f.name()).collect();
                Error::bad_input(format!(
                    "cannot tell the format of {name}: none of the parsers ({}) recognises it",
                    names.join(", ")
                ))
                .hint("name the format with --parser, or check that this is a test report or build log")
            })?
        }
    };
    let options = ParseOptions {
        source: name.clone(),
        source_root: source_root.map(str::to_owned),
    };
    let mut reader =
        BufReader::with_capacity(256 * 1024, io::Cursor::new(head).chain(&mut hashing));
    let collected = probtrack_parsers::collect(format, &mut reader, &options)?;
    // Hash the whole report, even what the parser did not need to read.
    io::copy(&mut reader, &mut io::sink())
        .map_err(|e| Error::bad_input(format!("cannot read {name}: {e}")))?;
    drop(reader);
    Ok(Parsed {
        name,
        parser: format.name(),
        hash: *hashing.hasher.finalize().as_bytes(),
        results: collected.results,
        compiled: collected.compiled,
        warnings: collected.warnings,
        timestamp: collected.timestamp,
    })
}

struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// What to ingest, checked.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    pub builder: String,
    pub number: i64,
    pub revision: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub changes: Vec<ChangeRecord>,
    pub git: Option<PathBuf>,
    pub branch: Option<String>,
    pub result: Option<String>,
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub replace: bool,
    pub clean_build: bool,
}

/// What an ingest did.
#[derive(Clone, Debug, Serialize)]
pub struct IngestSummary {
    pub builder: String,
    pub build: i64,
    /// `created`, `added` (reports added to an existing build), `replaced` or `unchanged`.
    pub action: &'static str,
    pub reports: Vec<ReportSummary>,
    pub counts: Counts,
    pub changes: usize,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReportSummary {
    pub file: String,
    pub parser: &'static str,
    pub results: usize,
    /// False when this report was already in the build (same content).
    pub added: bool,
}

/// One test's result in the build being written.
#[derive(Clone, Debug)]
struct Outcome {
    status: Status,
    duration: Option<f64>,
    message: Option<BString>,
    attempts: u32,
    details: Option<String>,
}

impl Outcome {
    fn from_result(result: &TestResult) -> Outcome {
        Outcome {
            status: result.status,
            duration: result.duration,
            message: result.message.clone(),
            attempts: result.attempts.max(1),
            details: (!result.details.is_empty())
                .then(|| serde_json::Value::Object(result.details.clone()).to_string()),
        }
    }

    /// Only a plain single pass goes without a `results` row (its details are not kept; the
    /// runner's own id is kept on the test).
    fn needs_row(&self) -> bool {
        self.status != Status::Passed || self.attempts > 1 || self.message.is_some()
    }

    /// A later report's result for the same test in the same build: attempts add up; a failure
    /// followed by a pass is `flaky`; a skip does not hide a run.
    fn merge(&mut self, next: Outcome) {
        let attempts = self.attempts.saturating_add(next.attempts);
        if next.status == Status::Skipped && self.status != Status::Skipped {
            self.attempts = attempts;
            return;
        }
        let earlier_failed = self.status.is_failing() || self.status == Status::Flaky;
        let status = if next.status.is_passing() && earlier_failed {
            Status::Flaky
        } else {
            next.status
        };
        let duration = match (self.duration, next.duration) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        *self = Outcome {
            status,
            duration,
            message: next.message.or_else(|| self.message.take()),
            attempts,
            details: next.details.or_else(|| self.details.take()),
        };
    }
}

/// Writes the parsed reports into the build, in one transaction.
pub fn ingest(
    store: &mut dyn Store,
    options: &IngestOptions,
    reports: Vec<Parsed>,
) -> Result<IngestSummary> {
    store.begin_write()?;
    match write(store, options, reports) {
        Ok(summary) => {
            store.commit()?;
            Ok(summary)
        }
        Err(error) => {
            let _ = store.rollback();
            Err(error)
        }
    }
}

fn write(
    store: &mut dyn Store,
    options: &IngestOptions,
    reports: Vec<Parsed>,
) -> Result<IngestSummary> {
    let now = clock::to_micros(clock::now());
    let builder = store.create_builder(&options.builder)?;
    let lane = store.lane_id(builder, options.branch.as_deref())?;
    let existing = store.find_build(&options.builder, options.number)?;

    let mut revision = options.revision.clone();
    if let (Some(repo), Some(rev)) = (&options.git, &revision) {
        revision = Some(blamelist::resolve(repo, rev)?);
    } else if let (Some(repo), None) = (&options.git, &revision) {
        revision = Some(blamelist::resolve(repo, "HEAD")?);
    }

    let report_time = reports.iter().filter_map(|r| r.timestamp).min();
    let time = options.time.or(report_time).map_or(now, clock::to_micros);
    let metadata = NewBuild {
        builder,
        number: options.number,
        lane,
        revision: revision.clone(),
        time,
        finished_at: None,
        result: options.result.clone(),
        properties: serde_json::Value::Object(options.properties.clone()).to_string(),
        clean: options.clean_build,
        ingested_at: now,
    };

    let (build, action, keep_existing) = match existing {
        None => (store.insert_build(&metadata)?, "created", false),
        Some(found) if options.replace => {
            store.update_build(found.id, &metadata)?;
            store.clear_build(found.id)?;
            (found.id, "replaced", false)
        }
        Some(found) => {
            if found.lane != lane {
                return Err(Error::bad_input(format!(
                    "build {} #{} is already recorded on branch {}, not {}",
                    options.builder,
                    options.number,
                    found.branch.as_deref().unwrap_or("(none)"),
                    options.branch.as_deref().unwrap_or("(none)")
                ))
                .hint("use --replace to record it again from scratch"));
            }
            if let (Some(stored), Some(given)) = (&found.revision, &revision) {
                if stored != given {
                    return Err(Error::bad_input(format!(
                        "build {} #{} is already recorded at revision {stored}, not {given}",
                        options.builder, options.number
                    ))
                    .hint("use --replace to record it again from scratch"));
                }
            }
            if found.revision.is_none() && revision.is_some() {
                store.update_build(
                    found.id,
                    &NewBuild {
                        time: found.time,
                        result: found.result.clone().or(metadata.result.clone()),
                        properties: found.properties.clone(),
                        clean: found.clean || metadata.clean,
                        ..metadata.clone()
                    },
                )?;
            }
            (found.id, "added", true)
        }
    };

    // Reports already in the build (same content) change nothing.
    let mut summaries = Vec::new();
    let mut fresh = Vec::new();
    let mut seen_hashes = HashSet::new();
    for report in reports {
        let added = !store.report_exists(build, &report.hash)? && seen_hashes.insert(report.hash);
        summaries.push(ReportSummary {
            file: report.name.clone(),
            parser: report.parser,
            results: report.results.len(),
            added,
        });
        if added {
            fresh.push(report);
        }
    }
    let warnings: Vec<String> = fresh.iter().flat_map(|r| r.warnings.clone()).collect();

    // The blamelist: --git, then --change.
    let mut changes = Vec::new();
    if !keep_existing {
        if let (Some(repo), Some(rev)) = (&options.git, &revision) {
            let previous = previous_revision(store, lane, options.number)?;
            changes = blamelist::changes(repo, previous.as_deref(), rev)?;
        }
    }
    changes.extend(options.changes.iter().cloned());
    for change in &changes {
        let id = store.upsert_change(change)?;
        store.link_change(build, id)?;
    }
    // A build that arrives late takes its place: the next build's blamelist starts after it.
    if let (Some(repo), Some(rev), false) = (&options.git, &revision, keep_existing) {
        let next = store
            .lane_builds(lane)?
            .into_iter()
            .find(|b| b.number > options.number);
        if let Some(LaneBuildRev {
            id,
            revision: Some(next_rev),
        }) = next.map(|b| LaneBuildRev {
            id: b.id,
            revision: b.revision,
        }) {
            let next_changes = blamelist::changes(repo, Some(rev), &next_rev)?;
            store.unlink_changes(id)?;
            for change in &next_changes {
                let change = store.upsert_change(change)?;
                store.link_change(id, change)?;
            }
        }
    }

    if fresh.is_empty() && action == "added" {
        let counts = store
            .find_build(&options.builder, options.number)?
            .map(|b| b.counts)
            .unwrap_or_default();
        return Ok(IngestSummary {
            builder: options.builder.clone(),
            build: options.number,
            action: if changes.is_empty() {
                "unchanged"
            } else {
                "added"
            },
            reports: summaries,
            counts,
            changes: changes.len(),
            warnings,
        });
    }

    let (counts, touched) = write_outcomes(store, build, lane, options, keep_existing, &fresh)?;
    let branch = crate::problems::Branch::load(store, options.branch.as_deref())?;
    crate::problems::update(store, &branch, &touched)?;
    for report in &fresh {
        store.insert_report(
            build,
            &report.hash,
            &report.name,
            report.parser,
            report.results.len() as u64,
            now,
        )?;
    }
    Ok(IngestSummary {
        builder: options.builder.clone(),
        build: options.number,
        action,
        reports: summaries,
        counts,
        changes: changes.len(),
        warnings,
    })
}

struct LaneBuildRev {
    id: Id,
    revision: Option<String>,
}

fn previous_revision(store: &mut dyn Store, lane: Id, number: i64) -> Result<Option<String>> {
    Ok(store
        .lane_builds(lane)?
        .into_iter()
        .rfind(|b| b.number < number)
        .and_then(|b| b.revision))
}

/// Merges the new reports into the build's results and brings the lane's runs up to date.
fn write_outcomes(
    store: &mut dyn Store,
    build: Id,
    lane: Id,
    options: &IngestOptions,
    keep_existing: bool,
    reports: &[Parsed],
) -> Result<(Counts, Vec<Id>)> {
    let numbers: Vec<i64> = store.lane_builds(lane)?.iter().map(|b| b.number).collect();
    let number = options.number;
    // A build that is not the lane's newest changes its neighbours' view of every test.
    let appended = numbers.last().is_none_or(|&last| last == number);
    let mut lane_runs = store.lane_runs(lane)?;

    // What the build already holds.
    let mut outcomes: BTreeMap<Id, Outcome> = BTreeMap::new();
    if keep_existing {
        let details: HashMap<Id, ResultRecord> = store
            .build_results(build)?
            .into_iter()
            .map(|r| (r.test, r))
            .collect();
        let durations: HashMap<Id, Option<f64>> = store
            .build_durations(build)?
            .map(|blob| durations::decode(&blob).into_iter().collect())
            .unwrap_or_default();
        for (test, test_runs) in &lane_runs {
            let Some(status) = runs::outcome_at(test_runs, number) else {
                continue;
            };
            let outcome = match details.get(test) {
                Some(r) => Outcome {
                    status: r.status,
                    duration: r.duration,
                    message: r.message.clone(),
                    attempts: r.attempts,
                    details: r.details.clone(),
                },
                None => Outcome {
                    status,
                    duration: durations.get(test).copied().flatten(),
                    message: None,
                    attempts: 1,
                    details: None,
                },
            };
            outcomes.insert(*test, outcome);
        }
    }

    // The new reports, merged in order.
    let mut compiled: HashSet<BString> = HashSet::new();
    for report in reports {
        let tests: Vec<NewTest> = report
            .results
            .iter()
            .map(|r| NewTest {
                name: r.test.clone(),
                kind: r.kind,
                // The path as the identity has it: relative to the same root as the compiled files.
                file: compile_file(r),
                runner_id: r
                    .details
                    .get("runner_id")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            })
            .collect();
        let ids = store.test_ids(&tests)?;
        for (id, result) in ids.into_iter().zip(&report.results) {
            let outcome = Outcome::from_result(result);
            match outcomes.get_mut(&id) {
                Some(existing) => existing.merge(outcome),
                None => {
                    outcomes.insert(id, outcome);
                }
            }
        }
        compiled.extend(report.compiled.iter().cloned());
    }

    // A compile diagnostic seen before and not now is fixed where its file was compiled again.
    if options.clean_build || !compiled.is_empty() {
        for (test, file) in store.lane_compile_tests(lane)? {
            if outcomes.contains_key(&test) {
                continue;
            }
            let recompiled = options.clean_build
                || file
                    .as_ref()
                    .is_some_and(|f| compiled.iter().any(|c| c == f));
            if recompiled {
                outcomes.insert(
                    test,
                    Outcome {
                        status: Status::Passed,
                        duration: None,
                        message: None,
                        attempts: 1,
                        details: None,
                    },
                );
            }
        }
    }

    // Runs: every test of the lane and of the build takes this build's outcome.
    let mut tests: Vec<Id> = lane_runs.keys().copied().collect();
    tests.extend(outcomes.keys().filter(|t| !lane_runs.contains_key(t)));
    // The tests whose Problems may change: every test where the build is not the newest; else the
    // tests that changed outcome or fail in it.
    let mut touched: Vec<Id> = if appended { Vec::new() } else { tests.clone() };
    for test in tests {
        if appended && outcomes.get(&test).is_some_and(|o| o.status.is_failing()) {
            touched.push(test);
        }
        let old = lane_runs.remove(&test).unwrap_or_default();
        let mut new = old.clone();
        runs::set_outcome(
            &mut new,
            &numbers,
            number,
            outcomes.get(&test).map(|o| o.status),
        );
        if new != old {
            let (delete, upsert) = runs::diff(&old, &new);
            store.write_runs(lane, test, &delete, &upsert)?;
            if appended && touched.last().is_none_or(|t| *t != test) {
                touched.push(test);
            }
        }
    }
    touched.sort_unstable();
    touched.dedup();

    let mut counts = Counts::default();
    let mut rows = Vec::new();
    let mut timing = Vec::with_capacity(outcomes.len());
    for (test, outcome) in outcomes {
        counts.add(outcome.status);
        timing.push((test, outcome.duration));
        if outcome.needs_row() {
            rows.push(ResultRecord {
                test,
                status: outcome.status,
                duration: outcome.duration,
                message: outcome.message,
                attempts: outcome.attempts,
                details: outcome.details,
            });
        }
    }
    store.replace_build_results(build, &rows)?;
    store.set_build_outcome(build, &counts, &durations::encode(&mut timing))?;
    Ok((counts, touched))
}

/// A compile diagnostic's file, from its identity `path:flag:message`.
fn compile_file(result: &TestResult) -> Option<BString> {
    (result.kind == Kind::Compile)
        .then(|| result.test.split_str(":").next().map(BString::from))
        .flatten()
}

/// Takes a build out: its results, reports and blamelist go, and its lane's other builds keep their
/// outcomes.
pub fn delete_build(store: &mut dyn Store, builder: &str, number: i64) -> Result<bool> {
    store.begin_write()?;
    let outcome = (|| -> Result<bool> {
        let Some(build) = store.find_build(builder, number)? else {
            return Ok(false);
        };
        let numbers: Vec<i64> = store
            .lane_builds(build.lane)?
            .iter()
            .map(|b| b.number)
            .collect();
        let tests = store.lane_tests(build.lane)?;
        for (test, old) in store.lane_runs(build.lane)? {
            let mut new = old.clone();
            runs::remove_build(&mut new, &numbers, number);
            if new != old {
                let (delete, upsert) = runs::diff(&old, &new);
                store.write_runs(build.lane, test, &delete, &upsert)?;
            }
        }
        store.delete_build(build.id)?;
        let branch = crate::problems::Branch::load(store, build.branch.as_deref())?;
        crate::problems::update(store, &branch, &tests)?;
        Ok(true)
    })();
    match outcome {
        Ok(found) => {
            store.commit()?;
            Ok(found)
        }
        Err(e) => {
            let _ = store.rollback();
            Err(e)
        }
    }
}

/// `--time`: RFC 3339.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::usage(format!(
                "--time `{text}`: {e}; expected RFC 3339, e.g. 2024-03-01T08:52:19Z"
            ))
        })
}

/// `--property KEY=VALUE`: numbers are kept as numbers (where the number reads back as written, so
/// `python=3.10` stays the string `3.10`).
pub fn parse_property(text: &str) -> Result<(String, serde_json::Value)> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(Error::usage(format!(
            "--property `{text}`: expected KEY=VALUE, e.g. `--property python=3.12`"
        )));
    };
    let value = if let Ok(int) = value.parse::<i64>() {
        serde_json::Value::from(int)
    } else if let Some(float) = value
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && f.to_string() == value)
        .and_then(serde_json::Number::from_f64)
    {
        serde_json::Value::Number(float)
    } else {
        serde_json::Value::from(value)
    };
    Ok((key.to_owned(), value))
}
