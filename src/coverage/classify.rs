//! Each line of a build's coverage classified against the baseline (the builder's previous
//! build), in the vocabulary of lcov's differential coverage (genhtml `--baseline-file`
//! `--diff-file`): whether the line is new, unchanged or deleted by the change between the two
//! revisions, and whether it was and is covered.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::{Diff, FileDiff};
use probtrack_parsers::coverage::LineCoverage;

/// One file's executable lines and their coverage, by line number.
pub type FileLines = BTreeMap<u32, LineCoverage>;
/// A build's coverage: relative path → its lines.
pub type Lines = BTreeMap<String, FileLines>;

/// lcov's differential coverage categories (the three-letter codes are genhtml's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// UNC: a new or changed line that did not run.
    UncoveredNew,
    /// LBC: an unchanged line that ran in the baseline and no longer does.
    LostBaseline,
    /// UIC: an unchanged line that was not executable before and is now, uncovered.
    UncoveredIncluded,
    /// UBC: an unchanged line uncovered in both.
    UncoveredBaseline,
    /// GBC: an unchanged line uncovered in the baseline that now runs.
    GainedBaseline,
    /// GIC: an unchanged line that was not executable before and now runs.
    GainedIncluded,
    /// GNC: a new or changed line that runs.
    GainedNew,
    /// CBC: an unchanged line covered in both.
    CoveredBaseline,
    /// EUB: an unchanged line, uncovered in the baseline, no longer executable.
    ExcludedUncovered,
    /// ECB: an unchanged line, covered in the baseline, no longer executable.
    ExcludedCovered,
    /// DUB: a deleted line that was uncovered.
    DeletedUncovered,
    /// DCB: a deleted line that was covered.
    DeletedCovered,
}

impl Class {
    pub const ALL: [Class; 12] = [
        Class::UncoveredNew,
        Class::LostBaseline,
        Class::UncoveredIncluded,
        Class::UncoveredBaseline,
        Class::GainedBaseline,
        Class::GainedIncluded,
        Class::GainedNew,
        Class::CoveredBaseline,
        Class::ExcludedUncovered,
        Class::ExcludedCovered,
        Class::DeletedUncovered,
        Class::DeletedCovered,
    ];

    /// genhtml's code: `UNC`, `LBC`, ….
    pub fn code(self) -> &'static str {
        match self {
            Class::UncoveredNew => "UNC",
            Class::LostBaseline => "LBC",
            Class::UncoveredIncluded => "UIC",
            Class::UncoveredBaseline => "UBC",
            Class::GainedBaseline => "GBC",
            Class::GainedIncluded => "GIC",
            Class::GainedNew => "GNC",
            Class::CoveredBaseline => "CBC",
            Class::ExcludedUncovered => "EUB",
            Class::ExcludedCovered => "ECB",
            Class::DeletedUncovered => "DUB",
            Class::DeletedCovered => "DCB",
        }
    }

    /// A line the current build has (not excluded or deleted).
    pub fn is_current(self) -> bool {
        !matches!(
            self,
            Class::ExcludedUncovered
                | Class::ExcludedCovered
                | Class::DeletedUncovered
                | Class::DeletedCovered
        )
    }

    /// Coverage that got worse with this build: the lines a coverage Problem is about.
    pub fn is_loss(self) -> bool {
        matches!(self, Class::UncoveredNew | Class::LostBaseline)
    }
}

/// One classified line: its number now (`None` when deleted or excluded) and in the baseline
/// (`None` when new or newly included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineClass {
    pub line: Option<u32>,
    pub baseline_line: Option<u32>,
    pub class: Class,
}

/// One file's classified lines: current lines in order, then the baseline's lines that are
/// gone, in their old order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileClasses {
    /// The path now; for a deleted file, its path in the baseline.
    pub path: String,
    pub baseline_path: Option<String>,
    /// Whether the change between the revisions touched this file (a rename counts).
    pub changed: bool,
    pub lines: Vec<LineClass>,
}

