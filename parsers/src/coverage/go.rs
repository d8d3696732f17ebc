//! Go's coverage profile (`go test -coverprofile`).
//!
//! `mode: set|count|atomic`, then one block a line: `import/path/file.go:L1.C1,L2.C2 STMTS COUNT`.
//! A block repeated (profiles of several packages concatenated, `-coverpkg`) adds up (`set`
//! mode: either ran). Per line, the most any block touching it ran: a line where a covered
//! block ends and an uncovered one starts counts as covered, as `go tool cover` colours it.
//! Paths are import paths: give the module path as the source root to map them onto the
//! repository (without one, the directories every path shares go).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use super::{starts_with_trimmed, CoverageFormat, CoverageSink, Out, MAX_LINE_NUMBER};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};
use crate::metrics::lines::Lines;

const FORMAT: &str = "Go coverage profile";
/// The most lines one block may span.
const MAX_BLOCK_LINES: u64 = 100_000;

pub struct GoCoverProfile;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Block {
    start_line: u64,
    start_col: u64,
    end_line: u64,
    end_col: u64,
}

impl CoverageFormat for GoCoverProfile {
    fn name(&self) -> &'static str {
        "go-coverprofile"
    }

    fn description(&self) -> &'static str {
        "Go coverage profile (go test -coverprofile)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        if [&b"mode: set"[..], b"mode: count", b"mode: atomic"]
            .iter()
            .any(|p| starts_with_trimmed(head, p))
        {
            Confidence::HIGH
        } else {
            Confidence::NONE
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn CoverageSink,
    ) -> Result<(), ParseError> {
        let mut lines = Lines::new(input, FORMAT, &options.source);
        let mut set_mode = None;
        // File → block → (statements, count), files in the order first seen.
        let mut files: Vec<(String, Blocks)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut spanned = 0u64;
        while let Some(line) = lines.next_line()? {
            if line.cut {
                return Err(lines.error(
                    0,
                    ParseErrorKind::LimitExceeded("a line longer than 1 MiB".into()),
                ));
            }
            let text = String::from_utf8_lossy(&line.text);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if let Some(mode) = text.strip_prefix("mode:") {
                let mode = mode.trim();
                let set = match mode {
                    "set" => true,
                    "count" | "atomic" => false,
                    _ => {
                        return Err(lines.error(
                            7,
                            ParseErrorKind::Other(format!(
                                "unknown mode {:?} (set, count or atomic)",
                                mode.chars().take(20).collect::<String>()
                            )),
                        ))
                    }
                };
                // Concatenated profiles repeat the mode line; they must agree.
                if set_mode.is_some_and(|s| s != set) {
                    return Err(lines.error(
                        1,
                        ParseErrorKind::Other("profiles of different modes concatenated".into()),
                    ));
                }
                set_mode = Some(set);
                continue;
            }
            let Some(set) = set_mode else {
                return Err(lines.error(
                    1,
                    ParseErrorKind::NotThisFormat(
                        "a Go coverage profile starts with a mode: line".into(),
                    ),
                ));
            };
            let (path, block, statements, count) =
                parse_block(text).map_err(|(column, kind)| lines.error(column, kind))?;
            // Every block's lines are visited once at the end: bound their sum.
            spanned += block.end_line - block.start_line + 1;
            if spanned > super::MAX_LINES {
                return Err(lines.error(
                    1,
                    ParseErrorKind::LimitExceeded(format!(
                        "blocks spanning more than {} lines in one profile",
                        super::MAX_LINES
                    )),
                ));
            }
            let at = match index.get(path) {
                Some(&at) => at,
                None => {
                    index.insert(path.to_string(), files.len());
                    files.push((path.to_string(), HashMap::new()));
                    files.len() - 1
                }
            };
            let entry = files[at].1.entry(block).or_insert((statements, 0));
            entry.1 = if set {
                entry.1.max(count.min(1))
            } else {
                entry.1.saturating_add(count)
            };
        }
        if set_mode.is_none() {
            return Err(ParseError {
                format: FORMAT,
                source_name: options.source.clone(),
                line: 0,
                column: 0,
                path: None,
                kind: ParseErrorKind::NotThisFormat("the profile is empty (no mode: line)".into()),
            });
        }
        let mut out = Out::new(sink, &options.source);
        let error = |kind| ParseError {
            format: FORMAT,
            source_name: options.source.clone(),
            line: 0,
            column: 0,
            path: None,
            kind,
        };
        for (path, blocks) in files {
            let mut per_line: BTreeMap<u64, u64> = BTreeMap::new();
            for (block, (statements, count)) in blocks {
                if statements == 0 {
                    continue;
                }
                for line in block.start_line..=block.end_line {
                    let hits = per_line.entry(line).or_insert(0);
                    *hits = (*hits).max(count);
                }
            }
            out.file(&path, true).map_err(error)?;
            for (line, hits) in per_line {
                out.line(line, hits, None).map_err(error)?;
            }
        }
        Ok(())
    }
}

