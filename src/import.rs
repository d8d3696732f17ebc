//! Bulk import of a history laid out as `DIR/BUILDER/NUMBER.EXT` or `DIR/BUILDER/NUMBER/*`, with
//! optional `builds.tsv` and `revisions.tsv` (the layout of `shared/bench/gen_history.py`).
//!
//! Builds go in in time order, in batches of [`BATCH_BUILDS`] per transaction, each batch's
//! Problems judged once at its end, so an import that is stopped leaves whole builds only (whole
//! batches); running it again skips the builds already present.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::clock;
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::{self, IngestOptions};
use crate::store::{ChangeRecord, Savepoint, Store};
use crate::views::import::ImportSummary;

pub(crate) mod buildbot;

/// One build found in the directory.
#[derive(Clone, Debug)]
pub(crate) struct PlannedBuild {
    pub builder: String,
    pub number: i64,
    pub reports: Vec<PathBuf>,
    pub revision: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub changes: Vec<ChangeRecord>,
}

/// Reads the directory and the TSV files into the builds to import, in time order.
pub(crate) fn plan(dir: &Path) -> Result<Vec<PlannedBuild>> {
    if !dir.is_dir() {
        return Err(Error::usage(format!("{} is not a directory", dir.display()))
            .hint("import takes a directory laid out as DIR/BUILDER/NUMBER.xml or DIR/BUILDER/NUMBER/*"));
    }
    let revisions = read_revisions(&dir.join("revisions.tsv"))?;
    let builds_tsv = read_builds(&dir.join("builds.tsv"), &revisions)?;
    let mut planned = Vec::new();
    let mut builders: Vec<PathBuf> = read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    builders.retain(|p| !hidden(p));
    for builder_dir in builders {
        let builder = builder_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut by_number: HashMap<i64, Vec<PathBuf>> = HashMap::new();
        for entry in read_dir_sorted(&builder_dir)? {
            if hidden(&entry) {
                continue;
            }
            let stem = if entry.is_dir() {
                entry.file_name()
            } else {
                entry.file_stem()
            };
            let Some(number) = stem
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<i64>().ok())
            else {
                continue;
            };
            let files = if entry.is_dir() {
                read_dir_sorted(&entry)?
                    .into_iter()
                    .filter(|f| f.is_file() && !hidden(f))
                    .collect()
            } else {
                vec![entry]
            };
            by_number.entry(number).or_default().extend(files);
        }
        for (number, reports) in by_number {
            if reports.is_empty() {
                continue;
            }
            let row = builds_tsv.get(&(builder.clone(), number));
            planned.push(PlannedBuild {
                builder: builder.clone(),
                number,
                reports,
                revision: row.and_then(|r| r.revision.clone()),
                time: row.and_then(|r| r.time),
                changes: row.map(|r| r.changes.clone()).unwrap_or_default(),
            });
        }
    }
    planned.sort_by(|a, b| (a.time, &a.builder, a.number).cmp(&(b.time, &b.builder, b.number)));
    Ok(planned)
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::bad_input(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

struct RevisionRow {
    author: Option<String>,
    time: Option<i64>,
    parent: Option<String>,
}

struct BuildRow {
    revision: Option<String>,
    time: Option<DateTime<Utc>>,
    changes: Vec<ChangeRecord>,
}

/// A TSV row: its line number, and its values by column name.
type Row = (usize, HashMap<String, String>);

/// Rows of a TSV file with a header.
fn read_tsv(path: &Path) -> Result<Option<Vec<Row>>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::bad_input(format!("cannot read {}: {e}", path.display())))?;
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Ok(Some(Vec::new()));
    };
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let values: Vec<&str> = line.split('\t').collect();
        let row = columns
            .iter()
            .enumerate()
            .map(|(c, name)| {
                (
                    (*name).to_owned(),
                    values.get(c).unwrap_or(&"").trim().to_owned(),
                )
            })
            .collect();
        rows.push((i + 1, row));
    }
    Ok(Some(rows))
}

