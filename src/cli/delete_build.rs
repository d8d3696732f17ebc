//! `probtrack delete-build`: take back a build ingested by mistake.

use crate::cli::Context;
use crate::error::Result;
use crate::ingest;
use crate::report::safe;
use crate::store::OpenMode;

/// Remove a build, its results and its blamelist; its neighbours keep their outcomes
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  probtrack delete-build linux-py312 1041")]
pub(crate) struct Args {
    /// The builder
    builder: String,
    /// The build's number
    #[arg(allow_negative_numbers = true)]
    number: i64,
    /// The git repository the builds built: the builds after it with coverage are judged again
    /// against the one before it, with the diff between their revisions (else lines are matched
    /// by number)
    #[arg(long, value_name = "DIR")]
    git: Option<std::path::PathBuf>,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    ingest::delete_build(
        store.as_mut(),
        &args.builder,
        args.number,
        &ctx.settings.metrics,
        &ctx.settings.coverage,
        args.git.as_deref(),
    )?;
    ctx.out.line(&format!(
        "deleted {} #{}",
        safe(args.builder.as_bytes()),
        args.number
    ))?;
    Ok(0)
}
