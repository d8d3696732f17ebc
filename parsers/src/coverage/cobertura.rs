//! Cobertura XML, as gcovr, coverage.py, Istanbul, .NET's coverlet and others write it.
//!
//! `<coverage><sources><source>DIR</source></sources><packages><package><classes>
//! <class filename="…"><lines><line number="N" hits="H" branch="true"
//! condition-coverage="50% (1/2)"/>…`. The lines under `<methods>` repeat those of the class and
//! are skipped. A relative `filename` is joined to the first `<source>`.

use std::io::BufRead;

use super::xml::{self, Element, Handler};
use super::{contains, paths, Branches, CoverageFormat, CoverageSink, Out, MAX_PATH_LEN};
use crate::error::{ParseError, ParseErrorKind};
use crate::format::{Confidence, ParseOptions};

const FORMAT: &str = "Cobertura XML";

pub struct Cobertura;

impl CoverageFormat for Cobertura {
    fn name(&self) -> &'static str {
        "cobertura"
    }

    fn description(&self) -> &'static str {
        "Cobertura XML (gcovr --cobertura, coverage xml, Istanbul, coverlet)"
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        if !contains(head, b"<coverage") {
            return Confidence::NONE;
        }
        if contains(head, b"line-rate=")
            || contains(head, b"lines-valid=")
            || contains(head, b"cobertura")
        {
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
            source_dir: None,
            text: Vec::new(),
            in_class: false,
        };
        xml::run(input, FORMAT, &options.source, b"coverage", &mut handler)
    }
}

struct Reader<'s> {
    out: Out<'s>,
    /// The first `<source>`.
    source_dir: Option<String>,
    text: Vec<u8>,
    in_class: bool,
}

impl Handler for Reader<'_> {
    fn start(&mut self, stack: &[Vec<u8>], element: &Element<'_>) -> Result<(), ParseErrorKind> {
        match element.name() {
            b"source" => self.text.clear(),
            b"class" => {
                let Some(filename) = element.attr(b"filename")? else {
                    return Err(ParseErrorKind::Other(
                        "a <class> without a filename attribute".into(),
                    ));
                };
                let filename = String::from_utf8_lossy(&filename);
                let path = match &self.source_dir {
                    Some(dir) => paths::join(dir, &filename),
                    None => filename.into_owned(),
                };
                self.out.file(&path, false)?;
                self.in_class = true;
            }
            b"line" if self.in_class && stack.last().is_some_and(|p| p == b"lines") => {
                // Lines under <methods> repeat the class's own.
                if stack.iter().any(|n| n == b"methods") {
                    return Ok(());
                }
                let Some(number) = element.number(b"number")? else {
                    return Err(ParseErrorKind::Other(
                        "a <line> without a number attribute".into(),
                    ));
                };
                let hits = element.number(b"hits")?.unwrap_or(0);
                let branches = match element.attr(b"condition-coverage")? {
                    Some(raw) => Some(condition_coverage(&raw)?),
                    None => None,
                };
                self.out.line(number, hits, branches)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, stack: &[Vec<u8>]) -> Result<(), ParseErrorKind> {
        match stack.last().map(Vec::as_slice) {
            Some(b"source") if self.source_dir.is_none() => {
                let text = String::from_utf8_lossy(&self.text);
                let text = text.trim();
                if !text.is_empty() {
                    self.source_dir = Some(text.to_string());
                }
            }
            Some(b"class") => self.in_class = false,
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, stack: &[Vec<u8>], text: &[u8]) {
        if stack.last().is_some_and(|n| n == b"source") && self.text.len() <= MAX_PATH_LEN {
            self.text.extend_from_slice(text);
        }
    }
}

/// `50% (1/2)`: the counts in parentheses.
fn condition_coverage(raw: &[u8]) -> Result<Branches, ParseErrorKind> {
    let text = String::from_utf8_lossy(raw);
    let bad = || {
        ParseErrorKind::Other(format!(
            "condition-coverage {:?} is not of the form \"50% (1/2)\"",
            text.chars().take(40).collect::<String>()
        ))
    };
    let inner = text
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or_else(bad)?;
    let (covered, total) = inner.split_once('/').ok_or_else(bad)?;
    let covered: u32 = covered.trim().parse().map_err(|_| bad())?;
    let total: u32 = total.trim().parse().map_err(|_| bad())?;
    if covered > total {
        return Err(bad());
    }
    Ok(Branches { covered, total })
}
