//! Source paths as reports write them, made relative to the repository.

/// `\` becomes `/` in a Windows path (one without any `/`); `.` and `a/..` steps go; a trailing
/// `/` goes. Nothing here touches the file system.
pub(crate) fn normalize(path: &str) -> String {
    let path = if path.contains('\\') && !path.contains('/') {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." && !is_drive(last) => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(part),
            },
            _ => parts.push(part),
        }
    }
    let mut out = String::with_capacity(path.len());
    if absolute {
        out.push('/');
    }
    out.push_str(&parts.join("/"));
    if out.is_empty() {
        out.push('.');
    }
    out
}

fn is_drive(part: &str) -> bool {
    let bytes = part.as_bytes();
    bytes.len() == 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// `/…` or `C:/…` (after [`normalize`]).
pub(crate) fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || path.split('/').next().is_some_and(is_drive) && path.contains('/')
}

/// Joins a report's source directory and a path relative to it.
pub(crate) fn join(dir: &str, path: &str) -> String {
    let path_norm = normalize(path);
    if dir.is_empty() || is_absolute(&path_norm) {
        return path.to_string();
    }
    let dir = dir.trim_end_matches(['/', '\\']);
    format!("{dir}/{path}")
}

/// Where paths are made relative to.
pub(crate) enum Root {
    /// The source root given: paths under it lose it.
    Given(String),
    /// The directories every rooted path shares (never just `/`).
    Shared(Vec<String>),
}

impl Root {
    pub(crate) fn new<'p>(given: Option<&str>, rooted: impl Iterator<Item = &'p str>) -> Root {
        match given {
            Some(root) => Root::Given(normalize(root)),
            None => {
                let mut prefix: Option<Vec<&str>> = None;
                for path in rooted {
                    let mut parts: Vec<&str> = path.split('/').collect();
                    parts.pop();
                    prefix = Some(match prefix {
                        None => parts,
                        Some(mut p) => {
                            let same = p.iter().zip(&parts).take_while(|(a, b)| a == b).count();
                            p.truncate(same);
                            p
                        }
                    });
                }
                let prefix = prefix.unwrap_or_default();
                if prefix.iter().all(|c| c.is_empty()) {
                    Root::Shared(Vec::new())
                } else {
                    Root::Shared(prefix.into_iter().map(str::to_string).collect())
                }
            }
        }
    }

    /// An absolute or rooted path made relative.
    pub(crate) fn relativize(&self, path: &str) -> String {
        match self {
            Root::Given(root) => strip_dir(path, root).unwrap_or_else(|| path.to_string()),
            Root::Shared(prefix) => {
                let parts: Vec<&str> = path.split('/').collect();
                if !prefix.is_empty()
                    && parts.len() > prefix.len()
                    && parts.iter().zip(prefix).all(|(a, b)| a == b)
                {
                    parts[prefix.len()..].join("/")
                } else {
                    path.to_string()
                }
            }
        }
    }

    /// A path the report wrote relative to its own directory: it stays, unless it starts with
    /// the given root (a Go-style module prefix given as the root).
    pub(crate) fn relativize_relative(&self, path: &str) -> String {
        match self {
            Root::Given(root) => strip_dir(path, root).unwrap_or_else(|| path.to_string()),
            Root::Shared(_) => path.to_string(),
        }
    }
}

fn strip_dir(path: &str, dir: &str) -> Option<String> {
    if dir == "." || dir.is_empty() {
        return None;
    }
    if path == dir {
        return Some(".".into());
    }
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        // The root `/` itself: every absolute path loses its leading slash.
        return path.strip_prefix('/').map(str::to_string);
    }
    path.strip_prefix(dir)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_steps_and_windows_separators() {
        assert_eq!(normalize("./a/./b/../c.c"), "a/c.c");
        assert_eq!(normalize("/x/../../y.c"), "/y.c");
        assert_eq!(normalize("../up.c"), "../up.c");
        assert_eq!(normalize("C:\\src\\a\\..\\b.cs"), "C:/src/b.cs");
        assert_eq!(normalize("dir/"), "dir");
        assert!(is_absolute("C:/src/b.cs"));
        assert!(!is_absolute("src/b.cs"));
    }

    #[test]
    fn a_given_root_is_stripped_and_other_paths_stay() {
        let root = Root::new(Some("/build/calc/"), std::iter::empty());
        assert_eq!(root.relativize("/build/calc/src/a.c"), "src/a.c");
        assert_eq!(
            root.relativize("/build/calculator/a.c"),
            "/build/calculator/a.c"
        );
        assert_eq!(
            root.relativize("/usr/include/stdio.h"),
            "/usr/include/stdio.h"
        );
        let module = Root::new(Some("example.com/calc"), std::iter::empty());
        assert_eq!(module.relativize("example.com/calc/calc.go"), "calc.go");
        assert_eq!(module.relativize_relative("src/a.c"), "src/a.c");
    }

    #[test]
    fn without_a_root_the_shared_directories_go() {
        let paths = ["/b/calc/src/a.c", "/b/calc/lib/b.c"];
        let root = Root::new(None, paths.iter().copied());
        assert_eq!(root.relativize("/b/calc/src/a.c"), "src/a.c");
        let lone = Root::new(None, ["/a.c", "/b/c.c"].iter().copied());
        assert_eq!(lone.relativize("/b/c.c"), "/b/c.c");
    }

    #[test]
    fn join_keeps_absolute_paths() {
        assert_eq!(join("/build/calc", "calc.c"), "/build/calc/calc.c");
        assert_eq!(join("/build/calc/", "/abs/calc.c"), "/abs/calc.c");
        assert_eq!(join("", "calc.c"), "calc.c");
    }
}
