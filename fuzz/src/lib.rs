//! What the fuzz targets share: feeding bytes through a parser with the `Collector`, in chunks of
//! a size the input chooses, and checking what must hold for any input.

use std::io::{self, BufRead, Read};

use probtrack_parsers::{collect, Format, ParseOptions};

/// A reader that hands out at most `chunk` bytes at a time, so that the parsers' buffer
/// boundaries (a CDATA end, a reference, a line end split across reads) are exercised.
pub struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl<'a> Chunked<'a> {
    pub fn new(data: &'a [u8], chunk: usize) -> Self {
        Chunked {
            data,
            chunk: chunk.max(1),
        }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(self.chunk).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let n = self.data.len().min(self.chunk);
        Ok(&self.data[..n])
    }

    fn consume(&mut self, n: usize) {
        self.data = &self.data[n.min(self.data.len())..];
    }
}

/// The read chunk size for an input, chosen from its content so that a saved input reproduces:
/// a third of the inputs are read whole, the rest 1 to 64 bytes at a time. (Consuming a byte of the
/// input for it would spoil seeds taken from real reports.)
pub fn chunk_for(data: &[u8]) -> usize {
    if data.len().is_multiple_of(3) {
        return usize::MAX;
    }
    let sum = data
        .iter()
        .fold(0u32, |sum, &b| sum.wrapping_add(u32::from(b)));
    1 + (sum % 64) as usize
}

/// Parses `report` with `format` and checks the results: every result ran at least once, has a
/// finite non-negative duration if any, and a non-empty identity; errors render.
pub fn check(format: &dyn Format, chunk: usize, report: &[u8]) {
    let options = ParseOptions::new("fuzz");
    let mut input = Chunked::new(report, chunk);
    match collect(format, &mut input, &options) {
        Ok(collected) => {
            for result in &collected.results {
                assert!(result.attempts >= 1, "{result:?}");
                assert!(!result.test.is_empty(), "{result:?}");
                if let Some(duration) = result.duration {
                    assert!(duration.is_finite() && duration >= 0.0, "{result:?}");
                }
            }
            let bound = match format.name() {
                // Every result is a `<testcase>` or a suite's `<failure>`/`<error>`.
                "junit" => count(report, b'<'),
                // Every result is named on a line of its own.
                "trial" => count(report, b'\n') + 1,
                // A diagnostic is a line, or an object in a JSON array; a go test, TAP, libtest
                // or unittest result is named on a line.
                _ => count(report, b'\n') + 1 + count(report, b'{'),
            };
            assert!(
                collected.results.len() <= bound,
                "{} results from {} bytes",
                collected.results.len(),
                report.len()
            );
            for warning in &collected.warnings {
                assert!(warning.starts_with("fuzz"), "{warning}");
            }
        }
        Err(err) => {
            let text = err.to_string();
            assert!(text.starts_with("failed to parse "), "{text}");
        }
    }
}

fn count(bytes: &[u8], byte: u8) -> usize {
    bytes.iter().filter(|&&b| b == byte).count()
}

/// Parses `data` with every metric format (as `detect` would offer them) and checks what must
/// hold: a metric has a name and a finite value, its identity reads back, errors render.
pub fn check_metrics(chunk: usize, data: &[u8]) {
    use probtrack_parsers::metrics::{self, Series};
    // A path in Criterion's layout, so that estimates.json files are read, not refused by name.
    let options = ParseOptions::new("target/criterion/fuzz/new/estimates.json");
    let head = &data[..data.len().min(probtrack_parsers::SNIFF_LEN)];
    let _ = metrics::detect(head, &options);
    for format in metrics::registry() {
        format.sniff(head, &options);
        match metrics::collect(*format, &mut Chunked::new(data, chunk), &options) {
            Ok(collected) => {
                for m in &collected.metrics {
                    assert!(!m.series.name.trim().is_empty(), "{m:?}");
                    assert!(m.value.is_finite(), "{m:?}");
                    let text = m.series.to_string();
                    assert_eq!(text.parse::<Series>().as_ref(), Ok(&m.series), "{text}");
                }
            }
            Err(err) => {
                let text = err.to_string();
                assert!(text.starts_with("failed to parse "), "{text}");
            }
        }
    }
}

/// Parses `data` with every coverage format (as `detect` would offer them) and checks what must
/// hold: every line is numbered 1 to the limit, takes no more branches than it has, sits in a
/// file with a non-empty path; errors render and name the report.
pub fn check_coverage(chunk: usize, data: &[u8]) {
    use probtrack_parsers::coverage::{self, MAX_LINE_NUMBER};
    let head = &data[..data.len().min(probtrack_parsers::SNIFF_LEN)];
    let _ = coverage::detect(head);
    let mut options = ParseOptions::new("fuzz");
    for root in [None, Some("/build/calc".to_string())] {
        options.source_root = root;
        for format in coverage::registry() {
            format.sniff(head);
            match coverage::collect(*format, &mut Chunked::new(data, chunk), &options) {
                Ok(found) => {
                    for file in &found.files {
                        assert!(!file.path.is_empty(), "{file:?}");
                        for (&line, coverage) in &file.lines {
                            assert!((1..=MAX_LINE_NUMBER).contains(&line), "{line}");
                            if let Some(b) = coverage.branches {
                                assert!(b.covered <= b.total, "{b:?}");
                            }
                        }
                    }
                }
                Err(err) => {
                    let text = err.to_string();
                    assert!(text.starts_with("failed to parse "), "{text}");
                    assert!(text.contains(" at fuzz"), "{text}");
                }
            }
        }
    }
}
