//! The coverage pages' data: each builder's latest build with coverage on the branch, its files
//! as `probtrack coverage` lists them (`coverage::view::summary`), every line classified against
//! the builder's previous build with coverage, and, with `--git`, each file's source at the
//! build's revision.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::blamelist;
use crate::coverage::classify::{self, Class};
use crate::coverage::diff::Diff;
use crate::coverage::stored;
use crate::coverage::view::{self, Selection};
use crate::error::Result;
use crate::report::html::{BuilderCoverage, LineMark, SourceFile};
use crate::store::Store;

/// A source file larger than this is not shown (its lines still are, without their text).
const SOURCE_MAX: u64 = 16 * 1024 * 1024;

/// Every builder's latest coverage on `branch`, by builder name.
pub(super) fn load(
    store: &mut dyn Store,
    branch: Option<&str>,
    git: Option<&Path>,
) -> Result<Vec<BuilderCoverage>> {
    let mut out = Vec::new();
    for lane in view::lanes(store, branch)? {
        let sel = Selection {
            builder: Some(lane.lane.builder.clone()),
            branch: branch.map(str::to_owned),
            build: None,
        };
        let Some(summary) = view::summary(store, &sel)? else {
            continue;
        };
        let Some(record) = lane.coverage.last() else {
            continue;
        };
        let revision_of = |id| {
            (lane.builds.iter())
                .find(|b| b.id == id)
                .and_then(|b| b.revision.clone())
        };
        let now = stored::snapshot_at(store, &lane.coverage, record.build)?;
        let previous = lane
            .coverage
            .len()
            .checked_sub(2)
            .map(|p| &lane.coverage[p]);
        let mut notes = Vec::new();
        // Each line's class against the previous build, with the diff where both revisions
        // are in the repository.
        let mut classes: HashMap<String, BTreeMap<u32, Class>> = HashMap::new();
        if let Some(p) = previous {
            let before = stored::snapshot_at(store, &lane.coverage, p.build)?;
            let (old, new) = (revision_of(p.build), revision_of(record.build));
            let known = |rev: &Option<String>| match (git, rev) {
                (Some(repo), Some(rev)) => blamelist::resolve(repo, rev).is_ok(),
                _ => false,
            };
            let diff = if known(&old) && known(&new) {
                view::git_diff(git, old.as_deref(), new.as_deref())?.unwrap_or_default()
            } else {
                notes.push(
                    "The lines are classified without the diff between the two builds' \
                     revisions (give report --git the repository that has both): a line that \
                     changed counts as unchanged.",
                );
                Diff::default()
            };
            for file in classify::classify(&view::as_lines(&before), &view::as_lines(&now), &diff) {
                let lines = file
                    .lines
                    .iter()
                    .filter_map(|l| l.line.map(|n| (n, l.class)))
                    .collect();
                classes.insert(file.path, lines);
            }
        }
        let revision = revision_of(record.build);
        let (mut sources, missing_source) = match (git, &revision) {
            (Some(repo), Some(rev)) if blamelist::resolve(repo, rev).is_ok() => {
                let paths: Vec<&str> = now.keys().map(String::as_str).collect();
                (
                    blamelist::files_at(repo, rev, &paths, SOURCE_MAX)?,
                    "The source is not shown: the repository has no such file at the build's \
                     revision, or it is over 16 MiB.",
                )
            }
            (Some(_), Some(_)) => (
                HashMap::new(),
                "The source is not shown: the build's revision is not in the repository given \
                 with --git (fetch it).",
            ),
            (Some(_), None) => (
                HashMap::new(),
                "The source is not shown: the build has no revision (ingest --revision).",
            ),
            (None, _) => (
                HashMap::new(),
                "The source is not shown: give report --git DIR the repository the build built.",
            ),
        };
        let files = summary
            .files
            .iter()
            .map(|row| {
                let lines = now.get(&row.path);
                let classes = classes.get(&row.path);
                let class_of = |n: u32| classes.and_then(|c| c.get(&n).copied());
                let count = |class: Class| {
                    classes.map_or(0, |c| c.values().filter(|k| **k == class).count() as u64)
                };
                SourceFile {
                    path: row.path.clone(),
                    lines: row.lines_total,
                    covered: row.lines_covered,
                    branches: row.branches_total,
                    branches_covered: row.branches_covered,
                    change: row.change,
                    lost: count(Class::LostBaseline),
                    new_uncovered: count(Class::UncoveredNew),
                    marks: lines
                        .into_iter()
                        .flatten()
                        .map(|(&n, s)| LineMark {
                            line: n,
                            covered: s.covered,
                            hits: s.hits,
                            branches: s.branches.map(|b| (b.covered, b.total)),
                            class: class_of(n),
                        })
                        .collect(),
                    source: sources.remove(&row.path),
                }
            })
            .collect();
        let change = match (
            summary.totals.lines_percent,
            summary.previous_totals.and_then(|t| t.lines_percent),
        ) {
            (Some(a), Some(b)) => Some(((a - b) * 100.0).round() / 100.0),
            _ => None,
        };
        out.push(BuilderCoverage {
            builder: summary.builder,
            build: summary.build,
            revision,
            baseline: summary.previous_build,
            change,
            notes: notes.into_iter().map(str::to_owned).collect(),
            missing_source: missing_source.to_owned(),
            files,
        });
    }
    Ok(out)
}
