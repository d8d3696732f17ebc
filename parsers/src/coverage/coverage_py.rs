//! coverage.py's JSON report (`coverage json`).
//!
//! `{"meta": {...}, "files": {"path": {"executed_lines": [...], "missing_lines": [...],
//! "executed_branches": [[from, to], ...], "missing_branches": [...], ...}}, "totals": {...}}`.
//! coverage.py records whether a line ran, not how often: executed lines have 1 hit. A line's
//! branches are the arcs leaving it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;

use serde::de::{self, IgnoredAny, MapAccess};

use super::json::{self, Capped, Ctx, CtxVisitor, WithCtx};
use super::{contains, Branches, CoverageFormat, CoverageSink, Out};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

const FORMAT: &str = "coverage.py JSON";

pub struct CoveragePyJson;

impl CoverageFormat for CoveragePyJson {
    fn name(&self) -> &'static str {
        "coverage-py-json"
    }

    fn description(&self) -> &'static str {
        "coverage.py JSON report (coverage json)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        if !super::starts_with_trimmed(head, b"{") || !contains(head, b"\"files\"") {
            return Confidence::NONE;
        }
        if contains(head, b"\"executed_lines\"") || contains(head, b"\"show_contexts\"") {
            Confidence::HIGH
        } else {
            Confidence::LOW
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
        "a coverage.py JSON report (an object with \"meta\" and \"files\")"
    }

    fn visit_map<A: MapAccess<'de>>(self, ctx: &mut Ctx<'_>, mut map: A) -> Result<(), A::Error> {
        let mut files = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "files" {
                files = true;
                map.next_value_seed(WithCtx {
                    ctx: &mut *ctx,
                    visitor: Files,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !files {
            return Err(ctx.fail(ParseErrorKind::NotThisFormat(
                "no \"files\" object: not a coverage.py JSON report".into(),
            )));
        }
        Ok(())
    }
}

struct Files;

impl<'de> CtxVisitor<'de> for Files {
    type Value = ();

    fn expecting(&self) -> &'static str {
        "an object of source files"
    }

    fn visit_map<A: MapAccess<'de>>(self, ctx: &mut Ctx<'_>, mut map: A) -> Result<(), A::Error> {
        while let Some(path) = map.next_key::<String>()? {
            let file: FileData = map.next_value()?;
            file.emit(ctx, &path)?;
        }
        Ok(())
    }
}

/// One file's entry, as much of it as is read.
#[derive(Default)]
struct FileData {
    executed: Capped<u64>,
    missing: Capped<u64>,
    executed_branches: Capped<(i64, i64)>,
    missing_branches: Capped<(i64, i64)>,
}

impl<'de> de::Deserialize<'de> for FileData {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = FileData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a file's coverage (an object with \"executed_lines\")")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileData, A::Error> {
                let mut data = FileData::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "executed_lines" => data.executed = map.next_value()?,
                        "missing_lines" => data.missing = map.next_value()?,
                        "executed_branches" => data.executed_branches = map.next_value()?,
                        "missing_branches" => data.missing_branches = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(data)
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl FileData {
    fn emit<E: de::Error>(self, ctx: &mut Ctx<'_>, path: &str) -> Result<(), E> {
        let mut lines: BTreeMap<u64, (u64, Option<Branches>)> = BTreeMap::new();
        for line in self.missing.0 {
            lines.insert(line, (0, None));
        }
        for line in self.executed.0 {
            lines.insert(line, (1, None));
        }
        for (arcs, taken) in [
            (self.executed_branches.0, true),
            (self.missing_branches.0, false),
        ] {
            for (from, _) in arcs {
                let Some((_, branches)) = u64::try_from(from).ok().and_then(|f| lines.get_mut(&f))
                else {
                    continue;
                };
                let branches = branches.get_or_insert_with(Branches::default);
                branches.total = branches.total.saturating_add(1);
                if taken {
                    branches.covered = branches.covered.saturating_add(1);
                }
            }
        }
        if let Err(kind) = ctx.out.file(path, false) {
            return Err(ctx.fail(kind));
        }
        for (line, (hits, branches)) in lines {
            if let Err(kind) = ctx.out.line(line, hits, branches) {
                return Err(ctx.fail(kind));
            }
        }
        Ok(())
    }
}
