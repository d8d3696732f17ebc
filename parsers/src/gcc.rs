//! gcc and clang build logs: compiler diagnostics, linker errors and the files a build compiled.
//!
//! A build log is make's or ninja's output with the compilers' messages mixed in, often with a
//! CI's prefixes (timestamps, `[label] `, ninja's `[3/10] `, cmake's `[ 50%] `, `11% `) and ANSI
//! colours. The parser reads it line by line and recognises:
//!
//! - diagnostics `file:line:col: warning|error|fatal error|note: message [-Wflag]` (also without
//!   the column, with clang's `{l:c-l:c}` source ranges and `[-Wflag,category]` flags), the
//!   driver's own (`gcc: error: …`, `cc1plus: warning: …`) and gcc's
//!   `-fdiagnostics-format=json` arrays (one per compiler run); a message wrapped onto the next
//!   lines (old g++, pasted logs) is joined when those lines clearly go on with it;
//! - the context that precedes a diagnostic (`In file included from …` and its `from …` lines,
//!   `file: In function …:`, `In instantiation of …`, `…:   required from here`) and what follows
//!   it (source and caret lines, notes such as `note: in expansion of macro …`): they go into the
//!   diagnostic's `text`, never into results of their own;
//! - linker errors (`undefined reference to …`, `ld: cannot find -lX`, `ld.lld: error: …`,
//!   `collect2: error: ld returned 1 exit status`, `clang: error: linker command failed …`);
//! - make's `Entering directory`/`Leaving directory` lines, to resolve relative paths;
//! - the compiler command lines make and ninja echo (and quiet `CC foo.o` lines), to report the
//!   files the build compiled.
//!
//! Every diagnostic identity occurs once per report (see `docs/parsers.md`): a header's warning
//! printed for every file that includes it is one result whose `count` detail says how often.
//! Because identities are relative to a root that is known only at the end (the directory prefix
//! common to the compiled files), diagnostics are kept until the end of the log; they are few.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::sync::LazyLock;

use bstr::{BString, ByteSlice};
use regex::bytes::Regex;
use serde::Deserialize;

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::model::{Details, Kind, Status, TestResult};

/// gcc and clang build logs (make, ninja, `-fdiagnostics-format=json`, GNU ld, lld).
#[derive(Clone, Copy, Debug, Default)]
pub struct Gcc;

const HUMAN_NAME: &str = "compiler log";

/// The longest line kept; the rest of a longer line is dropped.
const LINE_CAP: usize = 64 * 1024;
/// The longest compiler command line kept (with its `\` continuations).
const COMMAND_CAP: usize = 1024 * 1024;
/// The largest `-fdiagnostics-format=json` array parsed; a larger one is skipped with a warning.
const JSON_CAP: usize = 32 * 1024 * 1024;
/// The most text kept for one diagnostic (its context, source lines and notes).
const TEXT_CAP: usize = 16 * 1024;
/// The most context lines (include chains, `In function`) kept before a diagnostic.
const CONTEXT_LINES_CAP: usize = 64;
/// The most distinct diagnostics kept; later new ones are dropped with a warning.
const DIAGNOSTICS_CAP: usize = 1_000_000;
/// The most distinct compiled files kept.
const COMPILED_CAP: usize = 1_000_000;
/// The deepest stack of make's `Entering directory` lines followed.
const DIRS_CAP: usize = 256;

impl Format for Gcc {
    fn name(&self) -> &'static str {
        "gcc"
    }

    fn description(&self) -> &'static str {
        "gcc/clang build logs: diagnostics, linker errors, compiled files (make, ninja, JSON)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        sniff(head)
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> Result<(), ParseError> {
        let mut lines = Lines::new(input);
        let mut parser = Parser::new(&options.source);
        let io_error = |err: io::Error, line: u64| ParseError {
            format: HUMAN_NAME,
            source_name: options.source.clone(),
            line,
            column: 0,
            path: None,
            kind: ParseErrorKind::Io(err),
        };
        let mut raw = Vec::new();
        let mut chunk = Vec::new();
        let mut clean = Vec::new();
        loop {
            let read = lines
                .next_line(&mut raw, LINE_CAP)
                .map_err(|err| io_error(err, lines.number + 1))?;
            if read == Read::Eof {
                break;
            }
            let number = lines.number + u64::from(read == Read::Cut);
            clean_line(&raw, &mut clean);
            let (body, prefix) = strip_prefixes(&clean);
            if prefix.foreign {
                parser.settle(b"");
                parser.other(b"", false);
                continue;
            }
            if json_start(body) {
                // The array may be longer than a line may be, and may span several lines.
                let mut json = Json::new();
                json.feed(body);
                let mut cut = read == Read::Cut;
                loop {
                    while cut && !json.done() {
                        chunk.clear();
                        let more = lines
                            .continue_line(&mut chunk, LINE_CAP)
                            .map_err(|err| io_error(err, lines.number + 1))?;
                        json.feed(&chunk);
                        cut = more == Read::Cut;
                    }
                    if json.done() {
                        break;
                    }
                    let next = lines
                        .next_line(&mut chunk, LINE_CAP)
                        .map_err(|err| io_error(err, lines.number + 1))?;
                    if next == Read::Eof {
                        break;
                    }
                    json.feed(b"\n");
                    json.feed(&chunk);
                    cut = next == Read::Cut;
                }
                parser.json(json, number);
                continue;
            }
            if read == Read::Cut && command_start(body) {
                // A compiler command line longer than a line may be: keep more of it, so that
                // the source file at its end is seen.
                let mut command = body.to_vec();
                let mut cut = true;
                while cut && command.len() < COMMAND_CAP {
                    chunk.clear();
                    let more = lines
                        .continue_line(&mut chunk, LINE_CAP)
                        .map_err(|err| io_error(err, lines.number + 1))?;
                    command.extend_from_slice(&chunk);
                    cut = more == Read::Cut;
                }
                parser.line(&command, prefix, &command);
                continue;
            }
            let text = &clean[clean.len().saturating_sub(body.len() + prefix.indent)..];
            parser.line(body, prefix, text);
        }
        parser.finish(options, sink);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading bounded lines.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    Eof,
    /// A whole line (its newline consumed and not stored).
    Complete,
    /// The line went on past the cap; its rest is still unread.
    Cut,
}

/// Lines of at most a cap of bytes each, from any `BufRead`, whatever their length.
struct Lines<'a> {
    input: &'a mut dyn BufRead,
    /// Lines wholly read so far.
    number: u64,
    /// The last line was cut and its rest is still unread.
    rest_pending: bool,
}

impl<'a> Lines<'a> {
    fn new(input: &'a mut dyn BufRead) -> Self {
        Lines {
            input,
            number: 0,
            rest_pending: false,
        }
    }

