//! The XML event loop the Cobertura and JaCoCo readers share: quick-xml over the JUnit reader's
//! bounded [`Input`] (encoding, `line:column`, a cap on any one piece of markup), a stack of open
//! element names for error paths, and errors that name the report and the place.

use std::io::BufRead;

use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{ParseError, ParseErrorKind};
use crate::xml_input::{self as input, Input, MarkupTooLong};

/// The longest tag, comment, text or declaration read.
const MARKUP_LIMIT: u64 = 4 * 1024 * 1024;
/// The deepest nesting of elements.
const DEPTH_LIMIT: usize = 64;

/// What a format does with the document's elements.
pub(super) trait Handler {
    /// An element opens; `stack` holds the names of the elements around it (outermost first),
    /// not its own.
    fn start(&mut self, stack: &[Vec<u8>], element: &Element<'_>) -> Result<(), ParseErrorKind>;
    /// The innermost open element closes; `stack` still holds it, last.
    fn end(&mut self, stack: &[Vec<u8>]) -> Result<(), ParseErrorKind>;
    /// Character data inside the innermost open element (references decoded).
    fn text(&mut self, _stack: &[Vec<u8>], _text: &[u8]) {}
}

/// An element's start tag, with its attributes decoded on request.
pub(super) struct Element<'e> {
    start: &'e BytesStart<'e>,
}

impl Element<'_> {
    pub(super) fn name(&self) -> &[u8] {
        self.start.local_name().into_inner()
    }

    /// The attribute's value, references decoded; `None` when absent.
    pub(super) fn attr(&self, name: &[u8]) -> Result<Option<Vec<u8>>, ParseErrorKind> {
        let mut attributes = self.start.attributes();
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|err| ParseErrorKind::Xml(err.to_string()))?;
            if attribute.key.local_name().as_ref() == name {
                let mut out = Vec::new();
                // An unknown entity is kept as written.
                let _ = input::unescape_attr(&attribute.value, &mut out);
                return Ok(Some(out));
            }
        }
        Ok(None)
    }

    /// A numeric attribute: a non-negative integer (Cobertura writers sometimes give `2.0`).
    pub(super) fn number(&self, name: &[u8]) -> Result<Option<u64>, ParseErrorKind> {
        match self.attr(name)? {
            None => Ok(None),
            Some(raw) => number(&raw).map(Some),
        }
    }
}

/// A non-negative count as XML attributes write it.
pub(super) fn number(raw: &[u8]) -> Result<u64, ParseErrorKind> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(f as u64),
        _ => Err(ParseErrorKind::InvalidNumber(
            text.chars().take(40).collect(),
        )),
    }
}

