//! llvm-cov's JSON export (`llvm-cov export -format=text`, and `cargo llvm-cov --json`).
//!
//! `{"data": [{"files": [{"filename": …, "segments": [[line, col, count, hasCount,
//! isRegionEntry, isGapRegion], …], "branches": [[line, col, endLine, endCol, trueCount,
//! falseCount, …], …]}, …], "functions": […]}], "type": "llvm.coverage.json.export"}`.
//! Lines come from the segments the way llvm-cov itself derives them (its `LineCoverageStats`,
//! which its lcov export also uses): a line is mapped when a region starts on it or a counted
//! region runs through it, and its count is the largest of those. Each branch is two outcomes.
//! The functions, expansions and summaries are read past.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::de::{IgnoredAny, MapAccess, SeqAccess};

use super::json::{self, Capped, Ctx, CtxVisitor, Record, WithCtx};
use super::{contains, Branches, CoverageFormat, CoverageSink, Out, MAX_LINE_NUMBER};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

const FORMAT: &str = "llvm-cov JSON";
const EXPORT_TYPE: &str = "llvm.coverage.json.export";

pub struct LlvmCovJson;

impl CoverageFormat for LlvmCovJson {
    fn name(&self) -> &'static str {
        "llvm-cov-json"
    }

    fn description(&self) -> &'static str {
        "llvm-cov export JSON (llvm-cov export -format=text, cargo llvm-cov --json)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        if !super::starts_with_trimmed(head, b"{") {
            return Confidence::NONE;
        }
        if contains(head, EXPORT_TYPE.as_bytes()) {
            Confidence::HIGH
        } else if contains(head, b"\"segments\"") && contains(head, b"\"data\"") {
            Confidence::MEDIUM
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
        let mut ctx = Ctx {
            out: Out::new(sink, &options.source),
            failure: None,
        };
        json::run(input, FORMAT, &options.source, &mut ctx, Top)
    }
}

struct Top;

impl<'de> CtxVisitor<'de> for Top {
    type Value = ();

    fn expecting(&self) -> &'static str {
        "an llvm-cov export (an object with \"data\" and \"type\")"
    }

    fn visit_map<A: MapAccess<'de>>(self, ctx: &mut Ctx<'_>, mut map: A) -> Result<(), A::Error> {
        let mut kind: Option<String> = None;
        let mut data = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data" => {
                    data = true;
                    map.next_value_seed(WithCtx {
                        ctx: &mut *ctx,
                        visitor: Exports,
                    })?;
                }
                "type" => kind = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match kind {
            Some(kind) if kind == EXPORT_TYPE && data => Ok(()),
            Some(kind) if kind != EXPORT_TYPE => {
                Err(ctx.fail(ParseErrorKind::NotThisFormat(format!(
                    "the export's type is {:?}, not {EXPORT_TYPE:?}",
                    kind.chars().take(60).collect::<String>()
                ))))
            }
            _ => Err(ctx.fail(ParseErrorKind::NotThisFormat(format!(
                "no \"data\" array or no \"type\": {EXPORT_TYPE:?}: not an llvm-cov export"
            )))),
        }
    }
}

/// `data`: one export per object file set.
struct Exports;

impl<'de> CtxVisitor<'de> for Exports {
    type Value = ();