/// A file's blocks: statements and count of each.
type Blocks = HashMap<Block, (u64, u64)>;

type BlockLine<'t> = (&'t str, Block, u64, u64);

/// `path:L1.C1,L2.C2 STMTS COUNT`; errors carry a 1-based column.
fn parse_block(text: &str) -> Result<BlockLine<'_>, (u64, ParseErrorKind)> {
    let bad = |column: usize, what: &str| {
        (
            column as u64 + 1,
            ParseErrorKind::Other(format!(
                "{what} in {:?} (expected path:L1.C1,L2.C2 STATEMENTS COUNT)",
                text.chars().take(80).collect::<String>()
            )),
        )
    };
    let (rest, count) = text.rsplit_once(' ').ok_or_else(|| bad(0, "no count"))?;
    let (rest, statements) = rest
        .rsplit_once(' ')
        .ok_or_else(|| bad(0, "no statement count"))?;
    let (path, range) = rest.rsplit_once(':').ok_or_else(|| bad(0, "no position"))?;
    let range_at = path.len() + 1;
    let number = |field: &str, at: usize| {
        field
            .trim()
            .parse::<u64>()
            .map_err(|_| bad(at, "an invalid number"))
    };
    let (start, end) = range
        .split_once(',')
        .ok_or_else(|| bad(range_at, "no range"))?;
    let (start_line, start_col) = start
        .split_once('.')
        .ok_or_else(|| bad(range_at, "no column"))?;
    let (end_line, end_col) = end
        .split_once('.')
        .ok_or_else(|| bad(range_at, "no column"))?;
    let block = Block {
        start_line: number(start_line, range_at)?,
        start_col: number(start_col, range_at)?,
        end_line: number(end_line, range_at)?,
        end_col: number(end_col, range_at)?,
    };
    if path.is_empty() {
        return Err(bad(0, "an empty path"));
    }
    if block.start_line == 0 || block.end_line < block.start_line {
        return Err(bad(range_at, "a block that ends before it starts"));
    }
    if block.end_line > u64::from(MAX_LINE_NUMBER) {
        return Err((
            range_at as u64 + 1,
            ParseErrorKind::LimitExceeded(format!(
                "line number {}; a source file may have at most {MAX_LINE_NUMBER} lines",
                block.end_line
            )),
        ));
    }
    if block.end_line - block.start_line >= MAX_BLOCK_LINES {
        return Err((
            range_at as u64 + 1,
            ParseErrorKind::LimitExceeded(format!(
                "a block of {} lines; the most one block may span is {MAX_BLOCK_LINES}",
                block.end_line - block.start_line + 1
            )),
        ));
    }
    let statements_at = rest.len() + 1;
    Ok((
        path,
        block,
        number(statements, statements_at)?,
        number(count, statements_at + statements.len() + 1)?,
    ))
}
