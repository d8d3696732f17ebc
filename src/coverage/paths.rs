//! Path fixing: a coverage path that is not a file of the repository's tree (JaCoCo's
//! `com/example/Calc.java`, relative to a source directory it does not record; Go's import paths)
//! becomes the one file of the tree it is a suffix of, on path component boundaries. A path
//! with no such file, or several, is kept as it is.

use std::collections::{HashMap, HashSet};

use probtrack_parsers::coverage::{Coverage, FileCoverage};

/// The files of a tree, indexed by file name for the suffix match.
pub(crate) struct Tree<'a> {
    files: HashSet<&'a str>,
    by_name: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Tree<'a> {
    pub(crate) fn new(files: &'a [String]) -> Tree<'a> {
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for file in files {
            by_name.entry(file_name(file)).or_default().push(file);
        }
        Tree {
            files: files.iter().map(String::as_str).collect(),
            by_name,
        }
    }

    /// The tree's file for `path`: `path` itself when the tree has it, else the one file that
    /// ends with `/path`; `None` when no file or several do.
    pub(crate) fn resolve(&self, path: &str) -> Option<&'a str> {
        if let Some(found) = self.files.get(path) {
            return Some(found);
        }
        let mut matches = (self.by_name.get(file_name(path))?.iter()).filter(|file| {
            file.len() > path.len()
                && file.ends_with(path)
                && file.as_bytes()[file.len() - path.len() - 1] == b'/'
        });
        match (matches.next(), matches.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Renames each file of `coverage` that is not in `tree` to the tree's file it uniquely
/// suffixes; two reports' names of one file merge.
pub(crate) fn fix(coverage: &mut Coverage, tree: &[String]) {
    let tree = Tree::new(tree);
    let mut changed = false;
    for file in &mut coverage.files {
        if let Some(found) = tree.resolve(&file.path) {
            if found != file.path {
                file.path = found.to_owned();
                changed = true;
            }
        }
    }
    if !changed {
        return;
    }
    let mut files = std::mem::take(&mut coverage.files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut merged: Vec<FileCoverage> = Vec::with_capacity(files.len());
    for file in files {
        match merged.last_mut() {
            Some(last) if last.path == file.path => {
                for (number, line) in file.lines {
                    match last.lines.get_mut(&number) {
                        Some(have) => have.merge(line),
                        None => {
                            last.lines.insert(number, line);
                        }
                    }
                }
            }
            _ => merged.push(file),
        }
    }
    coverage.files = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Vec<String> {
        [
            "module/src/main/java/com/example/Calc.java",
            "xcom/example/Calc.java.txt",
            "a/src/util/Strings.java",
            "b/src/util/Strings.java",
            "go/calc.go",
            "README",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_unique_suffix_on_component_boundaries_resolves() {
        let files = tree();
        let tree = Tree::new(&files);
        assert_eq!(
            tree.resolve("com/example/Calc.java"),
            Some("module/src/main/java/com/example/Calc.java")
        );
        assert_eq!(tree.resolve("README"), Some("README"));
        assert_eq!(tree.resolve("example.com/calc/go/calc.go"), None);
        assert_eq!(tree.resolve("calc.go"), Some("go/calc.go"));
    }

    #[test]
    fn several_matches_or_a_match_inside_a_component_resolve_to_nothing() {
        let files = tree();
        let tree = Tree::new(&files);
        assert_eq!(tree.resolve("src/util/Strings.java"), None, "ambiguous");
        assert_eq!(
            tree.resolve("a/src/util/Strings.java"),
            Some("a/src/util/Strings.java")
        );
        // `om/example/Calc.java` ends `.../com/example/Calc.java` but not at a `/`.
        assert_eq!(tree.resolve("om/example/Calc.java"), None);
        let files = ["xcom/example/Calc.java".to_owned()];
        assert_eq!(Tree::new(&files).resolve("com/example/Calc.java"), None);
    }

    #[test]
    fn fixed_paths_stay_sorted_and_merge() {
        use probtrack_parsers::coverage::LineCoverage;
        let file = |path: &str, hits: u64| FileCoverage {
            path: path.to_owned(),
            lines: [(
                3,
                LineCoverage {
                    hits,
                    branches: None,
                },
            )]
            .into(),
        };
        let mut coverage = Coverage {
            files: vec![
                file("com/example/Calc.java", 1),
                file("kept/Other.java", 0),
                file("module/src/main/java/com/example/Calc.java", 2),
            ],
            warnings: Vec::new(),
        };
        fix(&mut coverage, &tree());
        let paths: Vec<&str> = coverage.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "kept/Other.java",
                "module/src/main/java/com/example/Calc.java"
            ]
        );
        assert_eq!(coverage.files[1].lines[&3].hits, 3);
    }
}
