//! Failure signatures: a message with what varies from run to run masked, so that the same cause
//! reads the same (temporary paths, dates and times, durations, hex addresses, numbers).
//! [`cause`] adds the stack frames of the failure's text, for clustering.

use std::sync::LazyLock;

use regex::Regex;

static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Temporary paths first, before their numbers are masked one by one.
        (
            r"(/tmp|/var/tmp|/private/var/folders)/[^\s'\x22:,)]*",
            "<tmp>",
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b",
            "<date>",
        ),
        (r"\b\d{2}:\d{2}:\d{2}(\.\d+)?\b", "<date>"),
        (r"0x[0-9a-fA-F]+", "<addr>"),
        (
            r"\b\d+(\.\d+)?\s?(ns|us|µs|ms|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)\b",
            "<duration>",
        ),
        (r"\b[0-9a-fA-F]{12,}\b", "<hex>"),
        (r"\d+(\.\d+)?", "<n>"),
    ]
    .into_iter()
    .filter_map(|(pattern, mask)| Regex::new(pattern).ok().map(|r| (r, mask)))
    .collect()
});

/// The first line of a message that says something, with what varies masked.
pub(crate) fn signature(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    mask(line)
}

/// A line of a stack trace: Python (`File "x.py", line 3, in f`), pytest (`x.py:3: in f`,
/// `x.py:3: KeyError`), Java, JavaScript and Rust (`at …`).
static FRAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"^\s*(File "[^"]*", line \d+|at \S|[\w./\\-]+\.\w+:\d+(:\d+)?:? )"#).ok()
});

/// The most stack frames a cause keeps.
const FRAMES: usize = 20;

/// What a failure's cause reads as: the message's [`signature`], then the stack frames of its
/// text (or of the message, when there is no text), each masked likewise.
pub(crate) fn cause(message: &str, text: Option<&str>) -> String {
    let mut out = signature(message);
    let Some(frame) = FRAME.as_ref() else {
        return out;
    };
    let source = text.filter(|t| !t.trim().is_empty()).unwrap_or(message);
    let mut last = String::new();
    for line in source.lines().filter(|l| frame.is_match(l)).take(FRAMES) {
        let masked = mask(line.trim());
        if masked != last {
            out.push('\n');
            out.push_str(&masked);
            last = masked;
        }
    }
    out
}

fn mask(line: &str) -> String {
    let mut text = line.to_owned();
    for (pattern, mask) in VOLATILE.iter() {
        text = pattern.replace_all(&text, *mask).into_owned();
    }
    text
}

/// A short, stable id for a cause: the first 12 hex digits of its BLAKE3 hash.
pub(crate) fn cause_id(cause: &str) -> String {
    blake3::hash(cause.as_bytes()).to_hex()[..12].to_owned()
}

/// `cause_id(&cause(message, text))`, remembered per distinct (message, text) for the life of the
/// thread: an import re-judges the same failures build after build, and masking is regex work
/// (28% of import's time on a 9.9 M-result history before this memo).
pub(crate) fn cause_id_of(message: &str, text: Option<&str>) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    /// Distinct failures remembered at most; then the memo starts over.
    const LIMIT: usize = 50_000;
    thread_local! {
        static MEMO: RefCell<HashMap<[u8; 32], String>> = RefCell::new(HashMap::new());
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(message.len() as u64).to_le_bytes());
    hasher.update(message.as_bytes());
    match text {
        Some(text) => {
            hasher.update(&[1]);
            hasher.update(text.as_bytes());
        }
        None => {
            hasher.update(&[0]);
        }
    }
    let key = *hasher.finalize().as_bytes();
    if let Some(id) = MEMO.with(|memo| memo.borrow().get(&key).cloned()) {
        return id;
    }
    let id = cause_id(&cause(message, text));
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if memo.len() >= LIMIT {
            memo.clear();
        }
        memo.insert(key, id.clone());
    });
    id
}

#[cfg(test)]
mod tests {
    use super::{cause, cause_id, cause_id_of, signature};

    #[test]
    fn the_memo_gives_what_cause_id_gives() {
        for (m, t) in [
            ("boom 0x7ffd1234", None),
            (
                "boom 0x7ffd1234",
                Some("Traceback\n  File \"/tmp/x.py\", line 3, in f\n"),
            ),
            ("", Some("")),
            ("a", Some("b")),
            ("ab", None),
        ] {
            assert_eq!(cause_id_of(m, t), cause_id(&cause(m, t)));
            assert_eq!(
                cause_id_of(m, t),
                cause_id(&cause(m, t)),
                "again, from the memo"
            );
        }
    }

    #[test]
    fn dates_durations_and_frames() {
        assert_eq!(
            signature("timed out after 3.5s at 2024-03-03T16:47:56Z (10:02:03)"),
            "timed out after <duration> at <date> (<date>)"
        );
        assert_eq!(signature("took 150ms"), signature("took 2 seconds"));
        let one = cause(
            "OSError: fixture db unreachable",
            Some("conftest.py:12: in db\n    connect()\nlib/db.py:40: OSError"),
        );
        assert_eq!(
            one,
            "OSError: fixture db unreachable\nconftest.py:<n>: in db\nlib/db.py:<n>: OSError"
        );
        let other = cause(
            "OSError: fixture db unreachable",
            Some("File \"tests/x.py\", line 3, in test_x\n  boom()"),
        );
        assert_ne!(one, other);
        assert_eq!(cause("a 1", None), "a <n>");
    }

    #[test]
    fn volatile_parts_are_masked() {
        assert_eq!(
            signature("ConnectionResetError: connection to 10.0.3.7:5432 reset after 3 retries"),
            "ConnectionResetError: connection to <n>.<n>:<n> reset after <n> retries"
        );
        assert_eq!(
            signature("\n  object at 0x7f3a2b1c0d10 in /tmp/pytest-of-ci/pytest-12/x.txt\nmore"),
            "object at <addr> in <tmp>"
        );
        assert_eq!(signature("assert 3 == 4"), signature("assert 5 == 6"));
        assert_ne!(signature("KeyError: 'a'"), signature("TimeoutError"));
    }
}
