//! JaCoCo's XML report.
//!
//! `<report><package name="org/x"><sourcefile name="X.java"><line nr="N" mi="…" ci="…" mb="…"
//! cb="…"/>…`, possibly inside `<group>`s. JaCoCo counts bytecode instructions, not executions: a
//! line with a covered instruction (`ci > 0`) has 1 hit, one with only missed instructions 0.
//! Branches are `cb` taken of `mb + cb`. Paths are the package directory and the file name,
//! relative to the source directory (`src/main/java`), as JaCoCo knows no more.

use std::io::BufRead;

use super::xml::{self, Element, Handler};
use super::{contains, Branches, CoverageFormat, CoverageSink, Out};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

const FORMAT: &str = "JaCoCo XML";

pub struct JaCoCo;

impl CoverageFormat for JaCoCo {
    fn name(&self) -> &'static str {
        "jacoco"
    }

    fn description(&self) -> &'static str {
        "JaCoCo XML report (jacoco:report, JaCoCo's report API)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        if !contains(head, b"<report") {
            return Confidence::NONE;
        }
        if contains(head, b"JACOCO") || contains(head, b"<sessioninfo") {
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
        let mut handler = Reader {
            out: Out::new(sink, &options.source),
            package: String::new(),
            in_file: false,
        };
        xml::run(input, FORMAT, &options.source, b"report", &mut handler)
    }
}

struct Reader<'s> {
    out: Out<'s>,
    package: String,
    in_file: bool,
}

impl Handler for Reader<'_> {
    fn start(&mut self, _stack: &[Vec<u8>], element: &Element<'_>) -> Result<(), ParseErrorKind> {
        match element.name() {
            b"package" => {
                let name = element.attr(b"name")?.unwrap_or_default();
                self.package = String::from_utf8_lossy(&name).into_owned();
            }
            b"sourcefile" => {
                let Some(name) = element.attr(b"name")? else {
                    return Err(ParseErrorKind::Other(
                        "a <sourcefile> without a name attribute".into(),
                    ));
                };
                let name = String::from_utf8_lossy(&name);
                let path = if self.package.is_empty() {
                    name.into_owned()
                } else {
                    format!("{}/{name}", self.package)
                };
                self.out.file(&path, false)?;
                self.in_file = true;
            }
            b"line" if self.in_file => {
                let Some(number) = element.number(b"nr")? else {
                    return Err(ParseErrorKind::Other(
                        "a <line> without an nr attribute".into(),
                    ));
                };
                let missed = element.number(b"mi")?.unwrap_or(0);
                let covered = element.number(b"ci")?.unwrap_or(0);
                let missed_branches = element.number(b"mb")?.unwrap_or(0);
                let covered_branches = element.number(b"cb")?.unwrap_or(0);
                if missed == 0 && covered == 0 {
                    return Ok(());
                }
                let total = missed_branches.saturating_add(covered_branches);
                let branches = (total > 0).then(|| Branches {
                    covered: u32::try_from(covered_branches).unwrap_or(u32::MAX),
                    total: u32::try_from(total).unwrap_or(u32::MAX),
                });
                self.out.line(number, u64::from(covered > 0), branches)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, stack: &[Vec<u8>]) -> Result<(), ParseErrorKind> {
        match stack.last().map(Vec::as_slice) {
            Some(b"sourcefile") => self.in_file = false,
            Some(b"package") => self.package.clear(),
            _ => {}
        }
        Ok(())
    }
}
