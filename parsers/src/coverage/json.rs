//! Streaming JSON for the coverage formats: serde visitors over `serde_json`'s reader, so that a
//! report is read one source file at a time and never held whole. Errors keep serde's line and
//! column; a limit or format error raised inside a visitor keeps its own kind.

use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde_json::error::Category;

use super::Out;
use crate::error::{ParseError, ParseErrorKind};

/// What the visitors share: where lines go, and the error that stopped them.
pub(super) struct Ctx<'s> {
    pub(super) out: Out<'s>,
    pub(super) failure: Option<ParseErrorKind>,
}

impl Ctx<'_> {
    /// Records `kind` and returns the serde error that stops the parse (at serde's place).
    pub(super) fn fail<E: de::Error>(&mut self, kind: ParseErrorKind) -> E {
        let message = kind.to_string();
        self.failure = Some(kind);
        E::custom(message)
    }
}

/// Reads one JSON document with `visitor`, then checks nothing follows it.
pub(super) fn run<V>(
    input: &mut dyn BufRead,
    format: &'static str,
    source: &str,
    ctx: &mut Ctx<'_>,
    visitor: V,
) -> Result<(), ParseError>
where
    V: for<'de> CtxVisitor<'de, Value = ()>,
{
    let mut de = serde_json::Deserializer::from_reader(input);
    let result = WithCtx {
        ctx: &mut *ctx,
        visitor,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    result.map_err(|err| error(format, source, err, ctx.failure.take()))
}

fn error(
    format: &'static str,
    source: &str,
    err: serde_json::Error,
    failure: Option<ParseErrorKind>,
) -> ParseError {
    let (line, column) = (err.line() as u64, err.column() as u64);
    let kind = match failure {
        Some(kind) => kind,
        None => match err.classify() {
            Category::Eof => ParseErrorKind::Truncated,
            Category::Io => ParseErrorKind::Io(std::io::Error::other(message(&err))),
            Category::Syntax => ParseErrorKind::Other(format!("invalid JSON: {}", message(&err))),
            Category::Data => ParseErrorKind::Other(message(&err)),
        },
    };
    ParseError {
        format,
        source_name: source.to_string(),
        line,
        column,
        path: None,
        kind,
    }
}

/// serde_json's message without the ` at line L column C` it appends.
fn message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A JSON array of numbers (and booleans) read into a fixed-size record, extra items skipped:
/// `[line, col, count, hasCount, isRegionEntry, isGapRegion]` and the like.
pub(super) struct Record<const N: usize>(pub(super) [u64; N], pub(super) usize);

impl<'de, const N: usize> de::Deserialize<'de> for Record<N> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RecordVisitor::<N>)
    }
}

struct RecordVisitor<const N: usize>;

/// A number or a boolean, as a count.
struct Item(u64);

impl<'de> de::Deserialize<'de> for Item {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or a boolean")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Item, E> {
                Ok(Item(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Item, E> {
                u64::try_from(v)
                    .map(Item)
                    .map_err(|_| E::custom(format!("a negative count {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Item, E> {
                if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
                    Ok(Item(v as u64))
                } else {
                    Err(E::custom(format!("{v} is not a count")))
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Item, E> {
                Ok(Item(u64::from(v)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de, const N: usize> Visitor<'de> for RecordVisitor<N> {
    type Value = Record<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of at least {N} numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Record<N>, A::Error> {
        let mut values = [0u64; N];
        let mut len = 0;
        while len < N {
            match seq.next_element::<Item>()? {
                Some(Item(v)) => {
                    values[len] = v;
                    len += 1;
                }
                None => return Ok(Record(values, len)),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Record(values, len))
    }
}

/// A seed that hands `ctx` to a map visitor built by `make`.
pub(super) struct WithCtx<'c, 's, V> {
    pub(super) ctx: &'c mut Ctx<'s>,
    pub(super) visitor: V,
}

/// A visitor that needs the shared context.
pub(super) trait CtxVisitor<'de> {
    type Value;
    fn expecting(&self) -> &'static str;
    fn visit_map<A: de::MapAccess<'de>>(
        self,
        ctx: &mut Ctx<'_>,
        map: A,
    ) -> Result<Self::Value, A::Error>;
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        _ctx: &mut Ctx<'_>,
        _seq: A,
    ) -> Result<Self::Value, A::Error>
    where
        Self: Sized,
    {
        Err(de::Error::custom(format!("expected {}", self.expecting())))
    }
}

impl<'de, V: CtxVisitor<'de>> DeserializeSeed<'de> for WithCtx<'_, '_, V> {
    type Value = V::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, V: CtxVisitor<'de>> Visitor<'de> for WithCtx<'_, '_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.visitor.expecting())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(self.ctx, map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(self.ctx, seq)
    }
}

/// An array read into a vector of at most [`super::MAX_LINE_NUMBER`] items (one per line of a
/// source file at most), so that a hostile array cannot take all memory.
pub(super) struct Capped<T>(pub(super) Vec<T>);

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped(Vec::new())
    }
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Capped<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Capped<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() >= super::MAX_LINE_NUMBER as usize {
                        return Err(de::Error::custom(format!(
                            "an array of more than {} items",
                            super::MAX_LINE_NUMBER
                        )));
                    }
                    items.push(item);
                }
                Ok(Capped(items))
            }
        }
        deserializer.deserialize_seq(V(std::marker::PhantomData))
    }
}
