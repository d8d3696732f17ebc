//! A diagnostic's identity: its message normalised and its flag.

use bstr::{BString, ByteSlice};

use super::shapes::TEMP_FILE_RE;

/// The message as its identity uses it: quotes unified, numbers, hex numbers and gcc's temporary
/// file names replaced, white space collapsed.
pub(super) fn normalize_message(message: &[u8]) -> BString {
    let message = TEMP_FILE_RE.replace_all(message, &b"ccXXXXXX.$1"[..]);
    let mut out = Vec::with_capacity(message.len());
    let mut i = 0;
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < message.len() {
        let rest = &message[i..];
        let after_word = i > 0 && (is_word(message[i - 1]) || message[i - 1] == b'.');
        if rest.starts_with("\u{2018}".as_bytes()) || rest.starts_with("\u{2019}".as_bytes()) {
            out.push(b'\'');
            i += 3;
            continue;
        }
        if rest.starts_with("\u{201c}".as_bytes()) || rest.starts_with("\u{201d}".as_bytes()) {
            out.push(b'"');
            i += 3;
            continue;
        }
        let b = message[i];
        if b == b'`' {
            out.push(b'\'');
            i += 1;
            continue;
        }
        if b.is_ascii_whitespace() {
            if !out.is_empty() && out.last() != Some(&b' ') {
                out.push(b' ');
            }
            i += 1;
            continue;
        }
        if b.is_ascii_digit() && !after_word {
            let hex = rest.len() > 2 && b == b'0' && (rest[1] == b'x' || rest[1] == b'X');
            let mut end = if hex {
                2 + rest[2..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count()
            } else {
                let mut end = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                while rest.get(end) == Some(&b'.')
                    && rest.get(end + 1).is_some_and(u8::is_ascii_digit)
                {
                    end += 1;
                    end += rest[end..]
                        .iter()
                        .take_while(|b| b.is_ascii_digit())
                        .count();
                }
                if matches!(rest.get(end), Some(b'e' | b'E')) {
                    let sign = usize::from(matches!(rest.get(end + 1), Some(b'+' | b'-')));
                    if rest.get(end + 1 + sign).is_some_and(u8::is_ascii_digit) {
                        end += 1 + sign;
                        end += rest[end..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                    }
                }
                end
            };
            if hex && end == 2 {
                end = 1;
            }
            end += rest[end..]
                .iter()
                .take_while(|b| matches!(b, b'u' | b'U' | b'l' | b'L' | b'f' | b'F'))
                .count();
            if rest.get(end).is_some_and(|&b| is_word(b)) {
                // An identifier that starts with a digit: keep it.
                let word = rest.iter().take_while(|&&b| is_word(b)).count();
                out.extend_from_slice(&rest[..word]);
                i += word;
                continue;
            }
            out.extend_from_slice(if hex && end > 1 { b"0xN" } else { b"N" });
            i += end;
            continue;
        }
        out.push(b);
        i += 1;
    }
    while out.last() == Some(&b' ') {
        out.pop();
    }
    BString::from(out)
}

/// The flag an identity uses, from the bracketed option as printed: clang's `,category` and
/// `-Werror,` dropped, `-Werror=x` read as `-Wx` (the same warning, made an error).
pub(super) fn identity_flag(printed: &[u8]) -> BString {
    let parts: Vec<&[u8]> = printed.split(|&b| b == b',').map(<[u8]>::trim).collect();
    let chosen = parts
        .iter()
        .find(|p| p.starts_with(b"-") && *p != b"-Werror" && *p != b"-warnings-as-errors")
        .or_else(|| parts.first())
        .copied()
        .unwrap_or(printed);
    match chosen.strip_prefix(b"-Werror=") {
        Some(rest) => {
            let mut flag = b"-W".to_vec();
            flag.extend_from_slice(rest);
            BString::from(flag)
        }
        None => BString::from(chosen),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Severity {
    Note,
    Warning,
    Error,
}

pub(super) fn severity(word: &[u8]) -> Severity {
    match word {
        b"note" | b"remark" => Severity::Note,
        b"warning" => Severity::Warning,
        _ => Severity::Error,
    }
}
