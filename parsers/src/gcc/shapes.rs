//! The shapes of a build log's lines: CI prefixes, ANSI colours, and the regexes for diagnostics,
//! linker lines, make's and ninja's own lines.

use std::sync::LazyLock;

use bstr::ByteSlice;
use regex::bytes::Regex;

use crate::line_reader::skip_escape;

/// Copies `raw` into `out` without ANSI escape sequences, trailing CRs and what a CR in the middle
/// of the line overwrote (progress output).
pub(super) fn clean_line(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            0x1b => i = skip_escape(raw, i),
            b'\r' => {
                let rest_blank = raw[i + 1..].iter().all(|&b| b == b'\r');
                if !rest_blank {
                    out.clear();
                }
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Line shapes.

/// What [`strip_prefixes`] found before a line's text.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Prefix {
    /// The line started with white space (source and caret lines do).
    pub(super) indented: bool,
    /// A ninja `[3/10]` or cmake `[ 50%]` progress prefix.
    pub(super) progress: bool,
    /// Another tool's output (`[javac] …`): never a compiler diagnostic.
    pub(super) foreign: bool,
    /// How much white space just before the text was removed (a source line's indentation).
    pub(super) indent: usize,
}

/// A regex over bytes with ASCII classes (`.` matches any byte but a newline, so invalid UTF-8
/// never keeps a line from matching).
pub(super) fn re(pattern: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
}

pub(super) static PREFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:",
        r"(?P<ws>[ \t]+)",
        r"|(?P<progress>\[\d+/\d+\]\s*|\[\s*\d+%\]\s*)",
        r"|\d{1,3}%\s+",
        r"|\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s+",
        r"|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?\s+",
        r"|\d{1,4}>",
        r"|(?P<label>\[[^\[\]{}]{1,80}\])\s+",
        r"|C/C\+\+: ",
        r")"
    ))
    .expect("valid regex")
});

/// Removes the prefixes CIs and build tools put before a compiler's lines.
pub(super) fn strip_prefixes(line: &[u8]) -> (&[u8], Prefix) {
    let mut prefix = Prefix::default();
    let mut rest = line;
    for round in 0..8 {
        let Some(caps) = PREFIX_RE.captures(rest) else {
            break;
        };
        let Some(whole) = caps.get(0) else { break };
        if whole.end() == 0 {
            break;
        }
        if caps.name("ws").is_some() {
            prefix.indented |= round == 0;
            prefix.indent = whole.end();
        } else {
            prefix.indent = 0;
        }
        if caps.name("progress").is_some() {
            prefix.progress = true;
        }
        if let Some(label) = caps.name("label") {
            if label.as_bytes().eq_ignore_ascii_case(b"[javac]") {
                prefix.foreign = true;
            }
        }
        rest = &rest[whole.end()..];
    }
    (rest, prefix)
}

/// `file:line[:col][:{ranges}]: severity: message`
pub(super) static DIAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?P<file>[^\s:].*?|[A-Za-z]:[\\/].*?):(?P<line>\d+)(?::(?P<col>\d+))?",
        r"(?::(?:\{\d+:\d+-\d+:\d+\})+)?:\s*",
        r"(?P<sev>warning|error|fatal error|note|remark|internal compiler error|sorry, unimplemented):",
        r"\s?(?P<msg>.*)$"
    ))
    .expect("valid regex")
});

/// The driver's and the compiler proper's own diagnostics: `gcc: error: …`, `cc1plus: warning: …`.
pub(super) static TOOL_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:(?:[^\s:]*/)?(?:[\w.+]+-)*(?P<tool>gcc|g\+\+|c\+\+|cc|clang|clang\+\+|cc1|cc1plus|cc1obj|",
        r"cc1objplus|lto1|lto-wrapper|cpp|xgcc)(?:-\d+(?:\.\d+)*)?(?:\.exe)?|(?P<special><command-line>|",
        r"<command line>|<built-in>)): (?P<sev>warning|error|fatal error|note|internal compiler error|",
        r"sorry, unimplemented): (?P<msg>.*)$"
    ))
    .expect("valid regex")
});

/// A linker's own line: `/usr/bin/ld: …`, `ld.lld-15: error: …`, `mold: error: …`.
pub(super) static LD_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[^\s:]*/)?(?:[\w.+]+-)*(?:ld|ld\.bfd|ld\.gold|ld\.lld|lld|ld64|ld64\.lld|lld-link|mold|gold)",
        r"(?:-\d+(?:\.\d+)*)?(?:\.exe)?: (?:(?P<sev>error|warning|note|fatal error|fatal): )?(?P<msg>.*)$"
    ))
    .expect("valid regex")
});

/// A linker message about an object, archive or source location (with or without the linker's
/// name before it): `foo.o: In function …`, `a.c:(.text+0x9): undefined reference to …`.
pub(super) static LD_OBJECT_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?P<loc>[^\s:].*?)(?::?\([^()]*\)|:\d+)?: (?P<msg>(?:undefined reference to|",
        r"(?:more )?undefined references to|multiple definition of|first defined here|",
        r"could not read symbols|relocation truncated to fit|undefined symbol|hidden symbol|",
        r"In function|in function|skipping incompatible|error adding symbols|file not recognized)\b.*)$"
    ))
    .expect("valid regex")
});

