//! .NET's XML test reports: Visual Studio's TRX (`dotnet test --logger trx`, for MSTest, xUnit and
//! NUnit alike) and NUnit 3's own result XML (`nunit3-console --result`, `<test-run>`).
//!
//! Both are read through [`Doc`], a small element reader over [`crate::xml_input::Input`] (the
//! byte source JUnit's reader uses too: encodings, line counting, bounded markup and text, and
//! a stream that is not XML failing at its first byte). See `docs/parsers.md` for what each
//! format's identity, status and details are.

mod nunit;
#[cfg(test)]
mod tests;
mod trx;

use std::io::{self, BufRead};

use bstr::{BString, ByteSlice};
use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{ParseError, ParseErrorKind};
use crate::xml_input::{self, Bounded, Input, MarkupTooLong, TextEnd, TextIssues, TextSink};

pub use nunit::NUnit;
pub use trx::Trx;

/// The most bytes one tag, comment or DOCTYPE may take.
const MARKUP_LIMIT: u64 = 4 * 1024 * 1024;
/// The deepest nesting of elements read.
const DEPTH_LIMIT: usize = 256;
/// The most text kept of one message, stack trace or output.
const TEXT_LIMIT: usize = 64 * 1024;

/// What [`Doc::next`] found.
pub(crate) enum Node {
    /// An element starts (an empty element is a start and then an end): its local name and its
    /// attributes (local names, values unescaped).
    Start(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>),
    /// The innermost open element ends.
    End,
    /// The document ended, every element closed.
    Eof,
}

/// Elements of an XML report, one after another, with their place for errors.
pub(crate) struct Doc<'a> {
    reader: Reader<Input<'a>>,
    buf: Vec<u8>,
    issues: TextIssues,
    format: &'static str,
    source: &'a str,
    /// The local names of the open elements, outermost first.
    open: Vec<Vec<u8>>,
    /// The last start was an empty element: its end comes next.
    empty_pending: bool,
    root_seen: bool,
}

impl<'a> Doc<'a> {
    /// Starts reading; also returns a warning about the encoding, if there is one.
    pub(crate) fn new(
        input: &'a mut dyn BufRead,
        format: &'static str,
        source: &'a str,
    ) -> Result<(Doc<'a>, Option<String>), ParseError> {
        let (input, warning) = Input::new(input).map_err(|err| ParseError {
            format,
            source_name: source.to_owned(),
            line: 1,
            column: 1,
            path: None,
            kind: ParseErrorKind::Io(err),
        })?;
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        let doc = Doc {
            reader,
            buf: Vec::new(),
            issues: TextIssues::default(),
            format,
            source,
            open: Vec::new(),
            empty_pending: false,
            root_seen: false,
        };
        Ok((doc, warning))
    }

    /// How many elements are open.
    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    /// The local name of the element `up` levels above the innermost open one (0: that one).
    pub(crate) fn open_name(&self, up: usize) -> &[u8] {
        self.open
            .len()
            .checked_sub(up + 1)
            .map_or(&b""[..], |at| &self.open[at])
    }

