//! Every file under `fixtures/malformed/` (inputs that once broke a parser, real reports cut off
//! halfway, and fuzzer findings in `fuzz/`; its README says where each comes from) through every
//! parser and through sniffing, read whole and in small chunks: no panic, and a clean outcome —
//! results with finite, non-negative durations, or a `ParseError` that says where and what.

use std::path::{Path, PathBuf};

use super::Chunked;
use crate::collect::collect;
use crate::error::ParseErrorKind;
use crate::format::{detect, registry, ParseOptions, SNIFF_LEN};

fn malformed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("malformed")
}

/// The inputs: every file below `fixtures/malformed/` except the READMEs that describe them and
/// the script that makes them.
fn inputs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .extension()
                .is_none_or(|ext| ext != "md" && ext != "sh")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&malformed_dir(), &mut out);
    out
}

/// `(identity, status, attempts)` of each result, or the error's text.
type Outcome = Result<Vec<(String, String, u32)>, String>;

#[track_caller]
fn outcome(format: &dyn crate::Format, bytes: &[u8], chunk: usize, name: &str) -> Outcome {
    let mut input = Chunked::new(bytes, chunk);
    match collect(format, &mut input, &ParseOptions::new(name)) {
        Ok(collected) => {
            for result in &collected.results {
                assert!(result.attempts >= 1, "{name}: {result:?}");
                assert!(!result.test.is_empty(), "{name}: {result:?}");
                assert!(
                    result.duration.is_none_or(|d| d.is_finite() && d >= 0.0),
                    "{name}: {result:?}"
                );
            }
            Ok(collected
                .results
                .iter()
                .map(|r| (r.test.to_string(), r.status.to_string(), r.attempts))
                .collect())
        }
        Err(err) => {
            assert!(
                !matches!(err.kind, ParseErrorKind::Io(_)),
                "{name}: reading from memory cannot fail: {err}"
            );
            let text = err.to_string();
            let prefix = format!("failed to parse {} at {name}", err.format);
            assert!(text.starts_with(&prefix), "{name}: {text}");
            Err(text)
        }
    }
}

#[test]
fn malformed_inputs_end_cleanly_in_every_parser() {
    let dir = malformed_dir();
    assert!(
        dir.join("fuzz").join("README.md").is_file(),
        "fixtures/malformed/fuzz/README.md lists the fuzzer's findings"
    );
    let inputs = inputs();
    let names: Vec<String> = inputs
        .iter()
        .map(|path| path.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    // The loop below must see the inputs, not pass over an empty folder: at least the one that
    // once broke trial (NaN, infinite and negative durations, commit 358eda5).
    assert!(
        names.iter().any(|n| n == "trial-timing-nonfinite.txt"),
        "fixtures/malformed/ holds {names:?}; run fixtures/malformed/regen.sh"
    );
    for path in inputs {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let head = &bytes[..bytes.len().min(SNIFF_LEN)];
        detect(head);
        for format in registry() {
            format.sniff(head);
            let whole = outcome(*format, &bytes, usize::MAX, &name);
            // Where the reads split the input must not change which tests were found, nor
            // whether the report could be read.
            for chunk in [1, 7, 4096] {
                let split = outcome(*format, &bytes, chunk, &name);
                match (&whole, &split) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a, b, "{name}: {} in {chunk}-byte reads", format.name())
                    }
                    (Err(_), Err(_)) => {}
                    _ => panic!(
                        "{name}: {} read whole gives {whole:?}, in {chunk}-byte reads {split:?}",
                        format.name()
                    ),
                }
            }
        }
    }
}
