//! How sure a report's first bytes make us that it is a build log.

use bstr::ByteSlice;

use super::command::{command_start, compiled_sources, is_link_command};
use super::shapes::{
    clean_line, json_start_with_kind, strip_prefixes, BARE_LOCATION_RE, DIAG_RE, LD_OBJECT_RE,
    LD_RE, LINK_FAILED_RE, WRAPPED_RE, XCTEST_RE,
};
use crate::format::Confidence;

/// A linker's message (after `ld: `) that is an error without saying so: `cannot find -lX`,
/// `undefined reference to …`.
pub(super) fn linker_error(message: &[u8]) -> bool {
    message.starts_with(b"cannot find ")
        || message.starts_with(b"undefined reference to ")
        || LD_OBJECT_RE.is_match(message)
}

pub(super) fn sniff(head: &[u8]) -> Confidence {
    let start = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .trim_start();
    if start.starts_with(b"<") {
        return Confidence::NONE;
    }
    let mut best = Confidence::NONE;
    let mut clean = Vec::new();
    let mut bare_location = false;
    for raw in head.split(|&b| b == b'\n').take(5000) {
        clean_line(raw, &mut clean);
        let (body, prefix) = strip_prefixes(&clean);
        let after_location = std::mem::take(&mut bare_location);
        if prefix.foreign {
            continue;
        }
        if after_location
            && WRAPPED_RE
                .captures(body)
                .is_some_and(|caps| caps.name("sev").is_some_and(|m| m.as_bytes() != b"note"))
        {
            // `file.h:17:` then `warning: …`: a diagnostic wrapped after its location.
            best = best.max(Confidence::MEDIUM);
            continue;
        }
        if body.ends_with(b":") && BARE_LOCATION_RE.is_match(body) {
            bare_location = true;
            continue;
        }
        if json_start_with_kind(body) {
            return Confidence::HIGH;
        }
        if let Some(caps) = DIAG_RE.captures(body) {
            let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
            let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
            let file = caps.name("file").map_or(&b""[..], |m| m.as_bytes());
            if sev != b"note" && !XCTEST_RE.is_match(msg) && !file.ends_with(b".java") {
                if caps.name("col").is_some() {
                    return Confidence::HIGH;
                }
                best = best.max(Confidence::MEDIUM);
            }
            continue;
        }
        let command =
            command_start(body) && (!compiled_sources(body).is_empty() || is_link_command(body));
        if command
            || LINK_FAILED_RE.is_match(body)
            || LD_OBJECT_RE.is_match(body)
            || LD_RE.captures(body).is_some_and(|caps| {
                caps.name("sev").is_some()
                    || caps.name("msg").is_some_and(|m| linker_error(m.as_bytes()))
            })
        {
            best = best.max(Confidence::MEDIUM);
        }
    }
    best
}
