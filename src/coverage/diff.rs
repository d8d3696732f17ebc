//! A unified diff (`git diff -M OLD NEW`) read into what line classification needs: per file,
//! its old and new path, the lines added (new numbering), the lines deleted (old numbering), and
//! how the unchanged lines' numbers moved.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One file's change between the baseline and the current revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// `None`: the file is new.
    pub old_path: Option<String>,
    /// `None`: the file was deleted.
    pub new_path: Option<String>,
    /// Lines added or changed, in the new file's numbering.
    pub added: BTreeSet<u32>,
    /// Lines deleted or changed, in the old file's numbering.
    pub deleted: BTreeSet<u32>,
    /// Per hunk: where it starts in the old file and in the new one, and its lengths.
    hunks: Vec<Hunk>,
    /// The unchanged lines inside hunks: new number → old number.
    context: BTreeMap<u32, u32>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Hunk {
    old_start: u32,
    old_len: u32,
    new_start: u32,
    new_len: u32,
}

impl FileDiff {
    /// The old line an unchanged new line was; `None` for an added line or a new file.
    pub fn old_line(&self, new: u32) -> Option<u32> {
        if self.old_path.is_none() || self.added.contains(&new) {
            return None;
        }
        if let Some(&old) = self.context.get(&new) {
            return Some(old);
        }
        // Outside the hunks, a line moved by what the hunks before it added less what they
        // deleted.
        let mut shift: i64 = 0;
        for hunk in &self.hunks {
            let new_end = hunk.new_start + hunk.new_len;
            if new < new_end {
                break;
            }
            shift = i64::from(new_end) - i64::from(hunk.old_start + hunk.old_len);
        }
        u32::try_from(i64::from(new) - shift)
            .ok()
            .filter(|&o| o > 0)
    }
}

/// A whole diff: the changed files, found by their new path (and by their old one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub files: Vec<FileDiff>,
    by_new: HashMap<String, usize>,
    by_old: HashMap<String, usize>,
}

impl Diff {
    /// The change of the file now at `path`.
    pub fn by_new_path(&self, path: &str) -> Option<&FileDiff> {
        self.by_new.get(path).map(|&at| &self.files[at])
    }

    /// The change of the file that was at `path` in the baseline.
    pub fn by_old_path(&self, path: &str) -> Option<&FileDiff> {
        self.by_old.get(path).map(|&at| &self.files[at])
    }
}

/// Why a diff could not be read: the line (1-based) and what was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the diff's line {line}: {message}")]
pub struct DiffError {
    pub line: usize,
    pub message: String,
}