    /// Reads the next line into `buf` (cleared first), skipping the rest of a cut line.
    fn next_line(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Read> {
        if self.rest_pending {
            self.skip_rest()?;
        }
        buf.clear();
        self.fill(buf, cap)
    }

    /// Appends more of the current (cut) line to `buf`, at most `cap` bytes in all.
    fn continue_line(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Read> {
        if !self.rest_pending {
            return Ok(Read::Complete);
        }
        self.fill(buf, cap)
    }

    fn fill(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Read> {
        let mut any = self.rest_pending;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                self.rest_pending = false;
                if any {
                    self.number += 1;
                    return Ok(Read::Complete);
                }
                return Ok(Read::Eof);
            }
            any = true;
            let newline = available.find_byte(b'\n');
            let take = newline.unwrap_or(available.len());
            let room = cap.saturating_sub(buf.len());
            if take > room {
                buf.extend_from_slice(&available[..room]);
                self.input.consume(room);
                self.rest_pending = true;
                return Ok(Read::Cut);
            }
            buf.extend_from_slice(&available[..take]);
            match newline {
                Some(_) => {
                    self.input.consume(take + 1);
                    self.rest_pending = false;
                    self.number += 1;
                    return Ok(Read::Complete);
                }
                None => self.input.consume(take),
            }
        }
    }

    fn skip_rest(&mut self) -> io::Result<()> {
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if available.is_empty() {
                self.number += 1;
                self.rest_pending = false;
                return Ok(());
            }
            match available.find_byte(b'\n') {
                Some(at) => {
                    self.input.consume(at + 1);
                    self.number += 1;
                    self.rest_pending = false;
                    return Ok(());
                }
                None => {
                    let len = available.len();
                    self.input.consume(len);
                }
            }
        }
    }
}

/// Copies `raw` into `out` without ANSI escape sequences, trailing CRs and what a CR in the middle
/// of the line overwrote (progress output).
fn clean_line(raw: &[u8], out: &mut Vec<u8>) {
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

/// The index just past the escape sequence that starts at `start` (an ESC byte).
fn skip_escape(raw: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    match raw.get(i) {
        Some(b'[') => {
            i += 1;
            while let Some(&b) = raw.get(i) {
                i += 1;
                if (0x40..=0x7e).contains(&b) {
                    break;
                }
            }
            i
        }
        Some(b']') => {
            // OSC (e.g. gcc's hyperlinks): ends with BEL or ESC \.
            i += 1;
            while let Some(&b) = raw.get(i) {
                if b == 0x07 {
                    return i + 1;
                }
                if b == 0x1b {
                    return if raw.get(i + 1) == Some(&b'\\') {
                        i + 2
                    } else {
                        i
                    };
                }
                i += 1;
            }
            i
        }
        Some(_) => i + 1,
        None => i,
    }
}

// ---------------------------------------------------------------------------------------------
// Line shapes.

/// What [`strip_prefixes`] found before a line's text.
#[derive(Clone, Copy, Debug, Default)]
struct Prefix {
    /// The line started with white space (source and caret lines do).
    indented: bool,
    /// A ninja `[3/10]` or cmake `[ 50%]` progress prefix.
    progress: bool,
    /// Another tool's output (`[javac] …`): never a compiler diagnostic.
    foreign: bool,
    /// How much white space just before the text was removed (a source line's indentation).
    indent: usize,
}

/// A regex over bytes with ASCII classes (`.` matches any byte but a newline, so invalid UTF-8
/// never keeps a line from matching).
fn re(pattern: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
}

static PREFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
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
fn strip_prefixes(line: &[u8]) -> (&[u8], Prefix) {
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
static DIAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?P<file>[^\s:].*?|[A-Za-z]:[\\/].*?):(?P<line>\d+)(?::(?P<col>\d+))?",
        r"(?::(?:\{\d+:\d+-\d+:\d+\})+)?:\s*",
        r"(?P<sev>warning|error|fatal error|note|remark|internal compiler error|sorry, unimplemented):",
        r"\s?(?P<msg>.*)$"
    ))
    .expect("valid regex")
});

/// The driver's and the compiler proper's own diagnostics: `gcc: error: …`, `cc1plus: warning: …`.
static TOOL_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:(?:[^\s:]*/)?(?:[\w.+]+-)*(?P<tool>gcc|g\+\+|c\+\+|cc|clang|clang\+\+|cc1|cc1plus|cc1obj|",
        r"cc1objplus|lto1|lto-wrapper|cpp|xgcc)(?:-\d+(?:\.\d+)*)?(?:\.exe)?|(?P<special><command-line>|",
        r"<command line>|<built-in>)): (?P<sev>warning|error|fatal error|note|internal compiler error|",
        r"sorry, unimplemented): (?P<msg>.*)$"
    ))
    .expect("valid regex")
});

/// A linker's own line: `/usr/bin/ld: …`, `ld.lld-15: error: …`, `mold: error: …`.
static LD_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[^\s:]*/)?(?:[\w.+]+-)*(?:ld|ld\.bfd|ld\.gold|ld\.lld|lld|ld64|ld64\.lld|lld-link|mold|gold)",
        r"(?:-\d+(?:\.\d+)*)?(?:\.exe)?: (?:(?P<sev>error|warning|note|fatal error|fatal): )?(?P<msg>.*)$"
    ))
    .expect("valid regex")
});

/// A linker message about an object, archive or source location (with or without the linker's
/// name before it): `foo.o: In function …`, `a.c:(.text+0x9): undefined reference to …`.
static LD_OBJECT_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?P<loc>[^\s:].*?)(?::?\([^()]*\)|:\d+)?: (?P<msg>(?:undefined reference to|",
        r"(?:more )?undefined references to|multiple definition of|first defined here|",
        r"could not read symbols|relocation truncated to fit|undefined symbol|hidden symbol|",
        r"In function|in function|skipping incompatible|error adding symbols|file not recognized)\b.*)$"
    ))
    .expect("valid regex")
});

/// The end of a failed link: it repeats what the linker said.
static LINK_FAILED_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:collect2(?:\.exe)?: (?:error: )?(?P<collect>ld returned \d+ exit status)",
        r"|(?:[^\s:]*/)?(?:[\w.+]+-)*clang(?:\+\+)?(?:-\d+(?:\.\d+)*)?(?:\.exe)?: error: ",
        r"(?P<clang>linker command failed.*))$"
    ))
    .expect("valid regex")
});

/// ld64's `Undefined symbols for architecture x86_64:`.
static LD64_UNDEFINED_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Undefined symbols for architecture \S+:$").expect("valid regex"));

static MAKE_DIR_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[\w./-]*make|ninja|Waf)(?:\[\d+\])?: (?P<what>Entering|Leaving) directory\s+",
        r"[`'\x22]?(?:\xE2\x80\x98)?(?P<dir>.*?)(?:\xE2\x80\x99)?[`'\x22]?\s*$"
    ))
    .expect("valid regex")
});

