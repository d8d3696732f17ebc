//! Escaping text from the data for HTML.

use std::fmt::{self, Display, Write};

/// Text from the data, escaped for HTML text and attribute values. Control characters other than
/// newline and tab are shown escaped (`\u{1b}`), as on a terminal.
pub(crate) fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

pub(crate) struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| {
            matches!(c, '&' | '<' | '>' | '"' | '\'') || (c.is_control() && c != '\n' && c != '\t')
        }) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c => write!(f, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// A test name, escaped, with places to break a long line after `.`, `/`, `:` and `[`.
pub(super) fn breakable(h: &mut String, text: &str) {
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '/' | ':' | '[') {
            let end = i + c.len_utf8();
            w!(h, "{}<wbr>", esc(&text[start..end]));
            start = end;
        }
    }
    w!(h, "{}", esc(&text[start..]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<script>alert('x' & \"y\")</script>\u{1b}[31m\nok").to_string(),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;\\u{1b}[31m\nok"
        );
    }
}