/// Reads the document, which must have the root element `root`.
pub(super) fn run(
    input: &mut dyn BufRead,
    format: &'static str,
    source: &str,
    root: &[u8],
    handler: &mut dyn Handler,
) -> Result<(), ParseError> {
    let error = |(line, column): (u64, u64), stack: &[Vec<u8>], kind: ParseErrorKind| ParseError {
        format,
        source_name: source.to_string(),
        line,
        column,
        path: path(stack),
        kind,
    };
    let (input, _) =
        Input::new(input).map_err(|err| error((0, 0), &[], ParseErrorKind::Io(err)))?;
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut root_seen = false;
    loop {
        let qx_before = reader.buffer_position();
        let at = reader.get_ref().offset();
        reader.get_mut().arm_limit(MARKUP_LIMIT);
        buf.clear();
        let event = reader.read_event_into(&mut buf);
        reader.get_mut().disarm_limit();
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                let input = reader.get_ref();
                let err_at = at + reader.error_position().saturating_sub(qx_before);
                let (place, kind) = match err {
                    quick_xml::Error::Io(err)
                        if err.get_ref().is_some_and(|e| e.is::<MarkupTooLong>()) =>
                    {
                        (
                            input.position_at(at),
                            ParseErrorKind::LimitExceeded(format!(
                                "a tag, text or declaration longer than {} MiB",
                                MARKUP_LIMIT >> 20
                            )),
                        )
                    }
                    quick_xml::Error::Io(err) => (
                        input.position(),
                        ParseErrorKind::Io(std::io::Error::new(err.kind(), err.to_string())),
                    ),
                    quick_xml::Error::Syntax(SyntaxError::InvalidBangMarkup) => (
                        input.position_at(err_at),
                        ParseErrorKind::Xml(err.to_string()),
                    ),
                    // Every other syntax error is the input ending inside a piece of markup.
                    quick_xml::Error::Syntax(_) => (input.position(), ParseErrorKind::Truncated),
                    err => (
                        input.position_at(err_at),
                        ParseErrorKind::Xml(err.to_string()),
                    ),
                };
                return Err(error(place, &stack, kind));
            }
        };
        let place = |reader: &Reader<Input<'_>>| reader.get_ref().position_at(at);
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                let element = Element { start };
                if stack.is_empty() {
                    if root_seen {
                        let kind = ParseErrorKind::Xml("a second root element".into());
                        return Err(error(place(&reader), &stack, kind));
                    }
                    if element.name() != root {
                        let kind = ParseErrorKind::NotThisFormat(format!(
                            "the root element is <{}>, not <{}>",
                            String::from_utf8_lossy(element.name()),
                            String::from_utf8_lossy(root)
                        ));
                        return Err(error(place(&reader), &stack, kind));
                    }
                    root_seen = true;
                }
                if stack.len() >= DEPTH_LIMIT {
                    let kind = ParseErrorKind::LimitExceeded(format!(
                        "elements nested deeper than {DEPTH_LIMIT}"
                    ));
                    return Err(error(place(&reader), &stack, kind));
                }
                handler
                    .start(&stack, &element)
                    .map_err(|kind| error(place(&reader), &stack, with_name(&element, kind)))?;
                stack.push(element.name().to_vec());
                if empty {
                    let ended = handler.end(&stack);
                    ended.map_err(|kind| error(place(&reader), &stack, kind))?;
                    stack.pop();
                }
            }
            Event::End(_) => {
                handler
                    .end(&stack)
                    .map_err(|kind| error(place(&reader), &stack, kind))?;
                stack.pop();
            }
            Event::Text(text) => {
                if stack.is_empty() {
                    if !text.iter().all(u8::is_ascii_whitespace) {
                        let kind = ParseErrorKind::Xml("text outside the root element".into());
                        return Err(error(place(&reader), &stack, kind));
                    }
                } else {
                    handler.text(&stack, &text);
                }
            }
            Event::CData(text) => {
                if !stack.is_empty() {
                    handler.text(&stack, &text);
                }
            }
            Event::GeneralRef(name) => {
                let mut decoded = [0u8; 4];
                match input::decode_reference(&name, &mut decoded) {
                    Some(bytes) => handler.text(&stack, bytes),
                    None => {
                        let mut kept = b"&".to_vec();
                        kept.extend_from_slice(&name);
                        kept.push(b';');
                        handler.text(&stack, &kept);
                    }
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => {
                let input = reader.get_ref();
                if !stack.is_empty() {
                    return Err(error(input.position(), &stack, ParseErrorKind::Truncated));
                }
                if !root_seen {
                    let kind = ParseErrorKind::NotThisFormat(format!(
                        "no <{}> element: the file is empty or not XML",
                        String::from_utf8_lossy(root)
                    ));
                    return Err(error(input.position(), &stack, kind));
                }
                return Ok(());
            }
        }
    }
}

/// Names the attribute's element in messages that come from its attributes.
fn with_name(element: &Element<'_>, kind: ParseErrorKind) -> ParseErrorKind {
    match kind {
        ParseErrorKind::InvalidNumber(n) => ParseErrorKind::Other(format!(
            "invalid number {n:?} in <{}>",
            String::from_utf8_lossy(element.name())
        )),
        kind => kind,
    }
}

fn path(stack: &[Vec<u8>]) -> Option<String> {
    if stack.is_empty() {
        return None;
    }
    let names: Vec<String> = stack
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    Some(names.join("/"))
}
