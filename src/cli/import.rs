//! `probtrack import DIR`: bring a whole history in at once.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::{parser_arg, Context, FormatFlag};
use crate::error::Result;
use crate::import::{self, ImportOptions};
use crate::retry::Retry;
use crate::store::{self, OpenMode};

/// Import a history of reports laid out as DIR/BUILDER/NUMBER.EXT or DIR/BUILDER/NUMBER/*
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("format", |a| a.help("Output format of the summary")),
    after_help = "\
Examples:
  probtrack import history/                  # with history/builds.tsv and revisions.tsv
  probtrack import --git ~/src/project ci-artifacts/

Optional DIR/builds.tsv (builder, number, revision, author, timestamp, changes) gives each build's
revision, time and blamelist; DIR/revisions.tsv (revision, author, timestamp, parent) the changes'
authors. Builds go in in time order, each whole or not at all; rerunning skips builds already present."
)]
pub(crate) struct Args {
    /// The directory to import
    dir: PathBuf,
    /// Take blamelists from this git repository instead of builds.tsv
    #[arg(long, value_name = "DIR")]
    git: Option<PathBuf>,
    /// The branch the builds are of
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// The reports' format: auto (sniff each file) or a name from `probtrack parsers`
    #[arg(long, default_value = "auto", value_name = "NAME")]
    parser: String,
    /// Compiler logs: make paths relative to this directory [default: the --git directory]
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
    let options = ImportOptions {
        parser: parser_arg(&args.parser)?,
        source_root: args
            .source_root
            .clone()
            .or_else(|| args.git.as_ref().map(|g| g.display().to_string())),
        git: args.git.clone(),
        branch: args.branch.clone(),
    };
    let planned = import::plan(&args.dir)?;
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(planned.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} builds {msg} (eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let retry = Retry::new(args.retry, ctx.settings.retry);
    let err = std::cell::RefCell::new(&mut ctx.err);
    let db = &ctx.db;
    let summary = retry.run(
        || {
            bar.set_position(0);
            let mut store = store::open(db, OpenMode::Create)?;
            import::import(store.as_mut(), &planned, &options, |build, warnings| {
                bar.set_message(format!("{} #{}", build.builder, build.number));
                bar.inc(1);
                for warning in warnings.drain(..) {
                    bar.suspend(|| {
                        let _ = writeln!(err.borrow_mut(), "warning: {warning}");
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
    let summary = summary?;
    ctx.out.view(args.output.format, &summary, |out, summary| {
        out.line(&format!(
            "imported {} of {} builds ({} already present), {} results",
            summary.imported, summary.builds, summary.skipped, summary.results
        ))
    })?;
    Ok(0)
}
