//! `probtrack ingest`: record a build's reports.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::blamelist;
use crate::cli::{parser_arg, Context, FormatFlag};
use crate::error::{Error, Result};
use crate::ingest::{self, IngestOptions, Input};
use crate::plugin::Produces;
use crate::report::safe;
use crate::retry::Retry;
use crate::session::Opened;
use crate::store::OpenMode;

/// Record a build's test reports and compiler logs
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("format", |a| a.help("Output format of the summary")),
    after_help = "\
Examples:
  probtrack ingest --builder linux-py312 --build 1041 --revision 3f2a9c1 --git . junit.xml
  trial mypkg 2>&1 | probtrack ingest --builder trial --build 7 --parser trial -
  probtrack ingest --builder linux --build 12 --change 3f2a9c1:\"Ada <ada@example.org>\" out/*.xml
  probtrack ingest --builder linux --build 13 --git . junit.xml --metrics bench.json \\
      --metric binary_size=12.5MiB --metric compile_time=83s

Ingesting the same report into the same build again changes nothing; other reports for the same
build add to it. A report, metric file or coverage report that cannot be parsed changes nothing
and exits 3. Coverage reports (Cobertura, lcov, JaCoCo, coverage.py JSON, Go coverprofile,
llvm-cov JSON, or a coverage plugin's format; docs/coverage.md) are recognised among the reports
or named with --coverage; their paths are made relative to --source-root. Lines that lose
coverage, or new code that lands uncovered, open a Problem of kind `coverage`, which --exit-code
gates on like new breakage.
Metric files are sniffed (Google Benchmark, pytest-benchmark, Criterion, cargo-criterion,
hyperfine, go test -bench, probtrack's generic JSON or lines, or a metric plugin's format;
docs/metrics.md); a step in a metric series opens a Problem of kind `metric`, and with
--exit-code a newly confirmed regression exits 1 like new breakage."
)]
pub(crate) struct Args {
    /// The builder (CI job) that ran the build
    #[arg(long, value_name = "NAME")]
    builder: String,
    /// The build's number; numbers order a builder's builds
    #[arg(long = "build", value_name = "NUMBER", allow_negative_numbers = true)]
    number: i64,
    /// The revision the build built (with --git: any name git resolves)
    #[arg(long, value_name = "REV")]
    revision: Option<String>,
    /// When the build ran, RFC 3339 [default: the report's timestamp, else now]
    #[arg(long, value_name = "TIME")]
    time: Option<String>,
    /// A change in the build's blamelist, by hand (repeatable)
    #[arg(long = "change", value_name = "REV:AUTHOR")]
    changes: Vec<String>,
    /// A git repository to take the blamelist from: the commits since this builder's previous build
    #[arg(long, value_name = "DIR")]
    git: Option<PathBuf>,
    /// The branch built; analysis never mixes branches
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// The build's overall result as the CI saw it (success, failure, …)
    #[arg(long, value_name = "RESULT")]
    result: Option<String>,
    /// A build property (repeatable); numbers are kept as numbers
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// Replace the build's reports, results and blamelist instead of adding to them
    #[arg(long)]
    replace: bool,
    /// The reports' format: auto (sniff each file) or a name from `probtrack parsers`
    #[arg(long, default_value = "auto", value_name = "NAME")]
    parser: String,
    /// The build compiled everything: a compiler warning it no longer shows is fixed
    #[arg(long)]
    clean_build: bool,
    /// Compiler logs: make paths relative to this directory [default: the --git directory]
    #[arg(long, value_name = "DIR")]
    source_root: Option<String>,
    /// Exit 1 when the build opened a new Problem (not a known or intermittent one), naming who
    /// to talk to: gate a CI on new breakage only
    #[arg(long)]
    exit_code: bool,
    /// A metric value of the build, NAME=VALUE[UNIT] (repeatable): `binary_size=12.5MiB`,
    /// `compile_time=83s`, `latency{endpoint=/api}=12ms`
    #[arg(long = "metric", value_name = "NAME=VALUE[UNIT]")]
    metric: Vec<String>,
    /// Metric files to read beside the reports (repeatable; several files may follow it)
    #[arg(long = "metrics", value_name = "FILE", num_args = 1..)]
    metric_files: Vec<OsString>,
    /// The metric files' format: auto (sniff each file) or a name from `probtrack parsers
    /// --produces metrics`
    #[arg(long, default_value = "auto", value_name = "NAME")]
    metrics_parser: String,
    /// Coverage reports to read beside the test reports (repeatable; several files may follow
    /// it). Coverage reports among the reports are recognised too
    #[arg(long = "coverage", value_name = "FILE", num_args = 1..)]
    coverage_files: Vec<OsString>,
    /// The coverage reports' format: auto (sniff each file), cobertura, lcov, jacoco,
    /// coverage-py-json, go-coverprofile, llvm-cov-json or a coverage plugin's name
    #[arg(long, default_value = "auto", value_name = "NAME")]
    coverage_parser: String,
    /// Retry up to N times, with growing pauses, when the database server cannot be reached or
    /// ends the connection (it restarts); a build already stored is not stored twice
    /// [default: `retry` in the settings, else 0]. A deadlock or serialization failure between
    /// concurrent ingests is retried at least 3 times whatever N is
    #[arg(long, value_name = "N")]
    retry: Option<u32>,
    #[command(flatten)]
    output: FormatFlag,
    /// Reports to read (`-` reads standard input)
    #[arg(
        required_unless_present_any = ["metric", "metric_files", "coverage_files"],
        value_name = "FILE"
    )]
    files: Vec<OsString>,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let parser = parser_arg(&args.parser)?;
    let mut options = IngestOptions {
        builder: args.builder.clone(),
        number: args.number,
        revision: args.revision.clone(),
        time: args.time.as_deref().map(ingest::parse_time).transpose()?,
        changes: args
            .changes
            .iter()
            .map(|c| blamelist::parse_change(c))
            .collect::<Result<_>>()?,
        git: args.git.clone(),
        branch: args.branch.clone(),
        result: args.result.clone(),
        properties: serde_json::Map::new(),
        replace: args.replace,
        clean_build: args.clean_build,
        parser,
        source_root: args
            .source_root
            .clone()
            .or_else(|| args.git.as_ref().map(|g| g.display().to_string())),
        metrics: (args.metric.iter())
            .map(|m| crate::metrics::parse_arg(m))
            .collect::<Result<_>>()?,
        metric_files: args
            .metric_files
            .iter()
            .map(|f| Input::from_arg(f))
            .collect(),
        metrics_parser: metrics_parser_arg(&args.metrics_parser)?,
        metric_settings: ctx.settings.metrics.clone(),
        coverage_files: (args.coverage_files.iter())
            .map(|f| Input::from_arg(f))
            .collect(),
        coverage_parser: coverage_parser_arg(&args.coverage_parser)?,
        coverage: None,
        coverage_settings: ctx.settings.coverage.clone(),
    };
    crate::metrics::check_settings(&ctx.settings.metrics)?;
    if args.builder.trim().is_empty() {
        return Err(Error::usage("--builder must not be empty"));
    }
    for property in &args.properties {
        let (key, value) = ingest::parse_property(property)?;
        options.properties.insert(key, value);
    }
    if let Some(git) = &args.git {
        if !git.is_dir() {
            return Err(Error::usage(format!(
                "--git {}: no such directory",
                git.display()
            )));
        }
    }
    let stdin_count = (args.files.iter().chain(&args.metric_files))
        .chain(&args.coverage_files)
        .filter(|f| *f == "-")
        .count();
    if stdin_count > 1 {
        return Err(Error::usage("standard input (`-`) can be read only once"));
    }
    let inputs: Vec<Input> = args.files.iter().map(|f| Input::from_arg(f)).collect();
    let retry =
        Retry::new(args.retry, ctx.settings.retry).with_conflicts(crate::retry::CONFLICT_RETRIES);
    let (db, kept) = (&ctx.db, ctx.kept.as_ref());
    let err = &mut ctx.err;
    let summary = ingest::ingest_inputs(
        db,
        &|| Opened::open(db, OpenMode::Create, kept),
        &options,
        &inputs,
        retry,
        &mut |e, n, pause| {
            let _ = writeln!(
                err,
                "warning: {}; retry {n} of {} in {:.1} s",
                e.message,
                if e.conflict {
                    retry.most()
                } else {
                    retry.times
                },
                pause.as_secs_f64()
            );
        },
    )?;
    // For the bench (docs/performance.md): how long this ingest held its branch's lock.
    if let (Some(lock), Some(_)) = (summary.lock, std::env::var_os("PROBTRACK_LOCK_TIMES")) {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let _ = writeln!(
            ctx.err,
            "lock: waited {:.3} ms, held {:.3} ms",
            ms(lock.waited),
            ms(lock.held)
        );
    }
    for warning in &summary.warnings {
        let _ = writeln!(
            ctx.err,
            "warning: {}",
            crate::report::safe(warning.as_bytes())
        );
    }
    ctx.out.view(args.output.format, &summary, |out, summary| {
        let c = summary.counts;
        let added = summary.reports.iter().filter(|r| r.added).count();
        let metrics = if summary.metric_values > 0 {
            format!("; {} metric values", summary.metric_values)
        } else {
            String::new()
        };
        out.line(&format!(
            "{} #{}: {} ({} of {} reports new; {} passed, {} failed, {} error, {} skipped, {} flaky; {} changes{metrics})",
            safe(summary.builder.as_bytes()),
            summary.build,
            summary.action,
            added,
            summary.reports.len(),
            c.passed,
            c.failed,
            c.error,
            c.skipped,
            c.flaky,
            summary.changes
        ))
    })?;
    for problem in &summary.new_problems {
        let who = if problem.started_by.is_empty() {
            "no change recorded".to_owned()
        } else {
            problem.started_by.join(", ")
        };
        let _ = writeln!(
            ctx.err,
            "new Problem {}: {} (started by {}; `probtrack show {}`)",
            problem.id,
            safe(problem.test.as_bytes()),
            safe(who.as_bytes()),
            problem.id
        );
    }
    if args.exit_code && !summary.new_problems.is_empty() {
        return Ok(1);
    }
    Ok(0)
}