    /// The next start or end of an element. Character data before it goes to `text` when given
    /// (at most [`TEXT_LIMIT`] bytes kept); outside the root element only white space may come.
    pub(crate) fn next(&mut self, mut text: Option<&mut Bounded>) -> Result<Node, ParseError> {
        if std::mem::take(&mut self.empty_pending) {
            self.open.pop();
            return Ok(Node::End);
        }
        loop {
            self.text(text.as_deref_mut())?;
            let before = self.reader.buffer_position();
            let at = self.reader.get_ref().offset();
            self.reader.get_mut().arm_limit(MARKUP_LIMIT);
            self.buf.clear();
            let event = self.reader.read_event_into(&mut self.buf);
            self.reader.get_mut().disarm_limit();
            let event = match event {
                Ok(event) => event.into_owned(),
                Err(err) => {
                    let err_at = at + self.reader.error_position().saturating_sub(before);
                    return Err(self.xml_error(err, at, err_at));
                }
            };
            match event {
                Event::Start(start) => return self.start(&start, at),
                Event::Empty(start) => {
                    let node = self.start(&start, at)?;
                    self.empty_pending = true;
                    return Ok(node);
                }
                Event::End(_) => {
                    self.open.pop();
                    return Ok(Node::End);
                }
                Event::Eof => {
                    if !self.open.is_empty() {
                        return Err(self.error_here(ParseErrorKind::Truncated));
                    }
                    if !self.root_seen {
                        let text = if self.reader.get_ref().offset() == 0 {
                            "the report is empty"
                        } else {
                            "the report is empty: it holds no XML element"
                        };
                        return Err(self.error_here(ParseErrorKind::Other(text.into())));
                    }
                    return Ok(Node::Eof);
                }
                // Character data is read by `text` (quick-xml hands out none but entity
                // references it could not place, which only occur inside elements); the prolog
                // and comments are skipped.
                _ => {}
            }
        }
    }

    /// Reads the text inside the element that just started, to its end (nested elements' text
    /// included), into `out`.
    pub(crate) fn read_text(&mut self, out: &mut Bounded) -> Result<(), ParseError> {
        let depth = self.open.len();
        loop {
            match self.next(Some(out))? {
                Node::End if self.open.len() < depth => return Ok(()),
                Node::Eof => return Err(self.error_here(ParseErrorKind::Truncated)),
                _ => {}
            }
        }
    }

    /// Skips the rest of the element that just started.
    pub(crate) fn skip(&mut self) -> Result<(), ParseError> {
        let depth = self.open.len();
        loop {
            match self.next(None)? {
                Node::End if self.open.len() < depth => return Ok(()),
                Node::Eof => return Err(self.error_here(ParseErrorKind::Truncated)),
                _ => {}
            }
        }
    }

    fn text(&mut self, keep: Option<&mut Bounded>) -> Result<(), ParseError> {
        let input = self.reader.get_mut();
        let start = input.offset();
        let mut outside = false;
        let mut sink = match keep {
            _ if self.open.is_empty() => TextSink::Check(&mut outside),
            Some(bounded) => TextSink::Keep(bounded, TEXT_LIMIT),
            None => TextSink::Discard,
        };
        let end = input.text(&mut sink, &mut self.issues);
        let end = end.map_err(|err| self.error_here(ParseErrorKind::Io(err)))?;
        // Unknown entities and bare `&` are kept as written, without a word.
        self.issues = TextIssues::default();
        if outside {
            let at = if end == TextEnd::Stray {
                self.reader.get_ref().offset()
            } else {
                start
            };
            let kind = if self.root_seen {
                ParseErrorKind::Xml("text after the root element".into())
            } else {
                ParseErrorKind::NotThisFormat(
                    "not XML: the report starts with text, not an element".into(),
                )
            };
            return Err(self.error_at(at, None, kind));
        }
        if end == TextEnd::UnclosedCdata {
            return Err(self.error_here(ParseErrorKind::Truncated));
        }
        Ok(())
    }

    fn start(&mut self, element: &BytesStart<'_>, at: u64) -> Result<Node, ParseError> {
        if self.open.len() >= DEPTH_LIMIT {
            let kind = ParseErrorKind::LimitExceeded(format!(
                "elements are nested more than {DEPTH_LIMIT} deep"
            ));
            return Err(self.error_at(at, self.path(), kind));
        }
        let name = element.local_name().as_ref().to_vec();
        if self.open.is_empty() {
            if self.root_seen {
                let kind = ParseErrorKind::Xml(format!(
                    "a second root element <{}> after the first one ended",
                    name.as_bstr()
                ));
                return Err(self.error_at(at, None, kind));
            }
            self.root_seen = true;
        }
        let mut attributes = Vec::new();
        let mut value = Vec::new();
        let mut all = element.attributes();
        all.with_checks(false);
        for attribute in all {
            let attribute = attribute.map_err(|err| {
                self.error_at(at, self.path(), ParseErrorKind::Xml(err.to_string()))
            })?;
            xml_input::unescape_attr(&attribute.value, &mut value);
            let key = attribute.key.local_name().as_ref().to_vec();
            attributes.push((key, std::mem::take(&mut value)));
        }
        self.open.push(name.clone());
        Ok(Node::Start(name, attributes))
    }

