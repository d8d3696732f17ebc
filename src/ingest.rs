//! Ingest: reports → parsers → one store transaction.
//!
//! Reports stream through their parser into the store inside one transaction: results are resolved
//! to tests in batches and merged into a compact per-build state, so memory does not grow with a
//! report's size beyond a few bytes per test. A report that cannot be parsed rolls the transaction
//! back: the build lands whole or not at all.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::blamelist;
use crate::clock;
use crate::durations;
use crate::error::{Error, Result};
use crate::retry::Retry;
use crate::runs;
use crate::session::Opened;
use crate::store::{
    self, ChangeRecord, Counts, Forget, Id, Location, Lock, NewBuild, ResultRecord, Run, RunsOf,
    Store,
};
use crate::transaction;
use crate::views::ingest::{IngestSummary, LockTimes, NewProblem, ReportSummary};
use bstr::BString;
use chrono::{DateTime, Utc};
use probtrack_parsers::{Format, Kind, Status};

pub(crate) mod ahead;
mod known;
mod read;
pub(crate) mod state;

pub(crate) use known::Known;
use known::LaneChunks;
pub(crate) use read::{open_file, parse_input, prepare, Input, Parsed, Source};
use state::{BuildState, IngestSink};

/// What to ingest, checked.
#[derive(Clone, Default)]
pub(crate) struct IngestOptions {
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
    /// The reports' format; `None` sniffs each report.
    pub parser: Option<&'static dyn Format>,
    /// Compiler logs: the directory paths are made relative to.
    pub source_root: Option<String>,
    /// Metric values given with the build (`--metric`; [`ingest_inputs`] adds those of
    /// `metric_files`).
    pub metrics: Vec<probtrack_parsers::metrics::Metric>,
    /// Metric files to read (`--metrics`), before the transaction.
    pub metric_files: Vec<Input>,
    /// Their format; `None` sniffs each file.
    pub metrics_parser: Option<&'static dyn probtrack_parsers::metrics::MetricFormat>,
    /// How metrics are judged (`[metrics]` in the settings).
    pub metric_settings: crate::settings::MetricSettings,
    /// Coverage reports named with `--coverage` ([`ingest_inputs`] adds the reports it sniffs
    /// as coverage, and reads them all into `coverage`).
    pub coverage_files: Vec<Input>,
    /// Their format; `None` sniffs each report.
    pub coverage_parser: Option<&'static dyn probtrack_parsers::coverage::CoverageFormat>,
    /// The build's coverage, read before the transaction.
    pub coverage: Option<crate::coverage::read::CoverageInput>,
    /// Which losses of coverage are Problems (`[coverage]` in the settings).
    pub coverage_settings: crate::settings::CoverageSettings,
}

/// `ingest`: reads and hashes every report first (an unreadable one stops it before the database
/// is touched), then ingests them into the database at `location`, created when missing. A
/// database that a failed first ingest created is removed again. An error that can be retried (a
/// lost connection, a server restarting) is, as `retry` says, telling `notice` before each retry:
/// the reports were read once, and a retry after a commit that landed changes nothing.
pub(crate) fn ingest_inputs(
    location: &Location,
    open: &dyn Fn() -> Result<Opened>,
    options: &IngestOptions,
    inputs: &[Input],
    retry: Retry,
    notice: &mut dyn FnMut(&Error, u32, std::time::Duration),
) -> Result<IngestSummary> {
    let prepared = inputs.iter().map(prepare).collect::<Result<Vec<_>>>()?;
    // Coverage reports, named or sniffed among the reports, are read whole first: a bad one
    // stops the ingest before the database.
    let mut coverage = options
        .coverage_files
        .iter()
        .map(prepare)
        .collect::<Result<Vec<_>>>()?;
    let mut reports = Vec::with_capacity(prepared.len());
    for source in prepared {
        if options.parser.is_none() && crate::coverage::read::is_coverage(&source)? {
            coverage.push(source);
        } else {
            reports.push(source);
        }
    }
    let mut coverage_input = crate::coverage::read::read(
        &coverage.iter().collect::<Vec<_>>(),
        options.coverage_parser,
        options.source_root.as_deref(),
    )?;
    // Path fixing: a coverage path the tree at the build's revision does not have becomes the
    // tree's one file it is a suffix of (JaCoCo names files relative to the source directory).
    if let (Some(input), Some(repo)) = (&mut coverage_input, &options.git) {
        let revision = options.revision.as_deref().unwrap_or("HEAD");
        // Resolved first: a revision git lacks is refused as the blamelist refuses it.
        let revision = blamelist::resolve(repo, revision)?;
        let tree = blamelist::tree_files(repo, &revision)?;
        crate::coverage::paths::fix(&mut input.coverage, &tree);
    }
    // Metric files are read whole first too: a bad one stops the ingest before the database.
    let files = crate::metrics::read_files(&options.metric_files, options.metrics_parser)?;
    let mut options = options.clone();
    options.coverage = coverage_input;
    let mut metric_files = Vec::with_capacity(files.len());
    let mut warnings = Vec::new();
    for file in files {
        metric_files.push(ReportSummary {
            file: file.name,
            parser: Some(file.parser),
            results: file.metrics.len() as u64,
            added: true,
        });
        warnings.extend(file.warnings);
        options.metrics.extend(file.metrics);
    }
    let options = &options;
    let mut summary = retry.run(
        || {
            let new = store::is_new_file(location);
            let mut store = open()?;
            let outcome = ingest(store.as_mut(), options, &reports);
            if outcome.is_err() {
                // The next attempt (and command) opens the database afresh.
                store.discard();
                if new {
                    store::remove_if_empty(location);
                }
            }
            outcome
        },
        notice,
    )?;
    summary.metric_files = metric_files;
    summary.warnings.splice(0..0, warnings);
    Ok(summary)
}

