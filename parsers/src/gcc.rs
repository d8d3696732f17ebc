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

use std::io::{self, BufRead};

// This file reads the log line by line; the modules do the rest: `shapes` (prefixes, colours
// and the lines' regexes), `command` (compiler command lines), `paths`, `identity` (normalised
// messages and flags), `json` (`-fdiagnostics-format=json`), `wrap` (a diagnostic's text and
// wrapped messages), `parser` (diagnostics merged by identity) and `sniff`.
mod command;
mod identity;
mod json;
mod parser;
mod paths;
mod shapes;
mod sniff;
#[cfg(test)]
mod tests;
mod wrap;

use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, Format, ParseOptions, Sink};
use crate::line_reader::{Lines, Read};

use command::command_start;
use json::Json;
use parser::Parser;
use shapes::{clean_line, json_start, strip_prefixes};
use sniff::sniff;

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
