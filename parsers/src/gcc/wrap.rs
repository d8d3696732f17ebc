//! Text that belongs to a diagnostic: wrapped messages, caret lines, and the capped `text` detail.

use bstr::ByteSlice;

use super::parser::split_flag;
use super::shapes::WRAPPED_RE;
use super::TEXT_CAP;

/// A caret, range or label line of gcc or clang (`      |     ^~~`, `   ~~~ ^`).
pub(super) fn caret_like(body: &[u8]) -> bool {
    body.iter()
        .all(|&b| matches!(b, b'^' | b'~' | b'|' | b' ' | b'\t' | b'+' | b'-'))
}

/// Whether `line` (no other recognised shape) reads as the rest of `message`, wrapped: words,
/// not code, and either ending with the flag the message lacks (`… [-Wstringop-overflow=]`) or
/// following a message cut after a word no message ends with (`has virtual functions but`).
pub(super) fn continues_message(message: &[u8], line: &[u8]) -> bool {
    let line = line.trim();
    if line.is_empty() || caret_like(line) || WRAPPED_RE.is_match(line) {
        return false;
    }
    let (words, flag) = split_flag(line);
    let words = words.trim();
    if !prose(words) {
        return false;
    }
    match flag {
        Some(flag) => flag.starts_with(b"-"),
        None => unfinished(message),
    }
}

/// Words of a message rather than code: at least two, starting with a letter, digit or quote,
/// without `;{}=#|\[]` and without parentheses outside quotes.
pub(super) fn prose(words: &[u8]) -> bool {
    let Some(&first) = words.first() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || matches!(first, b'\'' | b'`' | b'"') || first >= 0x80)
        || !words.contains(&b' ')
    {
        return false;
    }
    let mut quoted = false;
    for (i, &b) in words.iter().enumerate() {
        match b {
            b';' | b'{' | b'}' | b'=' | b'#' | b'|' | b'\\' | b'[' | b']' => return false,
            b'(' | b')' if !quoted => return false,
            b'`' => quoted = true,
            b'\'' => quoted = !quoted,
            _ if words[i..].starts_with("\u{2018}".as_bytes()) => quoted = true,
            _ if words[i..].starts_with("\u{2019}".as_bytes()) => quoted = false,
            _ => {}
        }
    }
    true
}

/// Whether a message stops where no message ends: after `but`, `of`, `may be used`, ….
pub(super) fn unfinished(message: &[u8]) -> bool {
    let mut words = message.trim().rsplit(|b| b.is_ascii_whitespace());
    let last = words.next().unwrap_or_default().to_ascii_lowercase();
    let before = words.next().unwrap_or_default().to_ascii_lowercase();
    matches!(
        last.as_slice(),
        b"but"
            | b"and"
            | b"or"
            | b"of"
            | b"to"
            | b"the"
            | b"a"
            | b"an"
            | b"in"
            | b"into"
            | b"with"
            | b"for"
            | b"from"
            | b"by"
            | b"than"
            | b"that"
            | b"which"
            | b"is"
            | b"are"
            | b"was"
            | b"were"
            | b"be"
            | b"has"
            | b"have"
            | b"may"
            | b"might"
    ) || (last == b"used" && before == b"be")
}

pub(super) fn push_text(text: &mut Vec<u8>, line: &[u8]) {
    const ELLIPSIS: &[u8] = "…\n".as_bytes();
    if text.ends_with(ELLIPSIS) && text.len() >= TEXT_CAP {
        return;
    }
    let need = line.len() + 1;
    if text.len() + need > TEXT_CAP {
        text.extend_from_slice(ELLIPSIS);
        return;
    }
    text.extend_from_slice(line);
    text.push(b'\n');
}