/// Ingests the reports into the build, in one transaction.
pub(crate) fn ingest(
    store: &mut dyn Store,
    options: &IngestOptions,
    reports: &[Source],
) -> Result<IngestSummary> {
    let branch = options.branch.as_deref();
    // The serialised part, for the bench: from the branch's lock granted to the commit's end, or
    // from the write's start where the engine holds the database whole for it.
    let asked = std::time::Instant::now();
    let mut locked = None;
    let mut summary = transaction::ingest(store, |store| {
        let begun = std::time::Instant::now();
        // The build's own rows (builds, results, its lane's runs) are written under its lane's
        // lock: ingests of other lanes write theirs at the same time.
        let builder = &options.builder;
        // `--replace` of a build recorded on another branch rewrites that lane too: both lanes
        // are locked, in the order of their keys, so two such ingests cannot deadlock.
        let moved = elsewhere(store, options)?;
        let mut lanes = vec![Lock::Lane { builder, branch }];
        if let Some(other) = &moved {
            let branch = other.as_deref();
            lanes.push(Lock::Lane { builder, branch });
            lanes.sort_by_key(Lock::key);
        }
        for lane in lanes {
            store.lock(lane)?;
        }
        // Moved again while this ingest waited (a rare race): its next attempt locks anew.
        if elsewhere(store, options)? != moved {
            return Err(Error::database(format!(
                "build {} #{} moved to another branch while this ingest waited for its lane",
                options.builder, options.number
            ))
            .conflicting("another ingest replaced the same build at the same time"));
        }
        // The reports are parsed on a second thread while this one looks their tests up.
        let written = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(ahead::CAPACITY);
            let (parser, root) = (options.parser, options.source_root.as_deref());
            scope.spawn(move || ahead::parse_reports(reports, parser, root, &tx));
            write(
                store,
                options,
                reports,
                &mut ahead::Events::new(&rx),
                &mut Known::default(),
            )
        })?;
        // Problems span the branch's builders: they are judged one ingest at a time, from the
        // committed builds and this one's, under the branch's lock, which the commit lets go.
        let judging = std::time::Instant::now();
        locked = Some(match store.lock(Lock::Branch(branch))? {
            true => (judging.elapsed(), std::time::Instant::now()),
            false => (begun - asked, begun),
        });
        let regressions = judge(store, std::slice::from_ref(&written))?;
        new_problems(store, written, &regressions)
    })?;
    if let Some((waited, at)) = locked {
        let held = at.elapsed();
        summary.lock = Some(LockTimes { waited, held });
    }
    Ok(summary)
}

/// With `--replace`, the branch the build is recorded on when it is not `options.branch` (the
/// outer `None`: not replacing, not recorded, or on the same branch; no branch is `Some(None)`).
fn elsewhere(store: &mut dyn Store, options: &IngestOptions) -> Result<Option<Option<String>>> {
    if !options.replace {
        return Ok(None);
    }
    let norm = |b: Option<&str>| b.filter(|b| !b.is_empty()).map(str::to_owned);
    let ours = norm(options.branch.as_deref());
    Ok(store
        .find_build(&options.builder, options.number)?
        .map(|found| norm(found.branch.as_deref()))
        .filter(|theirs| *theirs != ours))
}

/// A build written but whose Problems are not judged yet: [`judge`] does that, for one build or for
/// a batch of them in the same transaction.
pub(crate) struct Written {
    pub summary: IngestSummary,
    build: Id,
    builder: String,
    branch: Option<String>,
    /// Whether the build changed the outcomes of its lane (else it needs no judging).
    changed: bool,
    /// The tests whose Problems it may have changed.
    touched: Vec<Id>,
    /// Problems on the builder fixed at or after this build number may be judged anew: a Problem
    /// is judged on up to AFTER builds after its fix.
    since: i64,
    /// `(lane, number, time)` when the build went in as its lane's newest.
    newest: Option<crate::problems::NewBuild>,
    /// The metric series it wrote values of, and how metrics are judged.
    series: Vec<Id>,
    metric_settings: crate::settings::MetricSettings,
}