/// `--coverage-parser`: `auto`, a coverage format's name, or a coverage plugin's.
fn coverage_parser_arg(
    name: &str,
) -> Result<Option<&'static dyn probtrack_parsers::coverage::CoverageFormat>> {
    use probtrack_parsers::coverage::registry;
    if let Some(plugin) = crate::plugin::find_coverage(name) {
        return Ok(Some(plugin));
    }
    let names = (registry().iter().map(|f| f.name()))
        .chain(crate::plugin::of(Produces::Coverage).map(|p| p.name()));
    format_arg(name, "coverage", registry(), names.collect())
}

/// `--metrics-parser`: `auto`, a metric format's name, or a metric plugin's.
pub(super) fn metrics_parser_arg(
    name: &str,
) -> Result<Option<&'static dyn probtrack_parsers::metrics::MetricFormat>> {
    use probtrack_parsers::metrics::registry;
    if let Some(plugin) = crate::plugin::find_metrics(name) {
        return Ok(Some(plugin));
    }
    let names = (registry().iter().map(|f| f.name()))
        .chain(crate::plugin::of(Produces::Metrics).map(|p| p.name()));
    format_arg(name, "metrics", registry(), names.collect())
}

/// `auto` (`None`: sniff each file), or the format of `formats` whose name (in `names`, in the
/// same order) is `name`.
fn format_arg<F: ?Sized>(
    name: &str,
    what: &str,
    formats: &'static [&'static F],
    names: Vec<&str>,
) -> Result<Option<&'static F>> {
    if name == "auto" {
        return Ok(None);
    }
    match names
        .iter()
        .position(|n| *n == name)
        .and_then(|i| formats.get(i))
    {
        Some(format) => Ok(Some(*format)),
        None => match crate::plugin::named(name) {
            Some(plugin) => Err(super::plugin_elsewhere(&format!("--{what}-parser"), plugin)),
            None => Err(Error::usage(format!(
                "unknown {what} parser `{name}` (expected auto, {})",
                names.join(", ")
            ))
            .hint("`probtrack parsers --produces all` lists them")),
        },
    }
}
