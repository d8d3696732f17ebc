//! Coverage reports read, merged and (optionally) classified against a baseline, printed as one
//! JSON object: for `scripts/bench-coverage` and for trying the readers on real reports. It
//! stands in for the CLI path that comes when coverage is stored (`probtrack ingest` of coverage
//! reports, `probtrack coverage`), which will call the same library functions.
//!
//! usage: coverage [--source-root DIR] [--parser NAME] [--baseline REPORT --diff FILE]
//!        [--files] REPORT…
//!
//! Prints `{"files": N, "lines": N, "covered": N, "branches": N, "branches_covered": N,
//! "warnings": […]}`, with `"per_file": [{"path", "lines", "covered", "branches",
//! "branches_covered"}]` under `--files`, and `"classes": {"UNC": N, "LBC": N, …}` when a
//! baseline report is given (with the unified diff between the two revisions, `git diff -M
//! BASE HEAD`, or none: the source did not change). Exits 3 on a report it cannot read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::process::ExitCode;

use probtrack::coverage::{classify, diff, lines_of};
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
            "--files" => per_file = true,
            _ => reports.push(arg.clone()),
        }
    }
    if reports.is_empty() {
        return Err("usage: coverage [--source-root DIR] [--parser NAME] [--baseline REPORT --diff FILE] [--files] REPORT…".into());
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
    Ok(Value::Object(out))
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