impl FileClasses {
    pub fn count(&self, class: Class) -> usize {
        self.lines.iter().filter(|l| l.class == class).count()
    }
}

/// Classifies every line of `current` against `baseline`, given the diff between their
/// revisions (an empty diff: the source did not change). Files in path order; a file in
/// neither the current coverage nor the baseline does not appear.
pub fn classify(baseline: &Lines, current: &Lines, diff: &Diff) -> Vec<FileClasses> {
    let mut out = Vec::new();
    let mut baseline_seen: BTreeSet<&str> = BTreeSet::new();
    for (path, lines) in current {
        let change = diff.by_new_path(path);
        let baseline_path = match change {
            Some(change) => change.old_path.clone(),
            None => Some(path.clone()),
        };
        let empty = FileLines::new();
        let before = baseline_path
            .as_deref()
            .and_then(|p| baseline.get_key_value(p))
            .map(|(p, lines)| {
                baseline_seen.insert(p.as_str());
                lines
            })
            .unwrap_or(&empty);
        out.push(classify_file(path, baseline_path, lines, before, change));
    }
    // Files that had coverage and have none now: deleted, or no longer measured.
    for (path, lines) in baseline {
        if baseline_seen.contains(path.as_str()) {
            continue;
        }
        let change = diff.by_old_path(path);
        let deleted = change.is_some_and(|c| c.new_path.is_none());
        let class_of = |hit: &LineCoverage| match (deleted, hit.covered()) {
            (true, true) => Class::DeletedCovered,
            (true, false) => Class::DeletedUncovered,
            (false, true) => Class::ExcludedCovered,
            (false, false) => Class::ExcludedUncovered,
        };
        out.push(FileClasses {
            path: path.clone(),
            baseline_path: Some(path.clone()),
            changed: change.is_some(),
            lines: lines
                .iter()
                .map(|(&line, hit)| LineClass {
                    line: None,
                    baseline_line: Some(line),
                    class: class_of(hit),
                })
                .collect(),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn classify_file(
    path: &str,
    baseline_path: Option<String>,
    lines: &FileLines,
    before: &FileLines,
    change: Option<&FileDiff>,
) -> FileClasses {
    let mut classes = Vec::with_capacity(lines.len());
    let mut matched: BTreeSet<u32> = BTreeSet::new();
    for (&line, now) in lines {
        let old = match change {
            Some(change) => change.old_line(line),
            None => Some(line),
        };
        let class = match old {
            None => {
                if now.covered() {
                    Class::GainedNew
                } else {
                    Class::UncoveredNew
                }
            }
            Some(old) => {
                matched.insert(old);
                match (before.get(&old).map(LineCoverage::covered), now.covered()) {
                    (Some(true), true) => Class::CoveredBaseline,
                    (Some(true), false) => Class::LostBaseline,
                    (Some(false), true) => Class::GainedBaseline,
                    (Some(false), false) => Class::UncoveredBaseline,
                    (None, true) => Class::GainedIncluded,
                    (None, false) => Class::UncoveredIncluded,
                }
            }
        };
        classes.push(LineClass {
            line: Some(line),
            baseline_line: old,
            class,
        });
    }
    for (&old, was) in before {
        if matched.contains(&old) {
            continue;
        }
        let deleted = change.is_some_and(|c| c.deleted.contains(&old));
        let class = match (deleted, was.covered()) {
            (true, true) => Class::DeletedCovered,
            (true, false) => Class::DeletedUncovered,
            (false, true) => Class::ExcludedCovered,
            (false, false) => Class::ExcludedUncovered,
        };
        classes.push(LineClass {
            line: None,
            baseline_line: Some(old),
            class,
        });
    }
    FileClasses {
        path: path.to_string(),
        baseline_path,
        changed: change.is_some(),
        lines: classes,
    }
}

/// How many lines of each class, over all files.
pub fn totals(files: &[FileClasses]) -> BTreeMap<Class, usize> {
    let mut totals = BTreeMap::new();
    for file in files {
        for line in &file.lines {
            *totals.entry(line.class).or_insert(0) += 1;
        }
    }
    totals
}

/// Lost baseline coverage in files the change did not touch: the same source ran differently,
/// so the loss says more about the tests (flaky, skipped or vanished) than about the change.
/// Such lines are kept out of coverage Problems and counted as flaky coverage instead.
pub fn unexplained_losses(files: &[FileClasses]) -> Vec<(&str, u32)> {
    files
        .iter()
        .filter(|f| !f.changed)
        .flat_map(|f| {
            f.lines.iter().filter_map(move |l| match (l.class, l.line) {
                (Class::LostBaseline, Some(line)) => Some((f.path.as_str(), line)),
                _ => None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::diff;

    fn file(lines: &[(u32, u64)]) -> FileLines {
        lines
            .iter()
            .map(|&(line, hits)| {
                (
                    line,
                    LineCoverage {
                        hits,
                        branches: None,
                    },
                )
            })
            .collect()
    }

    fn of(files: &[FileClasses], path: &str) -> Vec<(Option<u32>, Option<u32>, &'static str)> {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .lines
            .iter()
            .map(|l| (l.line, l.baseline_line, l.class.code()))
            .collect()
    }

    #[test]
    fn without_a_change_lines_are_kept_lost_gained_included_or_excluded() {
        let baseline = Lines::from([(
            "a.c".to_string(),
            file(&[(1, 3), (2, 0), (3, 1), (4, 0), (5, 2), (6, 0)]),
        )]);
        let current = Lines::from([(
            "a.c".to_string(),
            file(&[(1, 1), (2, 0), (3, 0), (4, 7), (7, 1), (8, 0)]),
        )]);
        let files = classify(&baseline, &current, &diff::parse("").unwrap());
        assert_eq!(
            of(&files, "a.c"),
            vec![
                (Some(1), Some(1), "CBC"),
                (Some(2), Some(2), "UBC"),
                (Some(3), Some(3), "LBC"),
                (Some(4), Some(4), "GBC"),
                (Some(7), Some(7), "GIC"),
                (Some(8), Some(8), "UIC"),
                (None, Some(5), "ECB"),
                (None, Some(6), "EUB"),
            ]
        );
        assert_eq!(unexplained_losses(&files), vec![("a.c", 3)]);
    }

    #[test]
    fn a_change_makes_new_and_deleted_lines_and_moves_the_rest() {
        // Old 2 (covered) replaced by new 2 and 3; old 3 (covered) is new 4 and is lost.
        let text = "--- a/a.c\n+++ b/a.c\n@@ -1,3 +1,4 @@\n x\n-y\n+Y\n+Y2\n z\n";
        let baseline = Lines::from([("a.c".to_string(), file(&[(1, 1), (2, 1), (3, 1), (9, 0)]))]);
        let current = Lines::from([(
            "a.c".to_string(),
            file(&[(1, 1), (2, 0), (3, 4), (4, 0), (10, 0)]),
        )]);
        let files = classify(&baseline, &current, &diff::parse(text).unwrap());
        assert_eq!(
            of(&files, "a.c"),
            vec![
                (Some(1), Some(1), "CBC"),
                (Some(2), None, "UNC"),
                (Some(3), None, "GNC"),
                (Some(4), Some(3), "LBC"),
                (Some(10), Some(9), "UBC"),
                (None, Some(2), "DCB"),
            ]
        );
        // The file changed: its loss is the change's, not flaky coverage.
        assert!(unexplained_losses(&files).is_empty());
        let totals = totals(&files);
        assert_eq!(totals[&Class::UncoveredNew], 1);
        assert_eq!(totals[&Class::LostBaseline], 1);
    }

    #[test]
    fn renamed_new_and_deleted_files() {
        let text = "diff --git a/old.py b/new.py\nrename from old.py\nrename to new.py\n\
                    diff --git a/gone.c b/gone.c\ndeleted file mode 100644\n--- a/gone.c\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n\
                    diff --git a/fresh.c b/fresh.c\nnew file mode 100644\n--- /dev/null\n+++ b/fresh.c\n@@ -0,0 +1,2 @@\n+a\n+b\n";
        let baseline = Lines::from([
            ("old.py".to_string(), file(&[(1, 1), (2, 1)])),
            ("gone.c".to_string(), file(&[(1, 1), (2, 0)])),
            ("dropped.c".to_string(), file(&[(1, 1)])),
        ]);
        let current = Lines::from([
            ("new.py".to_string(), file(&[(1, 1), (2, 0)])),
            ("fresh.c".to_string(), file(&[(1, 1), (2, 0)])),
        ]);
        let files = classify(&baseline, &current, &diff::parse(text).unwrap());
        assert_eq!(
            of(&files, "new.py"),
            vec![(Some(1), Some(1), "CBC"), (Some(2), Some(2), "LBC")]
        );
        assert_eq!(
            of(&files, "fresh.c"),
            vec![(Some(1), None, "GNC"), (Some(2), None, "UNC")]
        );
        assert_eq!(
            of(&files, "gone.c"),
            vec![(None, Some(1), "DCB"), (None, Some(2), "DUB")]
        );
        // No longer measured, and the change did not delete it.
        assert_eq!(of(&files, "dropped.c"), vec![(None, Some(1), "ECB")]);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["dropped.c", "fresh.c", "gone.c", "new.py"]);
    }

    /// Two real builds (fixtures/coverage: gcc + gcovr, calc.c run with 5, then changed and run
    /// with 0) and the diff between the two versions.
    #[test]
    fn a_real_change_and_rerun_classify_line_by_line() {
        use probtrack_parsers::coverage::{collect, detect};
        use probtrack_parsers::ParseOptions;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/coverage");
        let read = |name: &str, root: &str| {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let options = ParseOptions {
                source: name.into(),
                source_root: Some(root.into()),
            };
            let coverage = collect(detect(&bytes).unwrap(), &mut &bytes[..], &options).unwrap();
            crate::coverage::lines_of(&coverage)
        };
        let before = read("gcovr.cobertura.xml", "/build/calc");
        let after = read("gcovr-v2.cobertura.xml", "/build/calc/v2build");
        let diff = diff::parse(&std::fs::read_to_string(dir.join("v1-v2.diff")).unwrap()).unwrap();
        let files = classify(&before, &after, &diff);
        let source = std::fs::read_to_string(dir.join("src/v2/calc.c")).unwrap();
        let line_of =
            |text: &str| 1 + source.lines().position(|l| l.trim() == text).unwrap() as u32;
        let class_at = |line: u32| {
            files[0]
                .lines
                .iter()
                .find(|l| l.line == Some(line))
                .map(|l| l.class.code())
        };
        assert_eq!(files.len(), 1);
        // The new branch never ran (classify(0) returns before it).
        assert_eq!(class_at(line_of("if (n > 1000)")), Some("UNC"));
        assert_eq!(class_at(line_of("return 2;")), Some("UNC"));
        // Unchanged lines, moved by two: run with 0, `return 0` ran at last, `return 1` and the
        // loop body no longer did.
        assert_eq!(class_at(line_of("return 0;")), Some("GBC"));
        assert_eq!(class_at(line_of("return 1;")), Some("LBC"));
        assert_eq!(class_at(line_of("total += i;")), Some("LBC"));
        assert_eq!(class_at(line_of("return n;")), Some("UBC"));
        let totals = totals(&files);
        assert!(
            !totals.contains_key(&Class::DeletedCovered)
                && !totals.contains_key(&Class::DeletedUncovered)
        );
        assert!(
            !totals.contains_key(&Class::UncoveredIncluded),
            "{totals:?}"
        );
        assert!(
            unexplained_losses(&files).is_empty(),
            "the change touched calc.c"
        );
    }
}