fn read_revisions(path: &Path) -> Result<HashMap<String, RevisionRow>> {
    let mut out = HashMap::new();
    for (_, row) in read_tsv(path)?.unwrap_or_default() {
        let Some(revision) = row.get("revision").filter(|r| !r.is_empty()) else {
            continue;
        };
        out.insert(
            revision.clone(),
            RevisionRow {
                author: row.get("author").filter(|a| !a.is_empty()).cloned(),
                time: row
                    .get("timestamp")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| clock::to_micros(t.with_timezone(&Utc))),
                parent: row.get("parent").filter(|p| !p.is_empty()).cloned(),
            },
        );
    }
    Ok(out)
}

fn read_builds(
    path: &Path,
    revisions: &HashMap<String, RevisionRow>,
) -> Result<HashMap<(String, i64), BuildRow>> {
    let mut out = HashMap::new();
    for (line, row) in read_tsv(path)?.unwrap_or_default() {
        let place = || format!("{}:{line}", path.display());
        let builder = row.get("builder").cloned().unwrap_or_default();
        let number = row
            .get("number")
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(|| Error::bad_input(format!("{}: `number` is not an integer", place())))?;
        let time = match row.get("timestamp").filter(|t| !t.is_empty()) {
            Some(t) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| Error::bad_input(format!("{}: timestamp `{t}`: {e}", place())))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let revision = row.get("revision").filter(|r| !r.is_empty()).cloned();
        let build_author = row.get("author").filter(|a| !a.is_empty()).cloned();
        let changes = row
            .get("changes")
            .map(|c| {
                c.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(|rev| {
                        let known = revisions.get(rev);
                        ChangeRecord {
                            revision: rev.to_owned(),
                            author: known.and_then(|k| k.author.clone()).or_else(|| {
                                (Some(rev) == revision.as_deref())
                                    .then(|| build_author.clone())
                                    .flatten()
                            }),
                            time: known.and_then(|k| k.time),
                            comments: None,
                            parents: known.and_then(|k| k.parent.clone()),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            (builder, number),
            BuildRow {
                revision,
                time,
                changes,
            },
        );
    }
    Ok(out)
}

/// Options every imported build shares.
#[derive(Clone, Default)]
pub(crate) struct ImportOptions {
    pub git: Option<PathBuf>,
    pub branch: Option<String>,
    pub parser: Option<&'static dyn probtrack_parsers::Format>,
    pub source_root: Option<String>,
}

/// Results of a build read ahead of writing it, at most (a few MiB).
const READ_AHEAD: usize = 20_000;

/// How many builds an import writes before it judges their Problems and commits: judging once per
/// batch instead of after every build is most of import's speed, and a stopped import loses at
/// most one batch.
pub(crate) const BATCH_BUILDS: usize = 256;

/// Imports the planned builds, calling `progress` after each.
///
/// Builds are written in batches of [`BATCH_BUILDS`], each batch one transaction whose Problems
/// are judged once at its end, while a second thread parses the reports ahead. A build that fails
/// is undone alone: the builds before it are judged and committed, and the error is returned. A
/// build that fails on a report is undone to its savepoint; one written without a savepoint (see
/// [`import_batch`]), and any build that fails on a database error (its writes a server held
/// included: they are sent at its end), takes its batch with it, so the batch's builds before it
/// are written again, in a transaction of their own; nothing is judged or committed after a
/// database error. (A lost connection loses the open
/// batch on the server; the builds before are then written by the next run.)
pub(crate) fn import(
    store: &mut dyn Store,
    planned: &[PlannedBuild],
    options: &ImportOptions,
    mut progress: impl FnMut(&PlannedBuild, &mut Vec<String>),
) -> Result<ImportSummary> {
    let mut summary = ImportSummary {
        builds: planned.len(),
        ..ImportSummary::default()
    };
    // Builds already present are skipped (and not parsed).
    let stored = stored_builds(store, &planned.iter().collect::<Vec<_>>())?;
    let present: Vec<bool> = (planned.iter())
        .map(|b| stored.contains(&(b.builder.as_str(), b.number)))
        .collect();
    let todo: Vec<Vec<PathBuf>> = planned
        .iter()
        .zip(&present)
        .filter(|(_, &present)| !present)
        .map(|(build, _)| build.reports.clone())
        .collect();
    // The builds of a batch that a failed build took with it, and the error.
    let mut redo: Option<(Vec<PlannedBuild>, Error)> = None;
    let written = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(ingest::ahead::CAPACITY);
        let (parser, source_root) = (options.parser, options.source_root.clone());
        scope.spawn(move || ingest::ahead::parse_builds(todo, parser, source_root, tx));
        let mut known = ingest::Known::across_builds();
        let mut events = ingest::ahead::Events::new(&rx);
        let builds: Vec<(&PlannedBuild, bool)> =
            planned.iter().zip(present.iter().copied()).collect();
        for batch in builds.chunks(BATCH_BUILDS) {
            store.begin_write()?;
            // Builds another process wrote since the import started are skipped: looked up once
            // a batch, under the writers' lock.
            let todo: Vec<&PlannedBuild> = (batch.iter())
                .filter(|(_, present)| !present)
                .map(|(build, _)| *build)
                .collect();
            let stored = match stored_builds(store, &todo) {
                Ok(stored) => stored,
                Err(e) => {
                    let _ = store.rollback();
                    return Err(e);
                }
            };
            // The builds' writes whose answers nothing reads go several to a round trip.
            store.hold_writes();
            let mut written = Vec::new();
            let mut undone = None;
            let outcome = import_batch(
                store,
                batch,
                options,
                &mut events,
                &mut known,
                &stored,
                &mut written,
                &mut summary,
                &mut undone,
                &mut progress,
            );
            if let Some(failed) = undone {
                let before = batch[..failed].iter().filter(|(_, present)| !present);
                let again = before.map(|(build, _)| (*build).clone()).collect();
                redo = outcome.err().map(|e| (again, e));
                return Ok(());
            }
            // After a database error nothing is judged or kept (the engine would refuse to commit).
            if let Err(e) = &outcome {
                if e.kind == ErrorKind::Database {
                    let _ = store.rollback();
                    return outcome;
                }
            }
            // What was written is judged and kept, also when a build failed on its input.
            let judged = ingest::judge(store, &written).and_then(|_| store.commit());
            if let Err(e) = outcome.and(judged) {
                let _ = store.rollback();
                return Err(e);
            }
            // Another process may write between batches.
            known.forget();
        }
        Ok(())
    });
    written?;
    if let Some((again, error)) = redo {
        let quiet: &mut dyn FnMut(&PlannedBuild, &mut Vec<String>) = &mut |_, _| {};
        if !again.is_empty() && import(store, &again, options, quiet).is_err() {
            return Err(error.hint(
                "the builds before it in its batch were undone too; run the import again to \
                 write them",
            ));
        }
        return Err(error);
    }
    Ok(summary)
}

/// The builds of `planned` that the database holds, by (builder, number), on any branch: read a
/// lane at a time (one query for the lanes, one for each lane of a builder planned), not one
/// query per build.
fn stored_builds<'p>(
    store: &mut dyn Store,
    planned: &[&'p PlannedBuild],
) -> Result<HashSet<(&'p str, i64)>> {
    let mut stored = HashSet::new();
    if planned.is_empty() {
        return Ok(stored);
    }
    let builders: HashSet<&str> = planned.iter().map(|b| b.builder.as_str()).collect();
    let mut numbers: HashMap<&str, HashSet<i64>> = HashMap::new();
    for lane in store.lanes()? {
        let Some(&builder) = builders.get(lane.builder.as_str()) else {
            continue;
        };
        let found = numbers.entry(builder).or_default();
        found.extend(store.lane_builds(lane.id)?.into_iter().map(|b| b.number));
    }
    for build in planned {
        if numbers
            .get(build.builder.as_str())
            .is_some_and(|n| n.contains(&build.number))
        {
            stored.insert((build.builder.as_str(), build.number));
        }
    }
    Ok(stored)
}

#[allow(clippy::too_many_arguments)]
fn import_batch(
    store: &mut dyn Store,
    batch: &[(&PlannedBuild, bool)],
    options: &ImportOptions,
    ahead: &mut ingest::ahead::Events<'_>,
    known: &mut ingest::Known,
    stored: &HashSet<(&str, i64)>,
    written: &mut Vec<ingest::Written>,
    summary: &mut ImportSummary,
    undone: &mut Option<usize>,
    progress: &mut impl FnMut(&PlannedBuild, &mut Vec<String>),
) -> Result<()> {
    for (at, &(build, present)) in batch.iter().enumerate() {
        let mut warnings = Vec::new();
        if present {
            summary.skipped += 1;
            progress(build, &mut warnings);
            continue;
        }
        ahead.build()?;
        if stored.contains(&(build.builder.as_str(), build.number)) {
            // Written by another process since the import started.
            for _ in &build.reports {
                ahead.skip()?;
            }
            summary.skipped += 1;
            progress(build, &mut warnings);
            continue;
        }
        // Looked up under this batch's lock: write need not look again.
        known.learn_absent(&build.builder, build.number);
        let ingest_options = IngestOptions {
            builder: build.builder.clone(),
            number: build.number,
            revision: build.revision.clone(),
            time: build.time,
            changes: if options.git.is_some() {
                Vec::new()
            } else {
                build.changes.clone()
            },
            git: options.git.clone(),
            branch: options.branch.clone(),
            parser: options.parser,
            source_root: options.source_root.clone(),
            ..IngestOptions::default()
        };
        // A build whose reports all parsed (read ahead, up to READ_AHEAD results) can fail to
        // write only on a database error, which ends the import: it needs no savepoint, whose
        // journal of every page the build changes was ~5% of an import. Any other build, and
        // any build whose blamelist comes from git (a revision git does not know is the user's
        // to fix), is written under one, so that it is undone alone.
        let clean = options.git.is_none() && ahead.read_build(build.reports.len(), READ_AHEAD)?;
        // A build read ahead whole comes with its reports' hashes, worked out as they were
        // parsed; any other is read and hashed here (which also reports an unreadable file).
        let reports = match ahead.hashes(build.reports.len()).filter(|_| clean) {
            Some(hashes) => build
                .reports
                .iter()
                .zip(hashes)
                .map(|(path, hash)| ingest::Source::hashed_file(path.clone(), hash))
                .collect(),
            None => build
                .reports
                .iter()
                .map(|path| ingest::prepare(&ingest::Input::File(path.clone())))
                .collect::<Result<Vec<_>>>()?,
        };
        // The build's writes that a server's engine held go at its end, so that an error of
        // one is this build's.
        let mut write = || -> Result<ingest::Written> {
            if !clean {
                store.savepoint(Savepoint::Mark)?;
            }
            let done = ingest::write(store, &ingest_options, &reports, ahead, known)?;
            store.send_held()?;
            if !clean {
                store.savepoint(Savepoint::Keep)?;
            }
            Ok(done)
        };
        let done = match write() {
            Ok(done) => done,
            Err(e) if !clean && e.kind != ErrorKind::Database => {
                known.forget();
                if store.savepoint(Savepoint::Undo).is_ok() {
                    return Err(e);
                }
                // Not undone alone: the whole batch goes, as below.
                let _ = store.rollback();
                written.clear();
                *undone = Some(at);
                return Err(e);
            }
            Err(e) => {
                // Part of the build is written, and only the transaction can undo it (after a
                // database error, the engine commits nothing): the whole batch goes, and
                // `import` writes the builds before this one again.
                let _ = store.rollback();
                known.forget();
                written.clear();
                *undone = Some(at);
                return Err(e);
            }
        };
        summary.imported += 1;
        let c = done.summary.counts;
        summary.results += c.passed
            + c.failed
            + c.error
            + c.skipped
            + c.expected_failure
            + c.unexpected_success
            + c.flaky;
        warnings.extend(done.summary.warnings.iter().cloned());
        written.push(done);
        progress(build, &mut warnings);
    }
    Ok(())
}