/// The end of a failed link: it repeats what the linker said.
pub(super) static LINK_FAILED_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:collect2(?:\.exe)?: (?:error: )?(?P<collect>ld returned \d+ exit status)",
        r"|(?:[^\s:]*/)?(?:[\w.+]+-)*clang(?:\+\+)?(?:-\d+(?:\.\d+)*)?(?:\.exe)?: error: ",
        r"(?P<clang>linker command failed.*))$"
    ))
    .expect("valid regex")
});

/// ld64's `Undefined symbols for architecture x86_64:`.
pub(super) static LD64_UNDEFINED_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Undefined symbols for architecture \S+:$").expect("valid regex"));

pub(super) static MAKE_DIR_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[\w./-]*make|ninja|Waf)(?:\[\d+\])?: (?P<what>Entering|Leaving) directory\s+",
        r"[`'\x22]?(?:\xE2\x80\x98)?(?P<dir>.*?)(?:\xE2\x80\x99)?[`'\x22]?\s*$"
    ))
    .expect("valid regex")
});

/// make's and ninja's other lines: they end whatever diagnostic came before.
pub(super) static BUILD_TOOL_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:(?:[\w./-]*make|ninja)(?:\[\d+\])?: |FAILED: |\d+ (?:warnings?|errors?)(?: and \d+ errors?)? generated\.$|compilation terminated\.$)")
        .expect("valid regex")
});

pub(super) static INCLUDE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^In file included from \S.*[:,]$").expect("valid regex"));

pub(super) static FROM_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^from \S.*:\d+(?::\d+)?[:,]$").expect("valid regex"));

pub(super) static SCOPE_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:\S.*?: )?(?:In [a-z][a-z -]*?(?: [`'\x22\xE2].*)?|At (?:global scope|top level))[:,]$")
        .expect("valid regex")
});

/// gcc's instantiation and inlining context: `file:line:col:   required from here`.
pub(super) static CHAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:\S.*?:\d+(?::\d+)?: {2,}\S|inlined from .* at \S.*:\d+(?::\d+)?[:,]$)")
        .expect("valid regex")
});

/// A location alone on a line, its diagnostic wrapped onto the next one.
pub(super) static BARE_LOCATION_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<file>[^\s:].*?):(?P<line>\d+)(?::(?P<col>\d+))?:$").expect("valid regex")
});

pub(super) static WRAPPED_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<sev>warning|error|fatal error|note): (?P<msg>.*)$").expect("valid regex")
});

/// Quiet make lines (kbuild, automake's silent rules): `CC foo.o`, `CC [M] drivers/x.o`.
pub(super) static QUIET_CC_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^CC(?:\s+\[M\])?\s+(?P<obj>[^\s\[\]]+)\.(?:o|lo)$").expect("valid regex")
});

/// A compiler's name (after its directory): `gcc`, `x86_64-linux-gnu-g++-12`, `clang-15`.
pub(super) static COMPILER_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[\w.]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|icc|icpc|icx|icpx|xgcc)",
        r"(?:-\d+(?:\.\d+)*)?(?:\.exe)?$"
    ))
    .expect("valid regex")
});

/// `message [-Wflag]`, `[-Wflag,category]`, `[-Werror,-Wflag]`, clang-tidy's `[check-name]` (whose
/// later words may hold capitals, `.` and `+`: `clang-analyzer-core.DivideZero`,
/// `clang-diagnostic-c++11-compat-reserved-user-defined-literal`).
pub(super) static FLAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?P<msg>.*?)\s*\[(?P<flag>-[A-Za-z][^\[\]]*",
        r"|[a-z][a-z0-9]*(?:-[A-Za-z0-9.+]+)+(?:,-?[\w.+-]+)*)\]$"
    ))
    .expect("valid regex")
});

/// gcc's temporary files (`/tmp/ccAbc123.o`), named anew on every run.
pub(super) static TEMP_FILE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bcc[A-Za-z0-9]{6}\.(o|s|i|ii|res)\b").expect("valid regex"));

/// XCTest's assertion failures look like diagnostics: `file.m:85: error: -[Class test] : …`.
pub(super) static XCTEST_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^-\[\S+ \S+\] : ").expect("valid regex"));

pub(super) fn json_start(body: &[u8]) -> bool {
    let Some(rest) = body.strip_prefix(b"[") else {
        return false;
    };
    let rest = rest.trim_start();
    rest == b"]" || rest.starts_with(b"{\"kind\"")
}

pub(super) fn json_start_with_kind(body: &[u8]) -> bool {
    body.strip_prefix(b"[")
        .is_some_and(|rest| rest.trim_start().starts_with(b"{\"kind\""))
}