/// make's and ninja's other lines: they end whatever diagnostic came before.
static BUILD_TOOL_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:(?:[\w./-]*make|ninja)(?:\[\d+\])?: |FAILED: |\d+ (?:warnings?|errors?)(?: and \d+ errors?)? generated\.$|compilation terminated\.$)")
        .expect("valid regex")
});

static INCLUDE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^In file included from \S.*[:,]$").expect("valid regex"));

static FROM_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^from \S.*:\d+(?::\d+)?[:,]$").expect("valid regex"));

static SCOPE_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:\S.*?: )?(?:In [a-z][a-z -]*?(?: [`'\x22\xE2].*)?|At (?:global scope|top level))[:,]$")
        .expect("valid regex")
});

/// gcc's instantiation and inlining context: `file:line:col:   required from here`.
static CHAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:\S.*?:\d+(?::\d+)?: {2,}\S|inlined from .* at \S.*:\d+(?::\d+)?[:,]$)")
        .expect("valid regex")
});

/// A location alone on a line, its diagnostic wrapped onto the next one.
static BARE_LOCATION_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<file>[^\s:].*?):(?P<line>\d+)(?::(?P<col>\d+))?:$").expect("valid regex")
});

static WRAPPED_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<sev>warning|error|fatal error|note): (?P<msg>.*)$").expect("valid regex")
});

/// Quiet make lines (kbuild, automake's silent rules): `CC foo.o`, `CC [M] drivers/x.o`.
static QUIET_CC_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^CC(?:\s+\[M\])?\s+(?P<obj>[^\s\[\]]+)\.(?:o|lo)$").expect("valid regex")
});

/// A compiler's name (after its directory): `gcc`, `x86_64-linux-gnu-g++-12`, `clang-15`.
static COMPILER_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:[\w.]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|icc|icpc|icx|icpx|xgcc)",
        r"(?:-\d+(?:\.\d+)*)?(?:\.exe)?$"
    ))
    .expect("valid regex")
});

/// `message [-Wflag]`, `[-Wflag,category]`, `[-Werror,-Wflag]`, clang-tidy's `[check-name]`.
static FLAG_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?P<msg>.*?)\s*\[(?P<flag>-[A-Za-z][^\[\]]*",
        r"|[a-z][a-z0-9]*(?:-[a-z0-9.]+)+(?:,-?[\w.-]+)*)\]$"
    ))
    .expect("valid regex")
});

/// gcc's temporary files (`/tmp/ccAbc123.o`), named anew on every run.
static TEMP_FILE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bcc[A-Za-z0-9]{6}\.(o|s|i|ii|res)\b").expect("valid regex"));

/// XCTest's assertion failures look like diagnostics: `file.m:85: error: -[Class test] : …`.
static XCTEST_RE: LazyLock<Regex> = LazyLock::new(|| re(r"^-\[\S+ \S+\] : ").expect("valid regex"));

fn json_start(body: &[u8]) -> bool {
    let Some(rest) = body.strip_prefix(b"[") else {
        return false;
    };
    let rest = rest.trim_start();
    rest == b"]" || rest.starts_with(b"{\"kind\"")
}

fn json_start_with_kind(body: &[u8]) -> bool {
    body.strip_prefix(b"[")
        .is_some_and(|rest| rest.trim_start().starts_with(b"{\"kind\""))
}

// ---------------------------------------------------------------------------------------------
// Compiler command lines.

/// Whether a line starts like a compiler command line (cheap; for long lines).
fn command_start(body: &[u8]) -> bool {
    let first = body
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or(b"");
    let name = basename(first);
    COMPILER_RE.is_match(name) || is_wrapper(name) || matches!(first, b"cd" | b"libtool:")
}

fn basename(path: &[u8]) -> &[u8] {
    match path.rfind_byteset(b"/\\") {
        Some(at) => &path[at + 1..],
        None => path,
    }
}

fn is_wrapper(name: &[u8]) -> bool {
    matches!(
        name,
        b"ccache" | b"sccache" | b"distcc" | b"icecc" | b"buildcache" | b"time" | b"nice" | b"env"
    )
}

fn is_libtool_word(word: &[u8]) -> bool {
    matches!(
        word,
        b"libtool:" | b"compile:" | b"libtool" | b"bash" | b"sh" | b"--silent" | b"--quiet"
    ) || word.starts_with(b"--tag=")
        || word.starts_with(b"--mode=")
}

/// Splits a shell command line into words (quotes and backslashes as a shell reads them).
fn shell_words(line: &[u8]) -> Vec<Vec<u8>> {
    const MAX_WORDS: usize = 8192;
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut in_word = false;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < line.len() && words.len() < MAX_WORDS {
        let b = line[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(b'"') if b == b'\\' && i + 1 < line.len() => {
                i += 1;
                word.push(line[i]);
            }
            Some(_) => word.push(b),
            None => match b {
                b'\'' | b'"' => {
                    quote = Some(b);
                    in_word = true;
                }
                b'\\' if i + 1 < line.len() => {
                    i += 1;
                    word.push(line[i]);
                    in_word = true;
                }
                b if b.is_ascii_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                b';' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    words.push(b"&&".to_vec());
                }
                _ => {
                    word.push(b);
                    in_word = true;
                }
            },
        }
        i += 1;
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Options of gcc and clang whose value is the next word.
fn takes_argument(option: &[u8]) -> bool {
    matches!(
        option,
        b"-o"
            | b"-MF"
            | b"-MT"
            | b"-MQ"
            | b"-I"
            | b"-include"
            | b"-imacros"
            | b"-isystem"
            | b"-iquote"
            | b"-idirafter"
            | b"-iprefix"
            | b"-iwithprefix"
            | b"-isysroot"
            | b"--sysroot"
            | b"-x"
            | b"-D"
            | b"-U"
            | b"-L"
            | b"-l"
            | b"-Xlinker"
            | b"-Xpreprocessor"
            | b"-Xassembler"
            | b"-Xclang"
            | b"-T"
            | b"-arch"
            | b"-target"
            | b"-aux-info"
            | b"-dumpbase"
            | b"-dumpdir"
            | b"--param"
            | b"-z"
            | b"-u"
            | b"-e"
    )
}

fn is_source_file(word: &[u8]) -> bool {
    let Some(dot) = word.rfind_byte(b'.') else {
        return false;
    };
    if word[..dot].is_empty() || word[dot + 1..].contains(&b'/') {
        return false;
    }
    matches!(
        &word[dot + 1..],
        b"c" | b"cc"
            | b"cp"
            | b"cxx"
            | b"cpp"
            | b"CPP"
            | b"c++"
            | b"C"
            | b"m"
            | b"mm"
            | b"M"
            | b"i"
            | b"ii"
            | b"s"
            | b"S"
            | b"sx"
            | b"cu"
    )
}

/// The source files a command line compiles, each with the directory a `cd DIR &&` before it
/// named. Empty when the line is no compiler run.
fn compiled_sources(line: &[u8]) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    let words = shell_words(line);
    let mut sources = Vec::new();
    let mut cwd: Option<Vec<u8>> = None;
    for segment in words.split(|w| w == b"&&" || w == b"||") {
        if segment.len() == 2 && segment[0] == b"cd" {
            cwd = Some(segment[1].clone());
            continue;
        }
        let Some(at) = compiler_at(segment) else {
            continue;
        };
        let mut skip_next = false;
        for word in segment.iter().skip(at + 1) {
            if skip_next {
                skip_next = false;
                continue;
            }
            if word.starts_with(b"-") {
                skip_next = takes_argument(word);
                continue;
            }
            if is_source_file(word) {
                sources.push((cwd.clone(), word.clone()));
            }
        }
    }
    sources
}

/// Where the compiler is among a command's words (after wrappers, libtool's words and
/// `VAR=value` assignments).
fn compiler_at(segment: &[Vec<u8>]) -> Option<usize> {
    for (i, word) in segment.iter().enumerate().take(10) {
        let name = basename(word);
        if COMPILER_RE.is_match(name) {
            return Some(i);
        }
        let skippable = is_wrapper(name)
            || is_libtool_word(word)
            || is_libtool_word(name)
            || (word.contains(&b'=') && !word.starts_with(b"-"));
        if !skippable {
            return None;
        }
    }
    None
}

/// Whether a command line links: the compiler run with `-o` and objects or libraries to link.
fn is_link_command(line: &[u8]) -> bool {
    let words = shell_words(line);
    words.split(|w| w == b"&&" || w == b"||").any(|segment| {
        let Some(at) = compiler_at(segment) else {
            return false;
        };
        let (mut output, mut objects, mut skip_next) = (false, false, false);
        for word in segment.iter().skip(at + 1) {
            if skip_next {
                skip_next = false;
                continue;
            }
            if word.starts_with(b"-") {
                output |= word == b"-o";
                skip_next = takes_argument(word);
                continue;
            }
            objects |= is_object_file(word);
        }
        output && objects
    })
}

fn is_object_file(word: &[u8]) -> bool {
    let Some(dot) = word.rfind_byte(b'.') else {
        return false;
    };
    !word[..dot].is_empty()
        && !word[dot + 1..].contains(&b'/')
        && matches!(
            &word[dot + 1..],
            b"o" | b"obj" | b"a" | b"so" | b"lo" | b"la" | b"lib" | b"dylib"
        )
}

// ---------------------------------------------------------------------------------------------
// Paths.

fn is_absolute(path: &[u8]) -> bool {
    path.starts_with(b"/")
        || path.starts_with(b"\\")
        || (path.len() > 2
            && path[0].is_ascii_alphabetic()
            && path[1] == b':'
            && (path[2] == b'\\' || path[2] == b'/'))
}

/// `path` made absolute against `dir` where it is relative (and `dir` known), without `.` and
/// `..` components where they can be resolved.
fn resolve(dir: Option<&[u8]>, path: &[u8]) -> BString {
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

fn normalize(path: &[u8]) -> BString {
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

fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|&b| b == b'/' || b == b'\\').collect()
}

/// Where paths are made relative to.
enum Root {
    /// `--source-root`: paths under it lose it; relative paths lose their leading `..`.
    Given(BString),
    /// The directory components common to the compiled files (or the diagnostics' files).
    Prefix(Vec<Vec<u8>>),
}

impl Root {
    fn relativize(&self, path: &[u8]) -> BString {
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

fn is_system_path(path: &[u8]) -> bool {
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
fn common_prefix<'p>(paths: impl Iterator<Item = &'p [u8]>) -> Vec<Vec<u8>> {
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

// ---------------------------------------------------------------------------------------------
// Identity.

/// The message as its identity uses it: quotes unified, numbers, hex numbers and gcc's temporary
/// file names replaced, white space collapsed.
fn normalize_message(message: &[u8]) -> BString {
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
fn identity_flag(printed: &[u8]) -> BString {
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
enum Severity {
    Note,
    Warning,
    Error,
}

fn severity(word: &[u8]) -> Severity {
    match word {
        b"note" | b"remark" => Severity::Note,
        b"warning" => Severity::Warning,
        _ => Severity::Error,
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics.

/// Where a diagnostic is: a file, or a tool when it names none (`ld`, `cc1plus`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Place {
    File(BString),
    Tool(BString),
}

/// One diagnostic as first seen, and how often its identity was seen.
#[derive(Debug)]
struct Entry {
    place: Place,
    /// The identity's flag (the option, or the severity).
    flag: BString,
    normalized: BString,
    severity: Severity,
    severity_word: BString,
    message: BString,
    printed_file: BString,
    line: Option<u64>,
    column: Option<u64>,
    text: Vec<u8>,
    count: u64,
}

/// The diagnostic being read: more lines may still belong to it.
#[derive(Debug)]
struct Current {
    entry: usize,
    /// Its lines go to `text` only while this is its first occurrence.
    first: bool,
    /// Lines after the last diagnostic or note line: source, caret and fix-it lines.
    window: usize,
    /// The diagnostic's message may go on on the next line (it names no flag): this occurrence,
    /// to record again with the longer message.
    open: Option<Box<Occurrence>>,
}

/// One occurrence of a diagnostic, owned: what [`Parser::record`] was given, and what it changed.
#[derive(Debug)]
struct Occurrence {
    place: Place,
    printed_file: Vec<u8>,
    line: Option<u64>,
    column: Option<u64>,
    severity: Severity,
    severity_word: Vec<u8>,
    message: Vec<u8>,
    text: Vec<u8>,
    /// The severity of the entry this occurrence was merged into, before the merge.
    merged_from: Option<(Severity, BString)>,
}

/// A JSON array being gathered.
struct Json {
    buf: Vec<u8>,
    depth: i64,
    in_string: bool,
    escaped: bool,
    started: bool,
    end: Option<usize>,
    too_big: bool,
}

impl Json {
    fn new() -> Self {
        Json {
            buf: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            started: false,
            end: None,
            too_big: false,
        }
    }

    fn done(&self) -> bool {
        self.end.is_some()
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.done() {
            return;
        }
        let base = self.buf.len();
        let mut end = None;
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    self.started = true;
                }
                b']' | b'}' => {
                    self.depth -= 1;
                    if self.started && self.depth <= 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let take = end.unwrap_or(bytes.len());
        if !self.too_big {
            if base + take > JSON_CAP {
                self.too_big = true;
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(&bytes[..take]);
            }
        }
        if end.is_some() {
            self.end = Some(self.buf.len());
        }
    }
}

#[derive(Deserialize)]
struct JsonDiagnostic {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    option: Option<String>,
    #[serde(default)]
    locations: Vec<JsonLocation>,
    #[serde(default)]
    children: Vec<JsonDiagnostic>,
}

#[derive(Deserialize)]
struct JsonLocation {
    #[serde(default)]
    caret: Option<JsonPoint>,
}

#[derive(Deserialize)]
struct JsonPoint {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    column: Option<u64>,
}

/// What [`Parser::record`] did: the entry, whether it is new, the merged entry's severity before.
type Recorded = (usize, bool, Option<(Severity, BString)>);

/// A location alone on a line: file, line, column and the line itself.
type BareLocation = (Vec<u8>, u64, Option<u64>, Vec<u8>);

/// A diagnostic line, read.
struct Parsed<'a> {
    place: Place,
    printed_file: &'a [u8],
    line: Option<u64>,
    column: Option<u64>,
    severity: Severity,
    severity_word: &'a [u8],
    message: &'a [u8],
    flag: Option<&'a [u8]>,
    linker: bool,
}

fn parse_u64(bytes: &[u8]) -> Option<u64> {
    bytes.to_str().ok()?.parse().ok()
}

fn split_flag(message: &[u8]) -> (&[u8], Option<&[u8]>) {
    match FLAG_RE.captures(message) {
        Some(caps) => match (caps.name("msg"), caps.name("flag")) {
            (Some(msg), Some(flag)) => (msg.as_bytes(), Some(flag.as_bytes())),
            _ => (message, None),
        },
        None => (message, None),
    }
}

struct Parser<'s> {
    source: &'s str,
    entries: Vec<Entry>,
    index: HashMap<(Place, BString, BString), usize>,
    current: Option<Current>,
    /// Context lines waiting for the diagnostic (or note) they introduce.
    context: Vec<Vec<u8>>,
    /// The last line was an include line, so `from …` lines continue it.
    in_include_chain: bool,
    /// A location alone on the last line: `file.h:17:` (its diagnostic on the next line).
    bare_location: Option<BareLocation>,
    /// The linker diagnostic a `collect2: … ld returned 1 exit status` line belongs to.
    last_linker: Option<usize>,
    /// The last line, read as the current diagnostic's message wrapped onto it unless a caret line
    /// follows (then it was a source line).
    pending: Option<Vec<u8>>,
    /// A compiler command line continued with `\`.
    command: Option<Vec<u8>>,
    dirs: Vec<BString>,
    compiled: Vec<BString>,
    compiled_seen: std::collections::HashSet<BString>,
    warnings: Vec<String>,
    dropped: u64,
}

impl<'s> Parser<'s> {
    fn new(source: &'s str) -> Self {
        Parser {
            source,
            entries: Vec::new(),
            index: HashMap::new(),
            current: None,
            context: Vec::new(),
            in_include_chain: false,
            bare_location: None,
            last_linker: None,
            pending: None,
            command: None,
            dirs: Vec::new(),
            compiled: Vec::new(),
            compiled_seen: std::collections::HashSet::new(),
            warnings: Vec::new(),
            dropped: 0,
        }
    }

    fn dir(&self) -> Option<&[u8]> {
        self.dirs.last().map(|d| d.as_slice())
    }

    /// One line of the log, prefixes removed.
    fn line(&mut self, body: &[u8], prefix: Prefix, text: &[u8]) {
        self.settle(body);
        let include_chain = std::mem::take(&mut self.in_include_chain);
        let bare_location = self.bare_location.take();

        if let Some(mut command) = self.command.take() {
            command.pop(); // the `\`
            command.push(b' ');
            command.extend_from_slice(body);
            if command.ends_with(b"\\") && command.len() < COMMAND_CAP {
                self.command = Some(command);
            } else {
                self.compiler_command(&command);
            }
            return;
        }

        if body.is_empty() {
            self.other(body, false);
            return;
        }

        if let Some(caps) = MAKE_DIR_RE.captures(body) {
            let dir = caps.name("dir").map_or(&b""[..], |m| m.as_bytes());
            if caps
                .name("what")
                .is_some_and(|m| m.as_bytes() == b"Entering")
            {
                if self.dirs.len() < DIRS_CAP {
                    let resolved = resolve(self.dir(), dir);
                    self.dirs.push(resolved);
                }
            } else {
                self.dirs.pop();
            }
            self.close();
            return;
        }
        if BUILD_TOOL_RE.is_match(body) {
            self.close();
            return;
        }

        if let Some((file, line, column, text)) = bare_location {
            if let Some(caps) = WRAPPED_RE.captures(body) {
                let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                let (message, flag) = split_flag(msg);
                let mut full = text;
                full.push(b'\n');
                full.extend_from_slice(body);
                let parsed = Parsed {
                    place: Place::File(resolve(self.dir(), &file)),
                    printed_file: &file,
                    line: Some(line),
                    column,
                    severity: severity(sev),
                    severity_word: sev,
                    message,
                    flag,
                    linker: false,
                };
                self.diagnostic(parsed, &full);
                return;
            }
        }

        if include_chain && FROM_RE.is_match(body) {
            self.push_context(text);
            self.in_include_chain = true;
            return;
        }
        if body.contains_str(": ") || body.ends_with(b":") {
            if let Some(caps) = DIAG_RE.captures(body) {
                let file = caps.name("file").map_or(&b""[..], |m| m.as_bytes());
                let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                let line = caps.name("line").and_then(|m| parse_u64(m.as_bytes()));
                let column = caps.name("col").and_then(|m| parse_u64(m.as_bytes()));
                if XCTEST_RE.is_match(msg) || file.ends_with(b".java") {
                    self.other(text, prefix.indented);
                    return;
                }
                let mut severity = severity(sev);
                // Old gcc continued a warning with `file:line: warning:   in call to …`.
                if msg.starts_with(b"  ") && self.current.is_some() {
                    severity = Severity::Note;
                }
                let (message, flag) = split_flag(msg);
                let parsed = Parsed {
                    place: Place::File(resolve(self.dir(), file)),
                    printed_file: file,
                    line,
                    column,
                    severity,
                    severity_word: sev,
                    message,
                    flag,
                    linker: false,
                };
                self.diagnostic(parsed, body);
                return;
            }
            if let Some(caps) = LINK_FAILED_RE.captures(body) {
                let message = caps
                    .name("collect")
                    .or_else(|| caps.name("clang"))
                    .map_or(&b""[..], |m| m.as_bytes());
                self.link_failed(body, message);
                return;
            }
            if let Some(caps) = TOOL_RE.captures(body) {
                let tool = caps
                    .name("tool")
                    .or_else(|| caps.name("special"))
                    .map_or(&b""[..], |m| m.as_bytes());
                let sev = caps.name("sev").map_or(&b""[..], |m| m.as_bytes());
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                let (message, flag) = split_flag(msg);
                let parsed = Parsed {
                    place: Place::Tool(BString::from(tool)),
                    printed_file: tool,
                    line: None,
                    column: None,
                    severity: severity(sev),
                    severity_word: sev,
                    message,
                    flag,
                    linker: false,
                };
                self.diagnostic(parsed, body);
                return;
            }
            if let Some(caps) = LD_RE.captures(body) {
                let msg = caps.name("msg").map_or(&b""[..], |m| m.as_bytes());
                match caps.name("sev") {
                    Some(sev) => {
                        let sev = sev.as_bytes();
                        let (message, flag) = split_flag(msg);
                        self.linker(body, sev, message, flag);
                    }
                    None => self.linker_message(body, msg),
                }
                return;
            }
            if LD_OBJECT_RE.is_match(body) {
                self.linker_message(body, body);
                return;
            }
            if CHAIN_RE.is_match(body) {
                self.push_context(body);
                return;
            }
        }
        if INCLUDE_RE.is_match(body) {
            self.push_context(body);
            self.in_include_chain = true;
            return;
        }
        if body.ends_with(b":") || body.ends_with(b",") {
            if SCOPE_RE.is_match(body) {
                self.push_context(body);
                return;
            }
            if let Some(caps) = BARE_LOCATION_RE.captures(body) {
                let file = caps.name("file").map_or(&b""[..], |m| m.as_bytes());
                if let Some(line) = caps.name("line").and_then(|m| parse_u64(m.as_bytes())) {
                    let column = caps.name("col").and_then(|m| parse_u64(m.as_bytes()));
                    self.close();
                    self.bare_location = Some((file.to_vec(), line, column, body.to_vec()));
                    return;
                }
            }
        }
        if body.starts_with(b"inlined from ") && CHAIN_RE.is_match(body) {
            self.push_context(body);
            return;
        }
        if LD64_UNDEFINED_RE.is_match(body) {
            self.linker(body, b"error", body.trim_end_with(|c| c == ':'), None);
            return;
        }
        if command_start(body) {
            if body.ends_with(b"\\") {
                self.close();
                self.command = Some(body.to_vec());
                return;
            }
            if !compiled_sources(body).is_empty() || prefix.progress || is_link_command(body) {
                self.compiler_command(body);
                return;
            }
        }
        if let Some(caps) = QUIET_CC_RE.captures(body) {
            if let Some(obj) = caps.name("obj") {
                let mut source = obj.as_bytes().to_vec();
                source.extend_from_slice(b".c");
                let resolved = resolve(self.dir(), &source);
                self.add_compiled(resolved);
                self.close();
                return;
            }
        }
        if prefix.progress {
            self.close();
            return;
        }
        self.other(text, prefix.indented);
    }

    /// A line that is none of the shapes above: a source or caret line of the current diagnostic,
    /// or anything else (which ends it).
    fn other(&mut self, body: &[u8], indented: bool) {
        let line = body;
        let body = body.trim_start();
        self.in_include_chain = false;
        self.bare_location = None;
        let Some(current) = &mut self.current else {
            self.context.clear();
            return;
        };
        // While `open`, every line since the diagnostic continued its message.
        let continues = !body.is_empty()
            && self.context.is_empty()
            && current
                .open
                .as_ref()
                .is_some_and(|open| continues_message(&open.message, body));
        let belongs = continues
            || (!body.is_empty()
                && self.context.is_empty()
                && (current.window == 0
                    || indented
                    || caret_like(body)
                    || body.starts_with(b">>>")));
        if belongs {
            if continues {
                // Settled by the next line (see `settle`): a caret line makes it a source line.
                self.pending = Some(line.to_vec());
            } else {
                current.open = None;
            }
            current.window += 1;
            if current.first {
                if let Some(entry) = self.entries.get_mut(current.entry) {
                    push_text(&mut entry.text, line);
                }
            }
        } else {
            self.close();
        }
    }

    /// Decides what the line before `next` was, when it may have continued the current
    /// diagnostic's message: a source line when `next` is a caret line, else the message's rest.
    fn settle(&mut self, next: &[u8]) {
        let Some(line) = self.pending.take() else {
            return;
        };
        let next = next.trim();
        if !next.is_empty() && caret_like(next) {
            if let Some(current) = &mut self.current {
                current.open = None;
            }
            return;
        }
        self.continue_message(&line);
    }

    /// Records the current diagnostic again with `line` added to its message (and its flag, if
    /// the line ends with one), in place of the shorter one.
    fn continue_message(&mut self, line: &[u8]) {
        let Some(current) = &mut self.current else {
            return;
        };
        let Some(open) = current.open.take() else {
            return;
        };
        // Take back what recording the shorter message did.
        if current.first {
            if current.entry + 1 != self.entries.len() {
                return;
            }
            if let Some(entry) = self.entries.pop() {
                self.index
                    .remove(&(entry.place, entry.flag, entry.normalized));
            }
        } else {
            let Some(entry) = self.entries.get_mut(current.entry) else {
                return;
            };
            entry.count = entry.count.saturating_sub(1).max(1);
            if let Some((severity, word)) = open.merged_from {
                entry.severity = severity;
                entry.severity_word = word;
            }
        }
        let (rest, flag) = split_flag(line.trim());
        let mut message = open.message.trim().to_vec();
        message.push(b' ');
        message.extend_from_slice(rest.trim());
        let mut text = open.text;
        push_text(&mut text, line);
        let parsed = Parsed {
            place: open.place,
            printed_file: &open.printed_file,
            line: open.line,
            column: open.column,
            severity: open.severity,
            severity_word: &open.severity_word,
            message: &message,
            flag,
            linker: false,
        };
        self.current = None;
        let still_open = flag.is_none().then(|| Occurrence {
            place: parsed.place.clone(),
            printed_file: open.printed_file.clone(),
            line: open.line,
            column: open.column,
            severity: open.severity,
            severity_word: open.severity_word.clone(),
            message: message.clone(),
            text: text.clone(),
            merged_from: None,
        });
        if let Some((entry, first, before)) = self.record(parsed, text) {
            let open = still_open.map(|mut o| {
                o.merged_from = before;
                Box::new(o)
            });
            // The lines so far were the message: a line that is not indented ends it.
            self.current = Some(Current {
                entry,
                first,
                window: 1,
                open,
            });
        }
    }

    fn push_context(&mut self, body: &[u8]) {
        if let Some(current) = &mut self.current {
            // The current diagnostic's source lines are over; a note may still follow.
            current.window = usize::MAX / 2;
            current.open = None;
        }
        if self.context.len() < CONTEXT_LINES_CAP {
            self.context.push(body.to_vec());
        }
    }

    fn close(&mut self) {
        self.current = None;
        self.context.clear();
        self.in_include_chain = false;
    }

    fn diagnostic(&mut self, parsed: Parsed<'_>, line: &[u8]) {
        if parsed.severity == Severity::Note {
            let context = std::mem::take(&mut self.context);
            match &mut self.current {
                Some(current) => {
                    current.window = 0;
                    current.open = None;
                    if current.first {
                        if let Some(entry) = self.entries.get_mut(current.entry) {
                            for c in &context {
                                push_text(&mut entry.text, c);
                            }
                            push_text(&mut entry.text, line);
                        }
                    }
                }
                None => {
                    // A note with nothing to explain (e.g. `ld.lld: note: …`): not a result.
                }
            }
            return;
        }
        let context = std::mem::take(&mut self.context);
        self.current = None;
        let mut text = Vec::new();
        for c in &context {
            push_text(&mut text, c);
        }
        push_text(&mut text, line);
        let linker = parsed.linker;
        // A message that names no flag may be wrapped onto the next line.
        let mut open = (!linker && parsed.flag.is_none()).then(|| {
            Box::new(Occurrence {
                place: parsed.place.clone(),
                printed_file: parsed.printed_file.to_vec(),
                line: parsed.line,
                column: parsed.column,
                severity: parsed.severity,
                severity_word: parsed.severity_word.to_vec(),
                message: parsed.message.to_vec(),
                text: text.clone(),
                merged_from: None,
            })
        });
        if let Some((entry, first, before)) = self.record(parsed, text) {
            if let Some(open) = &mut open {
                open.merged_from = before;
            }
            self.current = Some(Current {
                entry,
                first,
                window: 0,
                open,
            });
            if linker {
                self.last_linker = Some(entry);
            }
        }
    }

    /// Keeps a diagnostic, merged with an earlier one of the same identity: its entry, whether it
    /// is new, and (when merged) the entry's severity before.
    fn record(&mut self, parsed: Parsed<'_>, text: Vec<u8>) -> Option<Recorded> {
        let flag = match parsed.flag {
            Some(flag) => identity_flag(flag),
            None => BString::from(match parsed.severity {
                Severity::Warning => "warning",
                _ => "error",
            }),
        };
        let normalized = normalize_message(parsed.message);
        let key = (parsed.place.clone(), flag.clone(), normalized.clone());
        if let Some(&at) = self.index.get(&key) {
            let entry = self.entries.get_mut(at)?;
            entry.count += 1;
            let before = (entry.severity, entry.severity_word.clone());
            if parsed.severity > entry.severity {
                entry.severity = parsed.severity;
                entry.severity_word = BString::from(parsed.severity_word);
            }
            return Some((at, false, Some(before)));
        }
        if self.entries.len() >= DIAGNOSTICS_CAP {
            self.dropped += 1;
            return None;
        }
        let at = self.entries.len();
        self.entries.push(Entry {
            place: parsed.place,
            flag,
            normalized,
            severity: parsed.severity,
            severity_word: BString::from(parsed.severity_word),
            message: BString::from(parsed.message.trim()),
            printed_file: BString::from(parsed.printed_file),
            line: parsed.line,
            column: parsed.column,
            text,
            count: 1,
        });
        self.index.insert(key, at);
        Some((at, true, None))
    }

    /// A linker line that names its severity.
    fn linker(&mut self, line: &[u8], sev: &[u8], message: &[u8], flag: Option<&[u8]>) {
        let sev = if sev == b"fatal" { &b"error"[..] } else { sev };
        // `ld: a.c:(.text+0x9): undefined reference to …`: the object goes, the message stays.
        let message = match LD_OBJECT_RE.captures(message) {
            Some(caps) => caps.name("msg").map_or(message, |m| m.as_bytes()),
            None => message,
        };
        let parsed = Parsed {
            place: Place::Tool(BString::from("ld")),
            printed_file: b"ld",
            line: None,
            column: None,
            severity: severity(sev),
            severity_word: sev,
            message,
            flag,
            linker: true,
        };
        self.diagnostic(parsed, line);
    }

    /// A linker line without a severity: an error, the context of one, or information.
    fn linker_message(&mut self, line: &[u8], message: &[u8]) {
        let (location, message) = match LD_OBJECT_RE.captures(message) {
            Some(caps) => (
                caps.name("loc").map(|m| m.as_bytes()),
                caps.name("msg").map_or(message, |m| m.as_bytes()),
            ),
            None => (None, message),
        };
        if message.starts_with(b"In function") || message.starts_with(b"in function") {
            self.push_context(line);
            return;
        }
        if message.starts_with(b"skipping incompatible") {
            self.other(line, true);
            return;
        }
        if message.starts_with(b"first defined here") {
            let parsed = Parsed {
                place: Place::Tool(BString::from("ld")),
                printed_file: location.unwrap_or(b"ld"),
                line: None,
                column: None,
                severity: Severity::Note,
                severity_word: b"note",
                message,
                flag: None,
                linker: true,
            };
            self.diagnostic(parsed, line);
            return;
        }
        if let Some(rest) = message.strip_prefix(b"warning: ") {
            self.linker(line, b"warning", rest, None);
            return;
        }
        self.linker(line, b"error", message, None);
    }

    /// `collect2: error: ld returned 1 exit status`: part of the linker error before it, or an
    /// error of its own where the linker's message was not recognised.
    fn link_failed(&mut self, line: &[u8], message: &[u8]) {
        if let Some(at) = self.last_linker {
            if let Some(entry) = self.entries.get_mut(at) {
                push_text(&mut entry.text, line);
                self.current = None;
                self.context.clear();
                return;
            }
        }
        self.linker(line, b"error", message, None);
        self.current = None;
    }

    fn compiler_command(&mut self, command: &[u8]) {
        self.close();
        self.last_linker = None;
        for (cwd, source) in compiled_sources(command) {
            let dir = match cwd {
                Some(cwd) => Some(resolve(self.dir(), &cwd)),
                None => self.dirs.last().cloned(),
            };
            let resolved = resolve(dir.as_ref().map(|d| d.as_slice()), &source);
            self.add_compiled(resolved);
        }
    }

    fn add_compiled(&mut self, path: BString) {
        if self.compiled_seen.len() < COMPILED_CAP && self.compiled_seen.insert(path.clone()) {
            self.compiled.push(path);
        }
    }

    fn json(&mut self, json: Json, number: u64) {
        self.settle(b"");
        self.close();
        if json.too_big {
            self.warnings.push(format!(
                "{}:{number}: a JSON diagnostics array larger than {} MiB was skipped",
                self.source,
                JSON_CAP / (1024 * 1024)
            ));
            return;
        }
        let text = String::from_utf8_lossy(&json.buf);
        let diagnostics: Vec<JsonDiagnostic> = match serde_json::from_str(&text) {
            Ok(diagnostics) => diagnostics,
            Err(err) => {
                self.warnings.push(format!(
                    "{}:{number}: a JSON diagnostics array could not be read: {err}",
                    self.source
                ));
                return;
            }
        };
        for diagnostic in diagnostics {
            self.json_diagnostic(&diagnostic);
        }
    }

    fn json_diagnostic(&mut self, diagnostic: &JsonDiagnostic) {
        let sev = diagnostic.kind.as_bytes();
        let severity = severity(sev);
        if severity == Severity::Note {
            return;
        }
        let mut text = Vec::new();
        json_text(&mut text, diagnostic, 0);
        let point = diagnostic
            .locations
            .iter()
            .find_map(|location| location.caret.as_ref());
        let file = point.and_then(|p| p.file.as_deref());
        let (place, printed) = match file {
            Some(file) => (
                Place::File(resolve(self.dir(), file.as_bytes())),
                file.as_bytes(),
            ),
            None => (Place::Tool(BString::from("gcc")), &b"gcc"[..]),
        };
        let parsed = Parsed {
            place,
            printed_file: printed,
            line: point.and_then(|p| p.line),
            column: point.and_then(|p| p.column),
            severity,
            severity_word: sev,
            message: diagnostic.message.as_bytes(),
            flag: diagnostic.option.as_deref().map(str::as_bytes),
            linker: false,
        };
        self.record(parsed, text);
    }

    fn finish(mut self, options: &ParseOptions, sink: &mut dyn Sink) {
        self.settle(b"");
        if let Some(command) = self.command.take() {
            self.compiler_command(&command);
        }
        let root = match &options.source_root {
            Some(root) => Root::Given(normalize(root.as_bytes())),
            None if !self.compiled.is_empty() => {
                Root::Prefix(common_prefix(self.compiled.iter().map(|p| p.as_slice())))
            }
            None => Root::Prefix(common_prefix(self.entries.iter().filter_map(
                |e| match &e.place {
                    Place::File(path) if !is_system_path(path) => Some(path.as_slice()),
                    _ => None,
                },
            ))),
        };
        for warning in self.warnings.drain(..) {
            sink.warning(warning);
        }
        if self.dropped > 0 {
            sink.warning(format!(
                "{}: more than {DIAGNOSTICS_CAP} distinct diagnostics; {} more were dropped",
                self.source, self.dropped
            ));
        }
        for path in &self.compiled {
            sink.compiled(root.relativize(path));
        }
        // Paths made relative may meet: merge once more.
        let mut results: Vec<(TestResult, Severity)> = Vec::new();
        let mut seen: HashMap<BString, usize> = HashMap::new();
        for entry in self.entries {
            let path = match &entry.place {
                Place::File(path) => root.relativize(path),
                Place::Tool(tool) => tool.clone(),
            };
            let mut id = path.to_vec();
            id.push(b':');
            id.extend_from_slice(&entry.flag);
            id.push(b':');
            id.extend_from_slice(&entry.normalized);
            let id = BString::from(id);
            if let Some(&at) = seen.get(&id) {
                if let Some((result, worst)) = results.get_mut(at) {
                    let count = result
                        .details
                        .get("count")
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(1);
                    result
                        .details
                        .insert("count".into(), (count + entry.count).into());
                    if entry.severity > *worst {
                        *worst = entry.severity;
                        result.status = Status::Error;
                    }
                }
                continue;
            }
            let status = match entry.severity {
                Severity::Warning | Severity::Note => Status::Failed,
                Severity::Error => Status::Error,
            };
            let mut result = TestResult::new(id.clone(), Kind::Compile, status);
            result.message = Some(entry.message);
            let mut details = Details::new();
            details.insert("file".into(), entry.printed_file.to_str_lossy().into());
            if let Some(line) = entry.line {
                details.insert("line".into(), line.into());
            }
            if let Some(column) = entry.column {
                details.insert("column".into(), column.into());
            }
            details.insert("flag".into(), entry.flag.to_str_lossy().into());
            details.insert("severity".into(), entry.severity_word.to_str_lossy().into());
            details.insert("count".into(), entry.count.into());
            details.insert("text".into(), entry.text.to_str_lossy().into());
            result.details = details;
            seen.insert(id, results.len());
            results.push((result, entry.severity));
        }
        for (result, _) in results {
            sink.result(result);
        }
    }
}

/// A caret, range or label line of gcc or clang (`      |     ^~~`, `   ~~~ ^`).
fn caret_like(body: &[u8]) -> bool {
    body.iter()
        .all(|&b| matches!(b, b'^' | b'~' | b'|' | b' ' | b'\t' | b'+' | b'-'))
}

/// Whether `line` (no other recognised shape) reads as the rest of `message`, wrapped: words,
/// not code, and either ending with the flag the message lacks (`… [-Wstringop-overflow=]`) or
/// following a message cut after a word no message ends with (`has virtual functions but`).
fn continues_message(message: &[u8], line: &[u8]) -> bool {
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
fn prose(words: &[u8]) -> bool {
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
fn unfinished(message: &[u8]) -> bool {
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

fn push_text(text: &mut Vec<u8>, line: &[u8]) {
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

fn json_text(text: &mut Vec<u8>, diagnostic: &JsonDiagnostic, depth: usize) {
    let mut line = Vec::new();
    if let Some(point) = diagnostic
        .locations
        .iter()
        .find_map(|location| location.caret.as_ref())
    {
        if let Some(file) = &point.file {
            line.extend_from_slice(file.as_bytes());
            line.push(b':');
        }
        if let Some(l) = point.line {
            line.extend_from_slice(l.to_string().as_bytes());
            line.push(b':');
        }
        if let Some(c) = point.column {
            line.extend_from_slice(c.to_string().as_bytes());
            line.push(b':');
        }
        line.push(b' ');
    }
    line.extend_from_slice(diagnostic.kind.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(diagnostic.message.as_bytes());
    if let Some(option) = &diagnostic.option {
        line.extend_from_slice(b" [");
        line.extend_from_slice(option.as_bytes());
        line.push(b']');
    }
    push_text(text, &line);
    if depth < 8 {
        for child in &diagnostic.children {
            json_text(text, child, depth + 1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sniffing.

/// A linker's message (after `ld: `) that is an error without saying so: `cannot find -lX`,
/// `undefined reference to …`.
fn linker_error(message: &[u8]) -> bool {
    message.starts_with(b"cannot find ")
        || message.starts_with(b"undefined reference to ")
        || LD_OBJECT_RE.is_match(message)
}

fn sniff(head: &[u8]) -> Confidence {
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

#[cfg(test)]
mod tests;