    /// The open elements, like `TestRun/Results/UnitTestResult`.
    fn path(&self) -> Option<String> {
        if self.open.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .open
            .iter()
            .map(|name| name.to_str_lossy().into_owned())
            .collect();
        Some(names.join("/"))
    }

    /// An error at the current position, in the open elements.
    pub(crate) fn error_here(&self, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.reader.get_ref().position();
        self.error_with(line, column, self.path(), kind)
    }

    fn error_at(&self, at: u64, path: Option<String>, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.reader.get_ref().position_at(at);
        self.error_with(line, column, path, kind)
    }

    fn error_with(
        &self,
        line: u64,
        column: u64,
        path: Option<String>,
        kind: ParseErrorKind,
    ) -> ParseError {
        ParseError {
            format: self.format,
            source_name: self.source.to_owned(),
            line,
            column,
            path,
            kind,
        }
    }

    /// Maps a quick-xml error; `at` is where the failing event started, `err_at` where quick-xml
    /// places the error.
    fn xml_error(&self, err: quick_xml::Error, at: u64, err_at: u64) -> ParseError {
        match err {
            quick_xml::Error::Io(err) => {
                if err
                    .get_ref()
                    .is_some_and(|inner| inner.is::<MarkupTooLong>())
                {
                    let kind = ParseErrorKind::LimitExceeded(format!(
                        "a tag, comment or declaration longer than {} MiB",
                        MARKUP_LIMIT >> 20
                    ));
                    self.error_at(at, self.path(), kind)
                } else {
                    let err = io::Error::new(err.kind(), err.to_string());
                    self.error_here(ParseErrorKind::Io(err))
                }
            }
            quick_xml::Error::Syntax(SyntaxError::InvalidBangMarkup) => {
                self.error_at(err_at, self.path(), ParseErrorKind::Xml(err.to_string()))
            }
            // Every other syntax error is the input ending inside a piece of markup.
            quick_xml::Error::Syntax(_) => self.error_here(ParseErrorKind::Truncated),
            err => self.error_at(err_at, self.path(), ParseErrorKind::Xml(err.to_string())),
        }
    }
}

/// The value of attribute `key`, if present.
pub(crate) fn attribute<'v>(attributes: &'v [(Vec<u8>, Vec<u8>)], key: &[u8]) -> Option<&'v [u8]> {
    attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

/// Kept text, trimmed, or `None` when blank.
pub(crate) fn kept(text: &Bounded) -> Option<BString> {
    if text.is_blank() {
        return None;
    }
    Some(BString::from(lines(text).trim()))
}

/// Kept text with Windows line ends (written as `&#xD;` references, so not normalised by the
/// XML reader) made `\n`.
pub(crate) fn lines(text: &Bounded) -> Vec<u8> {
    text.to_text().replace(b"\r\n", b"\n")
}

/// `classname.name`, or `name` alone where it already starts with `classname.` (as xUnit's and
/// NUnit's adapters write it) or there is no class: the JUnit identity of the same test.
pub(crate) fn identity(classname: &[u8], name: &[u8]) -> BString {
    if classname.is_empty()
        || (name.starts_with(classname) && name.get(classname.len()) == Some(&b'.'))
    {
        return BString::from(name);
    }
    let mut id = classname.to_vec();
    id.push(b'.');
    id.extend_from_slice(name);
    BString::from(id)
}
