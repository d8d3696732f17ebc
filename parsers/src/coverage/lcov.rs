//! lcov's tracefile (`.info`), as lcov/geninfo, gcovr, llvm-cov, coverage.py, c8 and others
//! write it.
//!
//! One record per source file: `SF:path`, then `DA:line,hits[,checksum]` and
//! `BRDA:line,block,branch,taken` (`-`: never reached, 0), ending in `end_of_record`. A negative
//! `DA` count is an error, as in lcov itself (its `negative` error). Other
//! records (`TN`, `FN`, `FNDA`, `LF`, `LH`, `BRF`, `VER`, …) are read past. A record's lines are
//! held until its end, so branches given before or after their `DA` meet it; a file that stops
//! inside a record is truncated.

use std::collections::BTreeMap;
use std::io::BufRead;

use super::{starts_with_trimmed, Branches, CoverageFormat, CoverageSink, Out, MAX_LINE_NUMBER};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};
use crate::metrics::lines::Lines;

const FORMAT: &str = "lcov tracefile";

pub struct Lcov;

impl CoverageFormat for Lcov {
    fn name(&self) -> &'static str {
        "lcov"
    }

    fn description(&self) -> &'static str {
        "lcov tracefile .info (lcov, gcovr --lcov, llvm-cov export -format=lcov, coverage lcov)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        let starts = [&b"TN:"[..], b"SF:", b"VER:"]
            .iter()
            .any(|p| starts_with_trimmed(head, p));
        if !starts {
            return Confidence::NONE;
        }
        if super::contains(head, b"\nDA:") || super::contains(head, b"end_of_record") {
            Confidence::HIGH
        } else {
            Confidence::MEDIUM
        }
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn CoverageSink,
    ) -> Result<(), ParseError> {
        let mut lines = Lines::new(input, FORMAT, &options.source);
        let mut out = Out::new(sink, &options.source);
        // The open record: its file, first line, and its lines so far.
        let mut record: Option<(String, u64)> = None;
        let mut pending: BTreeMap<u64, (Option<u64>, Option<Branches>)> = BTreeMap::new();
        while let Some(line) = lines.next_line()? {
            if line.cut {
                return Err(lines.error(
                    0,
                    ParseErrorKind::LimitExceeded("a line longer than 1 MiB".into()),
                ));
            }
            let text = String::from_utf8_lossy(&line.text);
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            if text == "end_of_record" {
                let Some((path, _)) = record.take() else {
                    return Err(lines.error(
                        1,
                        ParseErrorKind::Other(
                            "end_of_record without an SF: record before it".into(),
                        ),
                    ));
                };
                flush(&mut out, &path, &mut pending).map_err(|kind| lines.error(1, kind))?;
                continue;
            }
            let Some((key, value)) = text.split_once(':') else {
                return Err(lines.error(
                    1,
                    ParseErrorKind::NotThisFormat(format!(
                        "{:?} is not an lcov record (KEY:VALUE or end_of_record)",
                        text.chars().take(60).collect::<String>()
                    )),
                ));
            };
            let column = key.len() as u64 + 2;
            match key {
                "SF" => {
                    if let Some((path, _)) = &record {
                        return Err(lines.error(
                            1,
                            ParseErrorKind::Other(format!(
                                "SF: inside the record of {path:?}, which has no end_of_record"
                            )),
                        ));
                    }
                    if value.is_empty() {
                        return Err(
                            lines.error(column, ParseErrorKind::Other("an empty SF: path".into()))
                        );
                    }
                    // Checked here, where the error can point at it, not at end_of_record.
                    super::check_path(value).map_err(|k| lines.error(column, k))?;
                    record = Some((value.to_string(), line.number));
                }
                "DA" | "BRDA" if record.is_none() => {
                    return Err(lines.error(
                        1,
                        ParseErrorKind::Other(format!(
                            "{key}: outside a record (no SF: before it)"
                        )),
                    ));
                }
                "DA" => {
                    let mut fields = value.split(',');
                    let number = line_number(fields.next()).map_err(|k| lines.error(column, k))?;
                    let hits = fields.next().unwrap_or("").trim();
                    if let Some(negative) =
                        hits.strip_prefix('-').filter(|h| h.parse::<u64>().is_ok())
                    {
                        // lcov itself refuses it (its `negative` error, unless told to ignore
                        // it): a count gcov got wrong, which no reading of it can make right.
                        let path = record.as_ref().map_or("", |(path, _)| path.as_str());
                        let at = column + value.find(',').map_or(0, |c| c as u64 + 1);
                        return Err(lines.error(
                            at,
                            ParseErrorKind::Other(format!(
                                "a negative hit count -{negative} for line {number} of {path:?} \
                                 (lcov refuses it too: the counters raced or overflowed; gcc's \
                                 -fprofile-update=atomic avoids that)"
                            )),
                        ));
                    }
                    let hits = count(Some(hits)).map_err(|k| lines.error(column, k))?;
                    let entry = pending.entry(number).or_default();
                    entry.0 = Some(entry.0.unwrap_or(0).saturating_add(hits));
                }
                "BRDA" => {
                    let fields: Vec<&str> = value.split(',').collect();
                    if fields.len() < 4 {
                        return Err(lines.error(
                            column,
                            ParseErrorKind::Other("BRDA: needs line,block,branch,taken".into()),
                        ));
                    }
                    let number =
                        line_number(Some(fields[0])).map_err(|k| lines.error(column, k))?;
                    let taken = fields[fields.len() - 1].trim();
                    let taken = if taken == "-" {
                        0
                    } else {
                        count(Some(taken)).map_err(|k| lines.error(column, k))?
                    };
                    let branches = pending
                        .entry(number)
                        .or_default()
                        .1
                        .get_or_insert_with(Branches::default);
                    branches.total = branches.total.saturating_add(1);
                    if taken > 0 {
                        branches.covered = branches.covered.saturating_add(1);
                    }
                }
                _ => {}
            }
        }
        if let Some((path, start)) = record {
            return Err(ParseError {
                format: FORMAT,
                source_name: options.source.clone(),
                line: start,
                column: 1,
                path: None,
                kind: ParseErrorKind::Other(format!(
                    "the report ends inside the record of {path:?} (no end_of_record): it is truncated"
                )),
            });
        }
        Ok(())
    }
}

/// Hands a finished record's lines on. Branches without a `DA` line are left out (lcov counts
/// lines from `DA` only).
fn flush(
    out: &mut Out<'_>,
    path: &str,
    pending: &mut BTreeMap<u64, (Option<u64>, Option<Branches>)>,
) -> Result<(), ParseErrorKind> {
    out.file(path, false)?;
    for (number, (hits, branches)) in std::mem::take(pending) {
        if let Some(hits) = hits {
            out.line(number, hits, branches)?;
        }
    }
    Ok(())
}

/// A line number, refused early when no source file could have it (the record is held in
/// memory until its end).
fn line_number(field: Option<&str>) -> Result<u64, ParseErrorKind> {
    let number = count(field)?;
    if number > u64::from(MAX_LINE_NUMBER) {
        return Err(ParseErrorKind::LimitExceeded(format!(
            "line number {number}; a source file may have at most {MAX_LINE_NUMBER} lines"
        )));
    }
    Ok(number)
}

fn count(field: Option<&str>) -> Result<u64, ParseErrorKind> {
    let field = field.unwrap_or("").trim();
    field
        .parse::<u64>()
        .map_err(|_| ParseErrorKind::InvalidNumber(field.chars().take(40).collect()))
}
