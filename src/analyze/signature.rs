//! Failure signatures: a message with what varies from run to run masked, so that the same cause
//! reads the same (numbers, hex addresses, temporary paths, quoted values that are numbers).

use std::sync::LazyLock;

use regex::Regex;

static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Temporary paths first, before their numbers are masked one by one.
        (
            r"(/tmp|/var/tmp|/private/var/folders)/[^\s'\x22:,)]*",
            "<tmp>",
        ),
        (r"0x[0-9a-fA-F]+", "<addr>"),
        (r"\b[0-9a-fA-F]{12,}\b", "<hex>"),
        (r"\d+(\.\d+)?", "<n>"),
    ]
    .into_iter()
    .filter_map(|(pattern, mask)| Regex::new(pattern).ok().map(|r| (r, mask)))
    .collect()
});

/// The first line of a message that says something, with what varies masked.
pub fn signature(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut text = line.to_owned();
    for (pattern, mask) in VOLATILE.iter() {
        text = pattern.replace_all(&text, *mask).into_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::signature;

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
