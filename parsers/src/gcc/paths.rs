//! Paths: resolving them against make's directories and making them relative to a root.

use bstr::{BString, ByteSlice};

pub(super) fn is_absolute(path: &[u8]) -> bool {
    path.starts_with(b"/")
        || path.starts_with(b"\\")
        || (path.len() > 2
            && path[0].is_ascii_alphabetic()
            && path[1] == b':'
            && (path[2] == b'\\' || path[2] == b'/'))
}

/// `path` made absolute against `dir` where it is relative (and `dir` known), without `.` and
/// `..` components where they can be resolved.
pub(super) fn resolve(dir: Option<&[u8]>, path: &[u8]) -> BString {
    if path.starts_with(b"<") {
        return BString::from(path);
    }
    let joined;
    let full: &[u8] = match dir {
        Some(dir) if !is_absolute(path) && !dir.is_empty() => {
            let mut j = dir.to_vec();
            if !j.ends_with(b"/") {
                j.push(b'/');
            }
            j.extend_from_slice(path);
            joined = j;
            &joined
        }
        _ => path,
    };
    normalize(full)
}

pub(super) fn normalize(path: &[u8]) -> BString {
    if path.contains(&b'\\') && !path.contains(&b'/') {
        return BString::from(path);
    }
    let absolute = path.starts_with(b"/");
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => match parts.last() {
                Some(&last) if last != b".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(part),
            },
            _ => parts.push(part),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if absolute {
        out.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'.');
    }
    BString::from(out)
}

pub(super) fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|&b| b == b'/' || b == b'\\').collect()
}

/// Where paths are made relative to.
pub(super) enum Root {
    /// `--source-root`: paths under it lose it; relative paths lose their leading `..`.
    Given(BString),
    /// The directory components common to the compiled files (or the diagnostics' files).
    Prefix(Vec<Vec<u8>>),
}

impl Root {
    pub(super) fn relativize(&self, path: &[u8]) -> BString {
        match self {
            Root::Given(root) => {
                if is_absolute(path) {
                    let root = root.trim_end_with(|c| c == '/');
                    if path == root {
                        return BString::from(".");
                    }
                    if let Some(rest) = path.strip_prefix(root) {
                        if let Some(rest) = rest.strip_prefix(b"/") {
                            return BString::from(rest);
                        }
                    }
                    return BString::from(path);
                }
                let mut rest = path;
                while let Some(r) = rest.strip_prefix(b"../") {
                    rest = r;
                }
                BString::from(rest)
            }
            Root::Prefix(prefix) => {
                if prefix.is_empty() {
                    return BString::from(path);
                }
                let parts = components(path);
                if parts.len() > prefix.len()
                    && parts.iter().zip(prefix).all(|(a, b)| *a == b.as_slice())
                {
                    BString::from(parts[prefix.len()..].join(&b'/'))
                } else {
                    BString::from(path)
                }
            }
        }
    }
}

pub(super) fn is_system_path(path: &[u8]) -> bool {
    path.starts_with(b"<")
        || [
            &b"/usr/"[..],
            b"/opt/",
            b"/Library/",
            b"/System/",
            b"/Applications/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The directory components every path shares; never just the file-system root.
pub(super) fn common_prefix<'p>(paths: impl Iterator<Item = &'p [u8]>) -> Vec<Vec<u8>> {
    let mut prefix: Option<Vec<&[u8]>> = None;
    for path in paths {
        let mut parts = components(path);
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
        return Vec::new();
    }
    prefix.into_iter().map(<[u8]>::to_vec).collect()
}