/// Writes a build: its metadata, blamelist, results, runs and durations. The reports were parsed
/// on another thread, and `ahead` replays them in order (see [`ahead`]). `known` carries test ids
/// and lane runs from one build to the next of the same transaction.
pub(crate) fn write(
    store: &mut dyn Store,
    options: &IngestOptions,
    reports: &[Source],
    ahead: &mut ahead::Events<'_>,
    known: &mut Known,
) -> Result<Written> {
    let now = clock::to_micros(clock::now());
    let builder = store.create_builder(&options.builder)?;
    let lane = store.lane_id(builder, options.branch.as_deref())?;
    let existing = match known.take_absent(&options.builder, options.number) {
        true => None,
        false => store.find_build(&options.builder, options.number)?,
    };

    let mut revision = options.revision.clone();
    if let Some(repo) = &options.git {
        revision = Some(blamelist::resolve(
            repo,
            revision.as_deref().unwrap_or("HEAD"),
        )?);
    }
    let metadata = NewBuild {
        builder,
        number: options.number,
        lane,
        revision: revision.clone(),
        time: options.time.map_or(now, clock::to_micros),
        result: options.result.clone(),
        properties: serde_json::Value::Object(options.properties.clone()).to_string(),
        clean: options.clean_build,
        ingested_at: now,
    };

    let (build, action, keep_existing) = match existing {
        None => (store.save_build(None, &metadata)?, "created", false),
        Some(found) if options.replace => {
            // Builds whose coverage is stored relative to this one's keep theirs.
            crate::coverage::stored::detach(store, found.lane, found.id)?;
            store.save_build(Some(found.id), &metadata)?;
            store.forget_build(found.id, Forget::Results)?;
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
            // A revision given now, or a clean build said by this report, is kept: a diagnostic
            // that arrives late from an earlier build is judged by what the build compiled.
            if (found.revision.is_none() && revision.is_some()) || (metadata.clean && !found.clean)
            {
                store.save_build(
                    Some(found.id),
                    &NewBuild {
                        time: found.time,
                        revision: found.revision.clone().or(metadata.revision.clone()),
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

    // The blamelist: --git, then --change.
    let mut changes = Vec::new();
    if !keep_existing {
        if let (Some(repo), Some(rev)) = (&options.git, &revision) {
            let previous = previous_revision(store, lane, options.number)?;
            changes = blamelist::changes(repo, previous.as_deref(), rev)?;
        }
    }
    changes.extend(options.changes.iter().cloned());
    // Changes are shared by builds of every lane: written in one order (by revision), so that
    // two ingests whose blamelists share them in other orders cannot deadlock on PostgreSQL.
    changes.sort_by(|a, b| a.revision.cmp(&b.revision));
    for change in &changes {
        store.link_change(build, change)?;
    }
    // A build that arrives late takes its place: the next build's blamelist starts after it.
    if let (Some(repo), Some(rev), false) = (&options.git, &revision, keep_existing) {
        let next = store
            .lane_builds(lane)?
            .into_iter()
            .find(|b| b.number > options.number);
        if let Some(next) = next {
            if let Some(next_rev) = &next.revision {
                let next_changes = blamelist::changes(repo, Some(rev), next_rev)?;
                store.forget_build(next.id, Forget::Blamelist)?;
                for change in &next_changes {
                    store.link_change(next.id, change)?;
                }
            }
        }
    }

    // What the build already holds, then each new report, streamed in.
    let mut state = BuildState::default();
    if keep_existing {
        load_existing(store, build, lane, options.number, &mut state, known)?;
    }
    let mut summaries = Vec::new();
    let mut seen = HashSet::new();
    let mut fresh = 0u32;
    // A build just created holds no report yet: nothing to look up.
    let held = |store: &mut dyn Store, hash: &[u8]| -> Result<bool> {
        Ok(action != "created" && store.report_exists(build, hash)?)
    };
    for source in reports {
        if !seen.insert(source.hash) || held(store, &source.hash)? {
            ahead.skip()?;
            summaries.push(ReportSummary {
                file: source.name.clone(),
                parser: None,
                results: 0,
                added: false,
            });
            continue;
        }
        fresh += 1;
        let mut sink = IngestSink::new(store, known, &mut state, fresh);
        let parsed = ahead.replay(&mut sink);
        let results = sink.finish()?;
        let parser = parsed?;
        store.insert_report(build, &source.hash, &source.name, parser, results, now)?;
        summaries.push(ReportSummary {
            file: source.name.clone(),
            parser: Some(parser),
            results,
            added: true,
        });
    }
    state.settle();
    // Coverage reports: written, and each file judged as a result of the build.
    let mut coverage_metrics = Vec::new();
    let mut coverage_carried = Vec::new();
    let mut coverage_written = false;
    if let Some(input) = &options.coverage {
        let mut any = false;
        for report in &input.reports {
            if !seen.insert(report.hash) || held(store, &report.hash)? {
                summaries.push(ReportSummary {
                    file: report.name.clone(),
                    parser: None,
                    results: 0,
                    added: false,
                });
                continue;
            }
            any = true;
            store.insert_report(
                build,
                &report.hash,
                &report.name,
                report.parser,
                report.files,
                now,
            )?;
            summaries.push(ReportSummary {
                file: report.name.clone(),
                parser: Some(report.parser),
                results: report.files,
                added: true,
            });
        }
        if any {
            fresh += 1;
            coverage_written = true;
            let at = crate::coverage::record::Recording {
                lane,
                build,
                number: options.number,
                revision: revision.as_deref(),
                git: options.git.as_deref(),
                settings: &options.coverage_settings,
                report: fresh,
            };
            let recorded =
                crate::coverage::record::record(store, known, &mut state, &at, &input.coverage)?;
            coverage_metrics = recorded.metrics;
            coverage_carried = recorded.carried;
            state.settle();
        }
    }
    if keep_existing
        && state.coverage.is_empty()
        && store.lane_coverage(lane)?.iter().any(|c| c.build == build)
    {
        // The coverage results the build already held are not tests either.
        mark_coverage(store, &mut state)?;
    }
    if options.time.is_none() && action != "added" {
        if let Some(time) = state.timestamp {
            store.save_build(
                Some(build),
                &NewBuild {
                    time: clock::to_micros(time),
                    ..metadata.clone()
                },
            )?;
        }
    }

    // Reports already present change nothing but the blamelist: no outcome to write or judge.
    let changed = !(fresh == 0 && action == "added");
    let mut metrics = Vec::new();
    let (action, counts, touched, since, newest) = if changed {
        let lane_builds = store.lane_builds(lane)?;
        // The files the build compiled (with, where it is added to, those of its reports before:
        // `load_existing`).
        let this = lane_builds.iter().find(|b| b.id == build);
        let stored = this.and_then(|b| b.compiled);
        let clean_build = options.clean_build || this.is_some_and(|b| b.clean);
        if stored.is_some() || !state.compiled.is_empty() {
            let files: Vec<BString> = state.compiled.iter().cloned().collect();
            store.set_compiled(build, &files)?;
        }
        let numbers: Vec<i64> = lane_builds.iter().map(|b| b.number).collect();
        let (counts, mut touched) = write_outcomes(
            store,
            build,
            lane,
            &numbers,
            options.number,
            clean_build,
            &mut state,
            known,
        )?;
        // The builds after this one with coverage were judged against the build before them
        // when they came: where this one's coverage is new, or changed, they are judged again.
        let later = numbers.last().is_some_and(|&last| last > options.number);
        if later && (coverage_written || action == "replaced") {
            let after = Neighbours {
                lane,
                number: options.number,
                numbers: &numbers,
                git: options.git.as_deref(),
                settings: &options.coverage_settings,
            };
            touched.extend(rejudge_coverage_after(
                store,
                known,
                &after,
                &mut state.warnings,
            )?);
        }
        let properties = if action == "added" {
            serde_json::Map::new()
        } else {
            options.properties.clone()
        };
        metrics = builtin_metrics(store, &state, &properties)?;
        // A Problem is judged on the builds around it (up to problems::AFTER builds after its fix
        // on each builder): one still open here, or fixed here in the last AFTER builds, may be
        // judged anew.
        let since = numbers
            .len()
            .checked_sub(crate::problems::AFTER + 1)
            .map_or(i64::MIN, |i| numbers[i]);
        let newest = lane_builds
            .last()
            .filter(|b| b.number == options.number)
            .map(|b| (lane, b.number, b.time));
        (action, counts, touched, since, newest)
    } else {
        let counts = store
            .find_build(&options.builder, options.number)?
            .map(|b| b.counts)
            .unwrap_or_default();
        let action = if changes.is_empty() {
            "unchanged"
        } else {
            "added"
        };
        (action, counts, Vec::new(), i64::MAX, None)
    };
    metrics.extend(options.metrics.iter().cloned());
    metrics.extend(coverage_metrics);
    let mut series = crate::metrics::write_values(store, build, &metrics, &mut state.warnings)?;
    let metric_values = series.len();
    // The per-file coverage values the build carries are its values too: a step they confirm
    // is judged here, as if they had been written (where their steps are Problems at all).
    series.extend(crate::metrics::carried_to_judge(
        store,
        &options.metric_settings,
        &coverage_carried,
    )?);
    Ok(Written {
        summary: IngestSummary {
            builder: options.builder.clone(),
            build: options.number,
            action,
            reports: summaries,
            counts,
            changes: changes.len(),
            warnings: state.warnings,
            metric_files: Vec::new(),
            metric_values,
            new_problems: Vec::new(),
            lock: None,
        },
        build,
        builder: options.builder.clone(),
        branch: options.branch.clone(),
        changed,
        touched,
        since,
        newest,
        series,
        metric_settings: options.metric_settings.clone(),
    })
}

/// The built-in metrics of a written build: its results' counts and time, its compile
/// diagnostics (where it has compiler logs or diagnostics), and its numeric properties.
fn builtin_metrics(
    store: &mut dyn Store,
    state: &BuildState,
    properties: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<probtrack_parsers::metrics::Metric>> {
    // Compile diagnostics are failing results; only those are looked up for their kind.
    let failing: Vec<Id> = (state.entries.iter())
        .filter(|(_, e)| e.status.is_failing())
        .map(|(t, _)| t)
        .collect();
    let kinds = if failing.is_empty() {
        Default::default()
    } else {
        store.tests_by_id(&failing)?
    };
    let mut results = crate::metrics::Tally::default();
    for (t, e) in state.entries.iter() {
        let kind = if state.coverage.contains(&t) {
            Kind::Coverage
        } else {
            kinds.get(&t).map_or(Kind::Test, |r| r.kind)
        };
        results.add(kind, e.status, e.duration());
    }
    Ok(crate::metrics::builtin(
        &results,
        !state.compiled.is_empty(),
        properties,
    ))
}

/// Judges the Problems that the written builds may have changed, branch by branch: the tests they
/// touched, and those with a Problem recent enough on one of their builders to be judged anew.
/// Judging a batch once gives the Problems that judging after each build would (the analysis
/// depends only on the outcomes, see `problems::update_after`).
pub(crate) fn judge(store: &mut dyn Store, written: &[Written]) -> Result<Vec<Id>> {
    let mut branches: Vec<&Option<String>> = written.iter().map(|w| &w.branch).collect();
    branches.sort();
    branches.dedup();
    let mut regressions = Vec::new();
    for branch in branches {
        // The branch's lanes and builds, read once for both kinds of judging (on a server, under
        // the branch's lock, every statement is a round trip that the other writers wait for).
        let mut loaded = None;
        // Metric Problems: the series the builds gave values of.
        let mut series: Vec<Id> = (written.iter())
            .filter(|w| &w.branch == branch)
            .flat_map(|w| w.series.iter().copied())
            .collect();
        series.sort_unstable();
        series.dedup();
        if !series.is_empty() {
            let settings = &written[0].metric_settings;
            let loaded = match &mut loaded {
                Some(loaded) => loaded,
                None => loaded.insert(crate::problems::Branch::load(store, branch.as_deref())?),
            };
            // Builds appended as their lanes' newest are judged on a bounded window; any other
            // write, over the whole history.
            let of_branch: Vec<&Written> = (written.iter())
                .filter(|w| &w.branch == branch && !w.series.is_empty())
                .collect();
            let appended: Vec<crate::problems::NewBuild> =
                if of_branch.iter().all(|w| w.newest.is_some()) {
                    of_branch.iter().filter_map(|w| w.newest).collect()
                } else {
                    Vec::new()
                };
            regressions.extend(crate::metrics::judge(
                store, loaded, &series, settings, &appended,
            )?);
        }
        let batch: Vec<&Written> = written
            .iter()
            .filter(|w| &w.branch == branch && w.changed)
            .collect();
        if batch.is_empty() {
            continue;
        }
        let mut touched: Vec<Id> = batch
            .iter()
            .flat_map(|w| w.touched.iter().copied())
            .collect();
        // Per builder, the earliest `since` of the batch covers every build's window.
        let mut since: Vec<(&str, i64)> = Vec::new();
        for w in &batch {
            match since.iter_mut().find(|(b, _)| *b == w.builder) {
                Some((_, s)) => *s = (*s).min(w.since),
                None => since.push((&w.builder, w.since)),
            }
        }
        for (builder, since) in since {
            touched.extend(store.tests_with_recent_problems(builder, branch.as_deref(), since)?);
        }
        touched.sort_unstable();
        touched.dedup();
        // When every build went in as its lane's newest, Problems settled before the earliest
        // new build of each lane need no judging.
        let mut newest: Vec<crate::problems::NewBuild> = Vec::new();
        if batch.iter().all(|w| w.newest.is_some()) {
            for (lane, number, time) in batch.iter().filter_map(|w| w.newest) {
                match newest.iter_mut().find(|n| n.0 == lane) {
                    Some(n) if (number, time) < (n.1, n.2) => *n = (lane, number, time),
                    Some(_) => {}
                    None => newest.push((lane, number, time)),
                }
            }
        }
        let loaded = match loaded {
            Some(loaded) => loaded,
            None => crate::problems::Branch::load(store, branch.as_deref())?,
        };
        crate::problems::update_after(store, &loaded, &touched, &newest)?;
    }
    Ok(regressions)
}

/// The summary of a written and judged build, with the Problems it opened: new breakage, and
/// the metric regressions it confirmed (`regressions`).
fn new_problems(
    store: &mut dyn Store,
    written: Written,
    regressions: &[Id],
) -> Result<IngestSummary> {
    let mut summary = written.summary;
    let mut found = Vec::new();
    if written.changed {
        found = store.problems(&crate::store::ProblemFilter {
            open: Some(true),
            intermittent: Some(false),
            branch: Some(written.branch.clone()),
            first_build: Some(written.build),
            ..crate::store::ProblemFilter::default()
        })?;
        found.retain(|p| p.kind != probtrack_parsers::Kind::Metric);
    }
    if !regressions.is_empty() {
        found.extend(store.problems(&crate::store::ProblemFilter {
            ids: Some(regressions.to_vec()),
            ..crate::store::ProblemFilter::default()
        })?);
    }
    summary.new_problems = found
        .into_iter()
        .map(|p| {
            let mut authors: Vec<String> = p
                .started_by
                .iter()
                .filter_map(|c| c.author.clone())
                .collect();
            authors.dedup();
            NewProblem {
                id: p.id,
                test: crate::report::lossy(&p.test_name),
                started_by: authors,
            }
        })
        .collect();
    Ok(summary)
}

/// Marks the entries of `state` that are coverage files (from what a build already held).
fn mark_coverage(store: &mut dyn Store, state: &mut BuildState) -> Result<()> {
    let ids: Vec<Id> = state.entries.keys().collect();
    if ids.is_empty() {
        return Ok(());
    }
    for (id, test) in store.tests_by_id(&ids)? {
        if test.kind == probtrack_parsers::Kind::Coverage {
            state.coverage.insert(id);
        }
    }
    Ok(())
}

fn previous_revision(store: &mut dyn Store, lane: Id, number: i64) -> Result<Option<String>> {
    Ok(store
        .lane_builds(lane)?
        .into_iter()
        .rfind(|b| b.number < number)
        .and_then(|b| b.revision))
}

/// A build whose coverage came, changed or went, for the builds after it.
struct Neighbours<'a> {
    lane: Id,
    number: i64,
    /// The lane's build numbers, ascending, as they are now.
    numbers: &'a [i64],
    /// The repository, for the diff between two builds' revisions.
    git: Option<&'a Path>,
    settings: &'a crate::settings::CoverageSettings,
}

/// Judges again, in build order, the lane's builds with coverage after `at.number` (their
/// coverage Problems as if they had come after it), until one's results come out as they were;
/// returns the tests whose Problems may have changed.
fn rejudge_coverage_after(
    store: &mut dyn Store,
    known: &mut Known,
    at: &Neighbours<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<Id>> {
    let (lane, numbers) = (at.lane, at.numbers);
    let later: Vec<crate::store::CoverageBuild> = store
        .lane_coverage(lane)?
        .into_iter()
        .filter(|c| c.number > at.number)
        .collect();
    if later.is_empty() {
        return Ok(Vec::new());
    }
    let builds = store.lane_builds(lane)?;
    let mut touched = Vec::new();
    for c in later {
        let revision = (builds.iter())
            .find(|b| b.id == c.build)
            .and_then(|b| b.revision.clone());
        let mut state = BuildState::default();
        load_existing(store, c.build, lane, c.number, &mut state, known)?;
        let at = crate::coverage::record::Recording {
            lane,
            build: c.build,
            number: c.number,
            revision: revision.as_deref(),
            git: at.git,
            settings: at.settings,
            report: 1,
        };
        let changed = crate::coverage::record::rejudge(store, known, &mut state, &at)?;
        warnings.append(&mut state.warnings);
        if !changed {
            break;
        }
        let clean = builds.iter().any(|b| b.id == c.build && b.clean);
        let (_, t) = write_outcomes(
            store, c.build, lane, numbers, c.number, clean, &mut state, known,
        )?;
        touched.extend(t);
    }
    Ok(touched)
}

/// Loads what a build already holds into `state`, as report 0.
fn load_existing(
    store: &mut dyn Store,
    build: Id,
    lane: Id,
    number: i64,
    state: &mut BuildState,
    known: &mut Known,
) -> Result<()> {
    let mut rows: std::collections::HashMap<Id, ResultRecord> = store
        .results(Some(build), None, true)?
        .into_iter()
        .map(|(_, r)| (r.test, r))
        .collect();
    let timing: std::collections::HashMap<Id, Option<f64>> = store
        .build_durations(build)?
        .map(|blob| durations::decode(&blob).into_iter().collect())
        .unwrap_or_default();
    // The files it compiled; a compile diagnostic it passed by compiling its file is not one of
    // its results (`write_outcomes` passes it again).
    let this = (store.lane_builds(lane)?.into_iter()).find(|b| b.id == build);
    let (compiled, clean) = this.map_or((None, false), |b| (b.compiled, b.clean));
    if let Some(set) = compiled {
        let files = store
            .compiled_sets(&[set])?
            .remove(&set)
            .unwrap_or_default();
        state.compiled.extend(files);
    }
    let mut diagnostics = HashSet::new();
    if compiled.is_some() || clean {
        diagnostics.extend(store.lane_compile_tests(lane)?.into_iter().map(|t| t.0));
    }
    let lane_runs = known.take_lane_runs(store, lane)?;
    for (test, test_runs) in &lane_runs {
        let Some(status) = runs::outcome_at(test_runs, number) else {
            continue;
        };
        match rows.remove(test) {
            Some(row) => state.existing(row),
            None if status == Status::Passed && diagnostics.contains(test) => {}
            None => state.existing_plain(*test, status, timing.get(test).copied().flatten()),
        }
    }
    known.keep_lane_runs(lane, lane_runs);
    Ok(())
}

/// The source files each build of a lane compiled.
struct LaneCompiled {
    /// By build number: whether it was clean (compiled every file), and its set of files.
    builds: HashMap<i64, (bool, Option<Id>)>,
    sets: HashMap<Id, HashSet<BString>>,
}

impl LaneCompiled {
    fn read(store: &mut dyn Store, lane: Id) -> Result<LaneCompiled> {
        let builds: HashMap<i64, (bool, Option<Id>)> = (store.lane_builds(lane)?.into_iter())
            .map(|b| (b.number, (b.clean, b.compiled)))
            .collect();
        let mut ids: Vec<Id> = builds.values().filter_map(|b| b.1).collect();
        ids.sort_unstable();
        ids.dedup();
        let sets = match ids.is_empty() {
            true => HashMap::new(),
            false => (store.compiled_sets(&ids)?.into_iter())
                .map(|(id, files)| (id, files.into_iter().collect()))
                .collect(),
        };
        Ok(LaneCompiled { builds, sets })
    }

    /// Whether build `number` compiled `file`.
    fn has(&self, number: i64, file: &Option<BString>) -> bool {
        match self.builds.get(&number) {
            Some((true, _)) => true,
            Some((false, Some(set))) => {
                (file.as_ref()).is_some_and(|f| self.sets.get(set).is_some_and(|s| s.contains(f)))
            }
            _ => false,
        }
    }
}

/// How many tests' new runs `write_outcomes` holds before writing them.
const RUN_WRITES: usize = 4096;

/// Brings the lane's runs, the build's results, counts and durations up to date with `state`
/// (`numbers`: the lane's build numbers, ascending, with this build's); returns the counts and the
/// tests whose Problems may have changed.
#[allow(clippy::too_many_arguments)]
fn write_outcomes(
    store: &mut dyn Store,
    build: Id,
    lane: Id,
    numbers: &[i64],
    number: i64,
    clean_build: bool,
    state: &mut BuildState,
    known: &mut Known,
) -> Result<(Counts, Vec<Id>)> {
    // A build that is not the lane's newest changes its neighbours' view of every test.
    let appended = numbers.last().is_none_or(|&last| last == number);
    // The lane's runs in memory where an import keeps them from build to build; else read a
    // chunk at a time below (a huge build's lane would otherwise be a map of a million tests).
    let mut lane_runs = if known.holds_lane(lane) {
        Some(known.take_lane_runs(store, lane)?)
    } else {
        None
    };

    // Compile diagnostics (docs/ARCHITECTURE.md, *Compile diagnostics*): a build that compiled a
    // diagnostic's file (or every file: `--clean-build`) and does not report it passes it, where
    // a build before it on the lane reported it; so a failure that arrives late is a pass in the
    // builds after it that compiled its file, as if it had come first.
    let late_failures = !appended && state.entries.iter().any(|(_, e)| e.status.is_failing());
    let mut diagnostics: HashMap<Id, Option<BString>> = HashMap::new();
    if clean_build || !state.compiled.is_empty() || late_failures {
        diagnostics.extend(store.lane_compile_tests(lane)?);
    }
    if late_failures {
        let failing: Vec<Id> = (state.entries.iter())
            .filter(|(t, e)| e.status.is_failing() && !diagnostics.contains_key(t))
            .map(|(t, _)| t)
            .collect();
        for (test, record) in store.tests_by_id(&failing)? {
            if record.kind == Kind::Compile {
                diagnostics.insert(test, record.file);
            }
        }
    }
    // A diagnostic the build does not print passes where the build compiled its file and a
    // build before it on the lane printed it.
    let compiled_pass = |test: &Id, runs: &[Run]| -> Option<Status> {
        let file = diagnostics.get(test)?;
        let compiled = clean_build || file.as_ref().is_some_and(|f| state.compiled.contains(f));
        let reported_before =
            (runs.iter()).any(|r| r.first < number && r.status.is_some_and(Status::is_failing));
        (compiled && reported_before).then_some(Status::Passed)
    };
    // A test's outcome in this build: its entry's, or passed for a diagnostic as above.
    let status_of = |test: &Id, runs: &[Run]| {
        (state.entries.get(test).map(|e| e.status)).or_else(|| compiled_pass(test, runs))
    };
    // The files each build of the lane compiled, read where a late build reports a diagnostic.
    let mut lane_compiled: Option<LaneCompiled> = None;

    // Runs: every test of the lane and of the build takes this build's outcome.
    let mut touched: Vec<Id> = Vec::new();
    let mut writes: Vec<(Id, Vec<i64>, Vec<Run>)> = Vec::new();
    let mut step = |test: Id,
                    status: Option<Status>,
                    runs: &mut Vec<Run>,
                    store: &mut dyn Store|
     -> Result<()> {
        // Problems change where the build is not the newest, or where the test fails in it, or
        // failed before it on this lane.
        let failing = |s: Option<Status>| s.is_some_and(Status::is_failing);
        if !appended || failing(status) || failing(runs::last_evidence(runs, number)) {
            touched.push(test);
        }
        // Most tests keep the outcome they had: nothing to copy or write.
        if runs::outcome_at(runs, number) == status {
            return Ok(());
        }
        let old = runs.clone();
        runs::set_outcome(runs, numbers, number, status);
        match diagnostics.get(&test) {
            Some(file) if !appended && failing(status) => {
                if lane_compiled.is_none() {
                    lane_compiled = Some(LaneCompiled::read(store, lane)?);
                }
                let compiled = lane_compiled.as_ref();
                for &later in numbers.iter().filter(|&&n| n > number) {
                    let passes = compiled.is_some_and(|c| c.has(later, file));
                    if passes && runs::outcome_at(runs, later).is_none() {
                        runs::set_outcome(runs, numbers, later, Some(Status::Passed));
                    }
                }
            }
            _ => {}
        }
        if *runs != old {
            let (delete, upsert) = runs::diff(&old, runs);
            writes.push((test, delete, upsert));
            // Written a chunk at a time: a 200,000-test build would otherwise hold every
            // test's new runs at once (~90 bytes each).
            if writes.len() == RUN_WRITES {
                store.write_runs(lane, &writes)?;
                writes.clear();
            }
        }
        Ok(())
    };
    if let Some(lane_runs) = lane_runs.as_mut() {
        for (&test, runs) in lane_runs.iter_mut() {
            step(test, status_of(&test, runs), runs, store)?;
        }
        // The build's tests the lane has not seen (the entries are not copied: a huge build's
        // list).
        for (test, entry) in state.entries.iter() {
            if lane_runs.contains_key(&test) {
                continue;
            }
            let mut runs = Vec::new();
            step(test, Some(entry.status), &mut runs, store)?;
            if known.remembers() {
                lane_runs.insert(test, runs);
            }
        }
    } else {
        // The lane's tests and the build's, merged in id order: the lane's runs a chunk at a
        // time, each chunk read only once every test before it is written.
        let mut chunks = LaneChunks::new(lane);
        let mut entries = state.entries.iter().peekable();
        loop {
            let on_lane = chunks.peek(store)?;
            let in_build = entries.peek().map(|(test, _)| *test);
            let lane_first = match (on_lane, in_build) {
                (None, None) => break,
                (Some(l), b) => b.is_none_or(|b| l <= b),
                (None, Some(_)) => false,
            };
            if lane_first {
                let mut status = None;
                if in_build == on_lane {
                    status = entries.next().map(|(_, e)| e.status);
                }
                if let Some((test, mut runs)) = chunks.take() {
                    let status = status.or_else(|| compiled_pass(&test, &runs));
                    step(test, status, &mut runs, store)?;
                }
            } else if let Some((test, entry)) = entries.next() {
                step(test, Some(entry.status), &mut Vec::new(), store)?;
            }
        }
    }
    store.write_runs(lane, &writes)?;
    drop(writes);
    if let Some(lane_runs) = lane_runs {
        known.keep_lane_runs(lane, lane_runs);
    }

    let mut counts = Counts::default();
    let mut rows = Vec::new();
    // Each entry has its own detail (if any): taken, not copied.
    let BuildState {
        entries,
        details,
        coverage,
        ..
    } = state;
    for (test, entry) in entries.iter() {
        // A source file's coverage is a result of the build, but not a test.
        if !coverage.contains(&test) {
            counts.add(entry.status);
        }
        let detail = entry
            .detail()
            .and_then(|i| details.get_mut(i as usize))
            .map(std::mem::take)
            .unwrap_or_default();
        // Only a plain single pass goes without a `results` row (its details are not kept; the
        // runner's own id is kept on the test).
        if entry.status != Status::Passed || entry.attempts > 1 || detail.message.is_some() {
            rows.push(ResultRecord {
                test,
                status: entry.status,
                duration: entry.duration(),
                message: detail.message,
                attempts: entry.attempts,
                details: detail.details,
            });
        }
    }
    // Every detail was taken into the rows.
    *details = Vec::new();
    rows.sort_by_key(|r| r.test);
    store.replace_build_results(build, &rows)?;
    // Freed before the durations are encoded: a huge build would hold both.
    drop(rows);
    // The durations of the build's tests (not its coverage files), by id. (A compile diagnostic
    // passed by compiling its file is an outcome, not one of the build's results: neither counted
    // nor here, so that a build's counts do not depend on which builds came before it.)
    let timing = entries
        .iter()
        .filter(|(test, _)| !coverage.contains(test))
        .map(|(test, entry)| (test, entry.duration()));
    store.set_build_outcome(build, &counts, &durations::encode_sorted(timing))?;
    Ok((counts, touched))
}

/// Takes a build out: its results, reports and blamelist go, and its lane's other builds keep their
/// outcomes.
pub(crate) fn delete_build(
    store: &mut dyn Store,
    builder: &str,
    number: i64,
    metrics: &crate::settings::MetricSettings,
    coverage: &crate::settings::CoverageSettings,
    git: Option<&Path>,
) -> Result<()> {
    transaction::write(store, |store| {
        let Some(build) = store.find_build(builder, number)? else {
            return Err(Error::bad_input(format!(
                "there is no build {} #{number}",
                crate::report::safe(builder.as_bytes()),
            ))
            .hint("`probtrack builds --builder NAME` lists a builder's builds"));
        };
        let numbers: Vec<i64> = store
            .lane_builds(build.lane)?
            .iter()
            .map(|b| b.number)
            .collect();
        let tests = store.lane_tests(build.lane)?;
        for (test, old) in store.runs(RunsOf::Lane(build.lane))? {
            let mut new = old.clone();
            runs::remove_build(&mut new, &numbers, number);
            if new != old {
                let (delete, upsert) = runs::diff(&old, &new);
                store.write_runs(build.lane, &[(test, delete, upsert)])?;
            }
        }
        crate::coverage::stored::detach(store, build.lane, build.id)?;
        store.forget_build(build.id, Forget::Build)?;
        // The builds after it with coverage are judged against the one before it now (with the
        // diff between their revisions where the repository is given, else lines matched by
        // number).
        let numbers: Vec<i64> = numbers.into_iter().filter(|&n| n != number).collect();
        let after = Neighbours {
            lane: build.lane,
            number,
            numbers: &numbers,
            git,
            settings: coverage,
        };
        let mut known = Known::default();
        rejudge_coverage_after(store, &mut known, &after, &mut Vec::new())?;
        let branch = crate::problems::Branch::load(store, build.branch.as_deref())?;
        crate::problems::update(store, &branch, &tests)?;
        crate::metrics::rejudge(store, Some(builder), metrics)
    })
}

/// `--time`: RFC 3339.
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>> {
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
pub(crate) fn parse_property(text: &str) -> Result<(String, serde_json::Value)> {
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