/// Reads `git diff` output (unified, with or without `diff --git` headers; renames by
/// `rename from`/`rename to` or by `---`/`+++`). Paths lose git's `a/` and `b/`.
pub fn parse(text: &str) -> Result<Diff, DiffError> {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut current: Option<FileDiff> = None;
    // Remaining lines of the open hunk, old and new side, and where each side is.
    let mut left = (0u32, 0u32);
    let mut at = (0u32, 0u32);
    let fail = |line: usize, message: String| DiffError { line, message };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if left != (0, 0) {
            let file = current.as_mut().expect("a hunk belongs to a file");
            match line.as_bytes().first() {
                Some(b' ') | None => {
                    file.context.insert(at.1, at.0);
                    at = (at.0 + 1, at.1 + 1);
                    left = (left.0.saturating_sub(1), left.1.saturating_sub(1));
                }
                Some(b'-') => {
                    file.deleted.insert(at.0);
                    at.0 += 1;
                    left.0 = left.0.saturating_sub(1);
                }
                Some(b'+') => {
                    file.added.insert(at.1);
                    at.1 += 1;
                    left.1 = left.1.saturating_sub(1);
                }
                Some(b'\\') => {}
                _ => return Err(fail(number, format!("{line:?} inside a hunk"))),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("diff --git ") {
            files.extend(current.take());
            let (old, new) = split_git_header(rest);
            current = Some(FileDiff {
                old_path: Some(old),
                new_path: Some(new),
                ..FileDiff::default()
            });
        } else if let Some(path) = line.strip_prefix("--- ") {
            if current.as_ref().is_none_or(|f| !f.hunks.is_empty()) {
                files.extend(current.take());
                current = Some(FileDiff::default());
            }
            let file = current.as_mut().expect("just set");
            file.old_path = side(path, "a/");
        } else if let Some(path) = line.strip_prefix("+++ ") {
            let Some(file) = current.as_mut() else {
                return Err(fail(number, "+++ without --- before it".into()));
            };
            file.new_path = side(path, "b/");
        } else if let Some(path) = line.strip_prefix("rename from ") {
            if let Some(file) = current.as_mut() {
                file.old_path = Some(unquote(path));
            }
        } else if let Some(path) = line.strip_prefix("rename to ") {
            if let Some(file) = current.as_mut() {
                file.new_path = Some(unquote(path));
            }
        } else if line.starts_with("new file mode") {
            if let Some(file) = current.as_mut() {
                file.old_path = None;
            }
        } else if line.starts_with("deleted file mode") {
            if let Some(file) = current.as_mut() {
                file.new_path = None;
            }
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            let Some(file) = current.as_mut() else {
                return Err(fail(number, "a hunk before any file header".into()));
            };
            let hunk = parse_hunk(rest)
                .ok_or_else(|| fail(number, format!("bad hunk header {line:?}")))?;
            // A side of length 0 names the line before the (empty) range.
            at = (
                if hunk.old_len == 0 {
                    hunk.old_start + 1
                } else {
                    hunk.old_start
                },
                if hunk.new_len == 0 {
                    hunk.new_start + 1
                } else {
                    hunk.new_start
                },
            );
            left = (hunk.old_len, hunk.new_len);
            file.hunks.push(Hunk {
                old_start: at.0,
                new_start: at.1,
                ..hunk
            });
        }
        // Anything else between files (index lines, mode lines, binary notes) is read past.
    }
    if left != (0, 0) {
        return Err(fail(
            text.lines().count(),
            "the diff ends inside a hunk: it is truncated".into(),
        ));
    }
    files.extend(current.take());
    let mut diff = Diff::default();
    for file in files {
        if file.old_path.is_none() && file.new_path.is_none() {
            continue;
        }
        let at = diff.files.len();
        if let Some(path) = &file.new_path {
            diff.by_new.insert(path.clone(), at);
        }
        if let Some(path) = &file.old_path {
            diff.by_old.insert(path.clone(), at);
        }
        diff.files.push(file);
    }
    Ok(diff)
}

/// `-12,3 +14,5 @@ …`
fn parse_hunk(rest: &str) -> Option<Hunk> {
    let mut parts = rest.split_whitespace();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    // Starts and lengths past a billion lines are refused, so that walking a hunk cannot overflow.
    const MAX: u32 = 1 << 30;
    let range = |r: &str| -> Option<(u32, u32)> {
        let (start, len) = match r.split_once(',') {
            Some((start, len)) => (start.parse().ok()?, len.parse().ok()?),
            None => (r.parse().ok()?, 1),
        };
        (start <= MAX && len <= MAX).then_some((start, len))
    };
    let (old_start, old_len) = range(old)?;
    let (new_start, new_len) = range(new)?;
    Some(Hunk {
        old_start,
        old_len,
        new_start,
        new_len,
    })
}

/// `a/x b/y` (paths without spaces, or quoted).
fn split_git_header(rest: &str) -> (String, String) {
    let (old, new) = match rest.split_once(" b/") {
        Some((old, new)) => (old.to_string(), format!("b/{new}")),
        None => (rest.to_string(), rest.to_string()),
    };
    (
        side(&old, "a/").unwrap_or_default(),
        side(&new, "b/").unwrap_or_default(),
    )
}

/// A `---`/`+++` path: `/dev/null` is none; git's prefix goes.
fn side(path: &str, prefix: &str) -> Option<String> {
    let path = path.split('\t').next().unwrap_or(path).trim_end();
    if path == "/dev/null" {
        return None;
    }
    let path = unquote(path);
    Some(
        path.strip_prefix(prefix)
            .map(str::to_string)
            .unwrap_or(path),
    )
}

/// Git quotes paths with unusual bytes in C style; the quotes go (escapes are kept as written).
fn unquote(path: &str) -> String {
    path.strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(path)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "\
diff --git a/src/calc.c b/src/calc.c
index 1111111..2222222 100644
--- a/src/calc.c
+++ b/src/calc.c
@@ -3,4 +3,5 @@ int f(void)
 a
-b
+B
+B2
 c
 d
@@ -20,2 +20,0 @@
-x
-y
diff --git a/old.py b/new.py
similarity index 90%
rename from old.py
rename to new.py
--- a/old.py
+++ b/new.py
@@ -1 +1 @@
-print(1)
+print(2)
diff --git a/gone.go b/gone.go
deleted file mode 100644
--- a/gone.go
+++ /dev/null
@@ -1,2 +0,0 @@
-package x
-
diff --git a/fresh.rs b/fresh.rs
new file mode 100644
--- /dev/null
+++ b/fresh.rs
@@ -0,0 +1,2 @@
+fn main() {}
+
";

    #[test]
    fn lines_added_deleted_and_moved() {
        let diff = parse(DIFF).unwrap();
        let calc = diff.by_new_path("src/calc.c").unwrap();
        assert_eq!(calc.added, BTreeSet::from([4, 5]));
        assert_eq!(calc.deleted, BTreeSet::from([4, 20, 21]));
        // Before the first hunk: unmoved. Its context lines: 3→3, 5→6, 6→7.
        assert_eq!(calc.old_line(1), Some(1));
        assert_eq!(calc.old_line(3), Some(3));
        assert_eq!(calc.old_line(4), None);
        assert_eq!(calc.old_line(6), Some(5));
        assert_eq!(calc.old_line(7), Some(6));
        // Between the hunks one line was added: new 10 was old 9.
        assert_eq!(calc.old_line(10), Some(9));
        // After the second hunk (two deleted): new 21 was old 22.
        assert_eq!(calc.old_line(21), Some(22));
    }

    #[test]
    fn renames_new_and_deleted_files() {
        let diff = parse(DIFF).unwrap();
        let renamed = diff.by_new_path("new.py").unwrap();
        assert_eq!(renamed.old_path.as_deref(), Some("old.py"));
        assert_eq!(renamed.old_line(1), None);
        assert!(diff.by_old_path("old.py").is_some());
        let gone = diff.by_old_path("gone.go").unwrap();
        assert_eq!(gone.new_path, None);
        assert_eq!(gone.deleted, BTreeSet::from([1, 2]));
        let fresh = diff.by_new_path("fresh.rs").unwrap();
        assert_eq!(fresh.old_path, None);
        assert_eq!(fresh.old_line(1), None);
    }

    #[test]
    fn a_truncated_diff_is_refused_with_its_line() {
        let cut = &DIFF[..DIFF.find("+B2").unwrap()];
        let err = parse(cut).unwrap_err();
        assert!(err.message.contains("truncated"), "{err}");
        let err = parse("@@ -1 +1 @@\n").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn a_hunk_at_the_end_of_the_numbers_is_an_error_not_an_overflow() {
        let diff = "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -4294967295,0 +1 @@\n+x\n \n";
        let err = parse(diff).unwrap_err().to_string();
        assert!(err.contains("bad hunk header"), "{err}");
    }
}
