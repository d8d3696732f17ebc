//! Inputs no tool writes, through every metric format: arbitrary bytes, mutated fixtures, deep
//! nesting, huge documents and endless lines. Each must end in metrics or a clear
//! `ParseError` that names the file, never a panic, a hang or unbounded memory (a huge input is
//! refused at its size limit, not held).

use std::io::{self, BufRead, Read};

use proptest::prelude::*;

use super::json::{MAX_BYTES, MAX_DEPTH};
use super::*;
use crate::error::ParseErrorKind;
use crate::format::ParseOptions;
use crate::robustness_tests::Chunked;

fn options() -> ParseOptions {
    ParseOptions::new("target/criterion/x/new/estimates.json")
}

/// Every metric format over `data`, read `chunk` bytes at a time: a result or an error that
/// names the source; every metric has a name, a finite value and sane rounds.
fn check_all(data: &[u8], chunk: usize) {
    for format in registry() {
        format.sniff(
            &data[..data.len().min(crate::format::SNIFF_LEN)],
            &options(),
        );
        match collect(*format, &mut Chunked::new(data, chunk), &options()) {
            Ok(collected) => {
                for m in &collected.metrics {
                    assert!(!m.series.name.trim().is_empty(), "{}: {m:?}", format.name());
                    assert!(m.value.is_finite(), "{}: {m:?}", format.name());
                    assert!(m.spread.samples.len() <= MAX_SAMPLES);
                    let text = m.series.to_string();
                    assert_eq!(text.parse::<Series>().as_ref(), Ok(&m.series));
                }
            }
            Err(err) => {
                let text = err.to_string();
                assert!(
                    text.contains("target/criterion/x/new/estimates.json"),
                    "{text}"
                );
            }
        }
    }
}

/// Fragments the metric formats are made of, to build inputs that get past the first bytes.
const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\"benchmarks\"",
    "\"results\"",
    "\"metrics\"",
    "\"name\"",
    "\"run_name\"",
    "\"real_time\"",
    "\"cpu_time\"",
    "\"time_unit\"",
    "\"ns\"",
    "\"run_type\"",
    "\"aggregate\"",
    "\"aggregate_name\"",
    "\"median\"",
    "\"stats\"",
    "\"data\"",
    "\"params\"",
    "\"fullname\"",
    "\"command\"",
    "\"times\"",
    "\"parameters\"",
    "\"value\"",
    "\"samples\"",
    "\"unit\"",
    "\"direction\"",
    "\"reason\"",
    "\"benchmark-complete\"",
    "\"id\"",
    "\"iteration_count\"",
    "\"measured_values\"",
    "\"point_estimate\"",
    "\"mean\"",
    "\"std_dev\"",
    "1",
    "-2.5e3",
    "NaN",
    "-Infinity",
    "1e999",
    "null",
    "true",
    "\"x{y=z}\"",
    "\\u00e9",
    "\n",
    "BenchmarkA-8 ",
    "10 ",
    "12.5 ns/op ",
    "3 B/op ",
    "pkg: p\n",
    "size 12 MB\n",
    "# c\n",
    " ",
    "\t",
    "é",
    "\u{0}",
    "{a=1}",
    "\\",
    "=",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512), chunk in 1usize..40) {
        check_all(&data, chunk);
    }

    #[test]
    fn arbitrary_fragments_never_panic(pieces in prop::collection::vec(prop::sample::select(PIECES), 0..80), chunk in 1usize..40) {
        let data: String = pieces.concat();
        check_all(data.as_bytes(), chunk);
    }

    #[test]
    fn series_identities_round_trip(name in "[a-z{}=,\\\\ é]{1,12}", params in prop::collection::vec(("[a-z{}=,\\\\]{1,6}", "[a-z{}=,\\\\ ]{0,6}"), 0..4)) {
        prop_assume!(!name.trim().is_empty());
        let series = Series::with_params(name, params);
        let text = series.to_string();
        prop_assert_eq!(text.parse::<Series>(), Ok(series));
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/metrics");
    let files = [
        "google-benchmark/build-1.json",
        "pytest-benchmark/build-2.json",
        "hyperfine/build-1.json",
        "go-bench/build-1.txt",
        "criterion/build-1.jsonl",
        "criterion/build-1/criterion/join/100/new/estimates.json",
        "generic/build-1.json",
        "generic/build-1.txt",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for file in files {
        let original = std::fs::read(root.join(file)).unwrap();
        for _ in 0..40 {
            let mut data = original.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % data.len() as u64) as usize;
                match next() % 3 {
                    0 => data[at] = next() as u8,
                    1 => {
                        data.remove(at);
                    }
                    _ => data.insert(at, b"{}[],:\"0-eE.\\\n"[(next() % 14) as usize]),
                }
            }
            check_all(&data, 1 + (next() % 4096) as usize);
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_recursed() {
    let deep = "[".repeat(1_000_000);
    for format in [
        &GoogleBenchmark as &dyn MetricFormat,
        &GenericJson,
        &CargoCriterion,
    ] {
        let err = collect(format, &mut deep.as_bytes(), &options()).unwrap_err();
        assert!(
            matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
            "{}: {err}",
            format.name()
        );
        assert!(err
            .to_string()
            .contains(&format!("deeper than {MAX_DEPTH}")));
    }
}

/// `len` bytes: `head`, then `fill` repeated, produced as they are read.
struct Endless {
    head: Vec<u8>,
    fill: u8,
    left: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Endless {
    fn new(head: &[u8], fill: u8, len: u64) -> Self {
        Endless {
            head: head.to_vec(),
            fill,
            left: len,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for Endless {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Endless {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.head.is_empty() {
                self.buf = std::mem::take(&mut self.head);
            } else {
                let n = self.left.min(64 * 1024) as usize;
                self.buf.resize(n, self.fill);
            }
            self.left = self.left.saturating_sub(self.buf.len() as u64);
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

#[test]
fn a_document_past_the_size_limit_is_refused() {
    let len = MAX_BYTES as u64 + 10;
    let mut input = Endless::new(b"{\"benchmarks\": [\"", b'x', len);
    let err = collect(&GoogleBenchmark, &mut input, &options()).unwrap_err();
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
}

#[test]
fn endless_lines_are_read_past_in_bounded_memory() {
    // 16 MiB on one line (16 times the text formats' line limit): go's parser reads past it (it
    // is not a benchmark line), the generic lines refuse it, cargo-criterion refuses a line past
    // its own (64 MiB) limit.
    let len = 16 * 1024 * 1024;
    let got = collect(&GoBench, &mut Endless::new(b"x", b'y', len), &options()).unwrap();
    assert!(got.metrics.is_empty());
    let err = collect(
        &GoBench,
        &mut Endless::new(b"BenchmarkX-2 10 ", b'9', len),
        &options(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(":1: a benchmark line longer than"),
        "{err}"
    );
    let err = collect(
        &GenericLines,
        &mut Endless::new(b"size ", b'1', len),
        &options(),
    )
    .unwrap_err();
    assert!(err.to_string().contains(":1: a line longer than"), "{err}");
    let err = collect(
        &CargoCriterion,
        &mut Endless::new(b"{\"reason\": \"", b'a', MAX_BYTES as u64 + 10),
        &options(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("longer than 64 MiB"), "{err}");
}
