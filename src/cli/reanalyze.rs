//! `probtrack reanalyze`: rebuild every Problem from the stored results.

use crate::cli::Context;
use crate::error::Result;
use crate::problems;
use crate::store::OpenMode;

/// Rebuild every Problem from the stored results (after a change of rules); ids are kept
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  probtrack reanalyze\n\nGives the same Problems as the incremental analysis at ingest; each keeps its id."
)]
pub(crate) struct Args {}

pub(super) fn exec(_args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let tests = problems::reanalyze_all(store.as_mut(), &ctx.settings.metrics)?;
    ctx.out.line(&format!("reanalyzed {tests} tests"))?;
    Ok(0)
}