    fn expecting(&self) -> &'static str {
        "an array of exports"
    }

    fn visit_map<A: MapAccess<'de>>(self, _ctx: &mut Ctx<'_>, _map: A) -> Result<(), A::Error> {
        Err(serde::de::Error::custom("\"data\" must be an array"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, ctx: &mut Ctx<'_>, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(WithCtx {
                ctx: &mut *ctx,
                visitor: Export,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct Export;

impl<'de> CtxVisitor<'de> for Export {
    type Value = ();

    fn expecting(&self) -> &'static str {
        "an export (an object with \"files\")"
    }

    fn visit_map<A: MapAccess<'de>>(self, ctx: &mut Ctx<'_>, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "files" {
                map.next_value_seed(WithCtx {
                    ctx: &mut *ctx,
                    visitor: Files,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Files;

impl<'de> CtxVisitor<'de> for Files {
    type Value = ();

    fn expecting(&self) -> &'static str {
        "an array of files"
    }

    fn visit_map<A: MapAccess<'de>>(self, _ctx: &mut Ctx<'_>, _map: A) -> Result<(), A::Error> {
        Err(serde::de::Error::custom("\"files\" must be an array"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, ctx: &mut Ctx<'_>, mut seq: A) -> Result<(), A::Error> {
        while let Some(file) = seq.next_element::<FileData>()? {
            file.emit(ctx)?;
        }
        Ok(())
    }
}

#[derive(Default, serde::Deserialize)]
struct FileData {
    filename: Option<String>,
    #[serde(default)]
    segments: Capped<Record<6>>,
    #[serde(default)]
    branches: Capped<Record<6>>,
}

/// One segment: where a region starts or ends, and the count from there on.
#[derive(Clone, Copy)]
struct Segment {
    line: u64,
    count: u64,
    has_count: bool,
    region_entry: bool,
    gap: bool,
}

impl FileData {
    fn emit<E: serde::de::Error>(self, ctx: &mut Ctx<'_>) -> Result<(), E> {
        let Some(filename) = self.filename else {
            return Err(ctx.fail(ParseErrorKind::Other(
                "a file without a \"filename\"".into(),
            )));
        };
        let mut segments = Vec::with_capacity(self.segments.0.len());
        for Record(v, len) in self.segments.0 {
            if len < 5 {
                return Err(ctx.fail(ParseErrorKind::Other(format!(
                    "a segment of {len} items in {filename:?}; at least 5 are needed"
                ))));
            }
            segments.push(Segment {
                line: v[0],
                count: v[2],
                has_count: v[3] != 0,
                region_entry: v[4] != 0,
                gap: len > 5 && v[5] != 0,
            });
        }
        let mut branches: BTreeMap<u64, Branches> = BTreeMap::new();
        for Record(v, len) in self.branches.0 {
            if len < 6 {
                return Err(ctx.fail(ParseErrorKind::Other(format!(
                    "a branch of {len} items in {filename:?}; at least 6 are needed"
                ))));
            }
            let entry = branches.entry(v[0]).or_default();
            entry.total = entry.total.saturating_add(2);
            entry.covered = entry
                .covered
                .saturating_add(u32::from(v[4] > 0) + u32::from(v[5] > 0));
        }
        if let Err(kind) = ctx.out.file(&filename, false) {
            return Err(ctx.fail(kind));
        }
        let mut failure = None;
        let result = line_counts(&segments, |line, count| {
            if let Err(kind) = ctx.out.line(line, count, branches.get(&line).copied()) {
                failure = Some(kind);
                return false;
            }
            true
        });
        if let Err(kind) = result {
            return Err(ctx.fail(kind));
        }
        if let Some(kind) = failure {
            return Err(ctx.fail(kind));
        }
        Ok(())
    }
}

/// llvm-cov's per-line counts from a file's segments (sorted by position), handed to `emit`
/// line by line until it returns false. Lines no counted region runs through are skipped
/// without being visited one by one.
fn line_counts(
    segments: &[Segment],
    mut emit: impl FnMut(u64, u64) -> bool,
) -> Result<(), ParseErrorKind> {
    let Some(first) = segments.first() else {
        return Ok(());
    };
    // Refuse impossible line numbers before walking towards them.
    if let Some(s) = segments
        .iter()
        .find(|s| s.line > u64::from(MAX_LINE_NUMBER))
    {
        return Err(ParseErrorKind::LimitExceeded(format!(
            "line number {}; a source file may have at most {MAX_LINE_NUMBER} lines",
            s.line
        )));
    }
    let is_start = |s: &Segment| !s.gap && s.has_count && s.region_entry;
    let mut wrapped: Option<Segment> = None;
    let mut line = first.line;
    let mut i = 0;
    while i < segments.len() {
        if segments[i].line < line {
            return Err(ParseErrorKind::Other(format!(
                "segments out of order: line {} after line {line}",
                segments[i].line
            )));
        }
        if line > u64::from(MAX_LINE_NUMBER) {
            return Err(ParseErrorKind::LimitExceeded(format!(
                "line number {line}; a source file may have at most {MAX_LINE_NUMBER} lines"
            )));
        }
        let start = i;
        while i < segments.len() && segments[i].line == line {
            i += 1;
        }
        let on_line = &segments[start..i];
        let starts = on_line.iter().filter(|s| is_start(s)).count();
        let skipped = on_line
            .first()
            .is_some_and(|s| !s.has_count && s.region_entry);
        let mapped = !skipped && (wrapped.is_some_and(|w| w.has_count) || starts > 0);
        if mapped {
            let mut count = wrapped.map_or(0, |w| w.count);
            for s in on_line.iter().filter(|s| is_start(s)) {
                count = count.max(s.count);
            }
            if !emit(line, count) {
                return Ok(());
            }
        }
        if let Some(last) = on_line.last() {
            wrapped = Some(*last);
        }
        line += 1;
        // Nothing counted runs through the lines up to the next segment: jump there.
        if i < segments.len() && !wrapped.is_some_and(|w| w.has_count) {
            line = line.max(segments[i].line);
        }
    }
    Ok(())
}
