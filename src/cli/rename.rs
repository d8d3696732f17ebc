//! `probtrack rename OLD NEW`: a renamed test keeps its history.

use crate::cli::Context;
use crate::error::Result;
use crate::rename;
use crate::report::safe;
use crate::store::OpenMode;

/// Join a test's history to its new name, so that Problems and flakiness carry over a rename
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack rename tests.test_fmt.test_thousands tests.test_format.test_thousands
  probtrack rename 'suite.Old name' 'suite.New name'

OLD is a whole identity or a unique part of one; NEW is a whole identity (it need not have results
yet). From then on the new name's history is both names' results (the new name's where a build has
both); the old name has no Problems of its own, and its Problems move to the new name with their
ids.")]
pub(crate) struct Args {
    /// The test's old identity (or a unique part)
    old: String,
    /// Its new identity
    new: String,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let old = rename::rename(store.as_mut(), &args.old, &args.new)?;
    ctx.out.line(&format!(
        "renamed {} to {}",
        safe(&old),
        safe(args.new.as_bytes())
    ))?;
    Ok(0)
}
