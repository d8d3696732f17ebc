//! Coverage reports read, merged and (optionally) classified against a baseline, printed as one
//! JSON object: for `scripts/bench-coverage` and for trying the readers on real reports. It
//! stands in for the CLI path that comes when coverage is stored (`probtrack ingest` of coverage
//! reports, `probtrack coverage`), which will call the same library functions.
//!
//! usage: coverage [--source-root DIR] [--parser NAME] [--baseline REPORT --diff FILE]
//!        [--delta-from REPORT] [--files] REPORT…
//!
//! Prints `{"files": N, "lines": N, "covered": N, "branches": N, "branches_covered": N,
//! "warnings": […]}`, with `"per_file": [{"path", "lines", "covered", "branches",
//! "branches_covered"}]` under `--files`, and `"classes": {"UNC": N, "LBC": N, …}` when a
//! baseline report is given (with the unified diff between the two revisions, `git diff -M
//! BASE HEAD`, or none: the source did not change). With `--delta-from REPORT` (the previous
//! build's report), `"delta": {"spans", "bytes", "keyframe_spans", "keyframe_bytes",
//! "deltas_per_keyframe"}`: the rows the storage encoding (`probtrack::coverage::delta`) writes
//! for this build against that one, and for a keyframe of it, with their bytes as a row holds
//! them (the path, two line numbers, the state: one byte, and two 4-byte branch counts where the
//! line has branches), and how many builds changing as much would be written as deltas between
//! two keyframes. Exits 3 on a report it cannot read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::process::ExitCode;

use probtrack::coverage::{classify, delta, diff, lines_of};
use probtrack_parsers::coverage::{self, Coverage, CoverageCollector, CoverageFormat};
use probtrack_parsers::{ParseOptions, SNIFF_LEN};
use serde_json::{json, Map, Value};

fn read(
    paths: &[String],
    parser: Option<&str>,
    source_root: Option<&str>,
) -> Result<Coverage, String> {
    let mut collector = CoverageCollector::new();
    for path in paths {
        let file = File::open(path).map_err(|err| format!("{path}: {err}"))?;
        let mut input = BufReader::with_capacity(256 * 1024, file);
        let format: &dyn CoverageFormat = match parser {
            Some(name) => coverage::by_name(name).ok_or(format!("no coverage format {name}"))?,
            None => {
                let mut head = Vec::new();
                File::open(path)
                    .and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head))
                    .map_err(|err| format!("{path}: {err}"))?;
                coverage::detect(&head).ok_or(format!("{path}: not a coverage report"))?
            }
        };
        let options = ParseOptions {
            source: path.clone(),
            source_root: source_root.map(str::to_string),
        };
        collector
            .read(format, &mut input, &options)
            .map_err(|err| err.to_string())?;
    }
    Ok(collector.finish(source_root))
}

fn run(args: &[String]) -> Result<Value, String> {
    let mut source_root = None;
    let mut parser = None;
    let mut baseline = None;
    let mut diff_file = None;
    let mut delta_from = None;
    let mut per_file = false;
    let mut reports = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--source-root" => source_root = Some(value("--source-root")?),
            "--parser" => parser = Some(value("--parser")?),
            "--baseline" => baseline = Some(value("--baseline")?),
            "--diff" => diff_file = Some(value("--diff")?),
            "--delta-from" => delta_from = Some(value("--delta-from")?),
            "--files" => per_file = true,
            _ => reports.push(arg.clone()),
        }
    }
    if reports.is_empty() {
        return Err("usage: coverage [--source-root DIR] [--parser NAME] [--baseline REPORT --diff FILE] [--delta-from REPORT] [--files] REPORT…".into());
    }
    let current = read(&reports, parser.as_deref(), source_root.as_deref())?;
    let (covered, lines) = current.line_totals();
    let (branches_covered, branches) = current
        .files
        .iter()
        .map(|f| f.branch_totals())
        .fold((0, 0), |(c, t), (fc, ft)| (c + fc, t + ft));
    let mut out = Map::new();
    out.insert("files".into(), json!(current.files.len()));
    out.insert("lines".into(), json!(lines));
    out.insert("covered".into(), json!(covered));
    out.insert("branches".into(), json!(branches));
    out.insert("branches_covered".into(), json!(branches_covered));
    out.insert("warnings".into(), json!(current.warnings));
    if per_file {
        let files: Vec<Value> = current
            .files
            .iter()
            .map(|f| {
                let (covered, lines) = f.line_totals();
                let (branches_covered, branches) = f.branch_totals();
                json!({"path": f.path, "lines": lines, "covered": covered,
                       "branches": branches, "branches_covered": branches_covered})
            })
            .collect();
        out.insert("per_file".into(), Value::Array(files));
    }
    if let Some(baseline) = baseline {
        let before = read(&[baseline], parser.as_deref(), source_root.as_deref())?;
        let text = match diff_file {
            Some(path) => std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?,
            None => String::new(),
        };
        let diff = diff::parse(&text).map_err(|err| err.to_string())?;
        let files = classify::classify(&lines_of(&before), &lines_of(&current), &diff);
        let classes: Map<String, Value> = classify::totals(&files)
            .into_iter()
            .map(|(class, n)| (class.code().to_string(), json!(n)))
            .collect();
        out.insert("classes".into(), Value::Object(classes));
    }
    if let Some(previous) = delta_from {
        let before = read(&[previous], parser.as_deref(), source_root.as_deref())?;
        let (before, now) = (
            delta::snapshot(&lines_of(&before)),
            delta::snapshot(&lines_of(&current)),
        );
        let spans = delta::delta(&before, &now);
        let whole = delta::keyframe(&now);
        out.insert(
            "delta".into(),
            json!({"spans": spans.len(), "bytes": row_bytes(&spans),
                   "keyframe_spans": whole.len(), "keyframe_bytes": row_bytes(&whole),
                   "deltas_per_keyframe": delta::deltas_per_keyframe(spans.len(), whole.len())}),
        );
    }
    Ok(Value::Object(out))
}

/// The bytes of `spans` as rows hold them: path, first and last line (4 bytes each), the state
/// (1 byte), its hit count (8 bytes) and its branch counts (4 bytes each) where there are any.
fn row_bytes(spans: &[delta::Span]) -> usize {
    spans
        .iter()
        .map(|s| {
            let branches = s.state.and_then(|s| s.branches).map_or(0, |_| 8);
            let hits = s.state.and_then(|s| s.hits).map_or(0, |_| 8);
            s.path.len() + 4 + 4 + 1 + hits + branches
        })
        .sum()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(3)
        }
    }
}
