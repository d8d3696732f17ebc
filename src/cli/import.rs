//! `probtrack import DIR` and `probtrack import --buildbot URL`: bring a whole history in at once.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{parse_since, parser_arg, Context, FormatFlag};
use crate::error::{Error, Result};
use crate::import::{self, buildbot, ImportOptions};
use crate::retry::Retry;
use crate::store::OpenMode;

/// Import a history of reports laid out as DIR/BUILDER/NUMBER.EXT or DIR/BUILDER/NUMBER/*, or a
/// Buildbot master's builds (--buildbot URL)
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("format", |a| a.help("Output format of the summary")),
    after_help = "\
Examples:
  probtrack import history/                  # with history/builds.tsv and revisions.tsv
  probtrack import --git ~/src/project ci-artifacts/
  probtrack import --buildbot http://buildbot.example.org:8010/ --step trial=trial --step compile=gcc

Optional DIR/builds.tsv (builder, number, revision, author, timestamp, changes) gives each build's
revision, time and blamelist; DIR/revisions.tsv (revision, author, timestamp, parent) the changes'
authors. Builds go in in time order, each whole or not at all; rerunning skips builds already present.

With --buildbot, each complete build's revision, start time and blamelist come from the master's
Changes, and its results from the stdio logs of the steps named with --step and from the master's
test result sets. Each build is committed on its own: a second run adds only new builds, and a
stopped one loses nothing. A master that requires it gets PROBTRACK_BUILDBOT_TOKEN (a bearer
token) or PROBTRACK_BUILDBOT_USER and PROBTRACK_BUILDBOT_PASSWORD (basic authentication)."
)]
pub(crate) struct Args {
    /// The directory to import
    #[arg(required_unless_present = "buildbot", conflicts_with = "buildbot")]
    dir: Option<PathBuf>,
    /// Import the builds of the Buildbot master at this web address (its REST API)
    #[arg(long, value_name = "URL")]
    buildbot: Option<String>,
    /// --buildbot: a step whose stdio log to read, and its parser (repeatable)
    #[arg(long = "step", value_name = "NAME=PARSER", requires = "buildbot")]
    steps: Vec<String>,
    /// --buildbot: only this builder (repeatable)
    #[arg(long = "builder", value_name = "NAME", requires = "buildbot")]
    builders: Vec<String>,
    /// --buildbot: only builds started at or after this date (2024-03-01) or RFC 3339 time
    #[arg(long, value_name = "WHEN", requires = "buildbot")]
    since: Option<String>,
    /// --buildbot: builds fetched at once, at most
    #[arg(long, default_value_t = 4, value_name = "N", requires = "buildbot",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// --buildbot: leave the master's test result sets out
    #[arg(long, requires = "buildbot")]
    no_test_results: bool,
    /// Take blamelists from this git repository instead of builds.tsv
    #[arg(long, value_name = "DIR", conflicts_with = "buildbot")]
    git: Option<PathBuf>,
    /// The branch the builds are of
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// The reports' format: auto (sniff each file) or a name from `probtrack parsers`
    #[arg(
        long,
        default_value = "auto",
        value_name = "NAME",
        conflicts_with = "buildbot"
    )]
    parser: String,
    /// Compiler logs: make paths relative to this directory [default: the --git directory; with
    /// --buildbot, the directory the step ran in]
    #[arg(long, value_name = "DIR")]
    source_root: Option<String>,
    /// Retry up to N times, with growing pauses, when the database server cannot be reached or
    /// ends the connection (it restarts); each retry skips the builds already stored
    /// [default: `retry` in the settings, else 0]
    #[arg(long, value_name = "N")]
    retry: Option<u32>,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    if let Some(url) = &args.buildbot {
        return exec_buildbot(url, &args, ctx);
    }
    let Some(dir) = &args.dir else {
        return Err(Error::usage("import takes a directory or --buildbot URL"));
    };
    let options = ImportOptions {
        parser: parser_arg(&args.parser)?,
        source_root: args
            .source_root
            .clone()
            .or_else(|| args.git.as_ref().map(|g| g.display().to_string())),
        git: args.git.clone(),
        branch: args.branch.clone(),
    };
    let planned = import::plan(dir)?;
    let bar = progress_bar(planned.len());
    let retry = Retry::new(args.retry, ctx.settings.retry);
    let err = std::cell::RefCell::new(&mut ctx.err);
    let db = &ctx.db;
    let summary = retry.run(
        || {
            bar.set_position(0);
            let mut store = crate::store::open(db, OpenMode::Create)?;
            import::import(store.as_mut(), &planned, &options, |build, warnings| {
                bar.set_message(format!("{} #{}", build.builder, build.number));
                bar.inc(1);
                for warning in warnings.drain(..) {
                    bar.suspend(|| {
                        let _ = writeln!(
                            err.borrow_mut(),
                            "warning: {}",
                            crate::report::safe(warning.as_bytes())
                        );
                    });
                }
            })
        },
        |e, n, pause| {
            bar.suspend(|| {
                let _ = writeln!(
                    err.borrow_mut(),
                    "warning: {}; retry {n} of {} in {:.1} s",
                    e.message,
                    retry.times,
                    pause.as_secs_f64()
                );
            });
        },
    );
    bar.finish_and_clear();
    render(&args, ctx, &summary?)
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(len as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} builds {msg} (eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn render(
    args: &Args,
    ctx: &mut Context<'_>,
    summary: &crate::views::import::ImportSummary,
) -> Result<u8> {
    ctx.out.view(args.output.format, summary, |out, summary| {
        let mut line = format!(
            "imported {} of {} builds ({} already present), {} results",
            summary.imported, summary.builds, summary.skipped, summary.results
        );
        if summary.no_results > 0 {
            line.push_str(&format!(
                "; {} builds had none of the steps' logs and no test results",
                summary.no_results
            ));
        }
        out.line(&line)
    })?;
    Ok(0)
}

/// `import --buildbot URL`: the credentials come from the environment only.
fn exec_buildbot(url: &str, args: &Args, ctx: &mut Context<'_>) -> Result<u8> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let auth = match (
        env("PROBTRACK_BUILDBOT_TOKEN"),
        env("PROBTRACK_BUILDBOT_USER"),
        env("PROBTRACK_BUILDBOT_PASSWORD"),
    ) {
        (Some(token), None, None) => buildbot::Auth::Bearer(token),
        (None, Some(user), password) => buildbot::Auth::Basic {
            user,
            password: password.unwrap_or_default(),
        },
        (None, None, Some(_)) => {
            return Err(Error::usage(
                "PROBTRACK_BUILDBOT_PASSWORD is set but PROBTRACK_BUILDBOT_USER is not",
            ))
        }
        (None, None, None) => buildbot::Auth::None,
        (Some(_), _, _) => {
            return Err(Error::usage(
                "set either PROBTRACK_BUILDBOT_TOKEN or PROBTRACK_BUILDBOT_USER, not both",
            ))
        }
    };
    let mut steps = Vec::new();
    for step in &args.steps {
        let Some((name, parser)) = step
            .rsplit_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        else {
            return Err(Error::usage(format!(
                "--step `{step}`: expected NAME=PARSER, e.g. --step trial=trial"
            )));
        };
        let parser = parser_arg(parser)?.ok_or_else(|| {
            Error::usage(format!(
                "--step `{step}`: name the parser (auto cannot be used for a step's log)"
            ))
        })?;
        steps.push((name.to_owned(), parser));
    }
    let options = buildbot::Options {
        url: url.to_owned(),
        auth,
        steps,
        builders: args.builders.clone(),
        since: args
            .since
            .as_deref()
            .map(parse_since)
            .transpose()?
            .map(crate::clock::from_micros),
        branch: args.branch.clone(),
        source_root: args.source_root.clone(),
        jobs: usize::from(args.jobs),
        test_results: !args.no_test_results,
    };
    let mut store = ctx.open(OpenMode::Create)?;
    let bar = progress_bar(0);
    let err = &mut ctx.err;
    let summary = buildbot::import(store.as_mut(), &options, |build, total, warnings| {
        bar.set_length(total as u64);
        bar.set_message(format!("{} #{}", build.builder, build.number));
        bar.inc(1);
        for warning in warnings.drain(..) {
            bar.suspend(|| {
                let _ = writeln!(err, "warning: {}", crate::report::safe(warning.as_bytes()));
            });
        }
    });
    bar.finish_and_clear();
    render(args, ctx, &summary?)
}
