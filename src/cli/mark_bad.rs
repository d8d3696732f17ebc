//! `probtrack mark-bad` and `unmark-bad`: builds of an infrastructure outage give no evidence.

use crate::cli::{Context, FormatFlag};
use crate::error::{Error, Result};
use crate::known_bad;
use crate::report::{safe, Out};
use crate::store::OpenMode;
use crate::views::mark_bad::RangeView;

/// Mark a builder's builds as known-bad: their results open no Problems and count as no flakiness
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("format", |a| a.help("Output format (with --list)")),
    after_help = "\
Examples:
  probtrack mark-bad --builder linux --from 120 --to 124 --reason \"NFS outage\"
  probtrack mark-bad --builder macos --from 88 --reason \"runner image broken\"   # and every later build
  probtrack mark-bad --list --format json

An infrastructure outage is nobody's change. The builds' results stay (history shows them), but
Problems and flakiness ignore them; the Problems of the builder's tests are recomputed at once,
keeping their ids. `probtrack unmark-bad --builder B --from N` reverses it."
)]
pub(crate) struct MarkArgs {
    /// The builder
    #[arg(long, value_name = "NAME", required_unless_present = "list")]
    builder: Option<String>,
    /// The first bad build
    #[arg(long, value_name = "BUILD", required_unless_present = "list")]
    from: Option<i64>,
    /// The last bad build [default: every later build too]
    #[arg(long, value_name = "BUILD")]
    to: Option<i64>,
    /// Why (shown by --list)
    #[arg(long, value_name = "TEXT", required_unless_present = "list")]
    reason: Option<String>,
    /// List the known-bad ranges instead
    #[arg(long, conflicts_with_all = ["builder", "from", "to", "reason"])]
    list: bool,
    #[command(flatten)]
    output: FormatFlag,
}

/// Remove a known-bad range: its builds count again
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  probtrack unmark-bad --builder linux --from 120

Removes the builder's ranges that start at that build, and recomputes its tests' Problems.")]
pub(crate) struct UnmarkArgs {
    /// The builder
    #[arg(long, value_name = "NAME")]
    builder: String,
    /// The first build of the range, as given to mark-bad
    #[arg(long, value_name = "BUILD")]
    from: i64,
}

pub(super) fn exec_mark(args: MarkArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    if args.list {
        let view = known_bad::list(store.as_mut())?;
        ctx.out.view(args.output.format, &view[..], table)?;
        return Ok(0);
    }
    let (Some(builder), Some(from), Some(reason)) = (args.builder, args.from, args.reason) else {
        return Err(Error::usage("--builder, --from and --reason are required"));
    };
    let counts = known_bad::mark(
        store.as_mut(),
        &builder,
        from,
        args.to,
        &reason,
        &ctx.settings.metrics,
    )?;
    ctx.out.line(&format!(
        "marked {} #{}{} bad; Problems: {} before, {} now",
        safe(builder.as_bytes()),
        from,
        args.to
            .map_or_else(|| " on".to_owned(), |to| format!("–#{to}")),
        counts.before,
        counts.after,
    ))?;
    Ok(0)
}

pub(super) fn exec_unmark(args: UnmarkArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let (removed, counts) = known_bad::unmark(
        store.as_mut(),
        &args.builder,
        args.from,
        &ctx.settings.metrics,
    )?;
    ctx.out.line(&format!(
        "removed {removed} range(s) of {} from #{}; Problems: {} before, {} now",
        safe(args.builder.as_bytes()),
        args.from,
        counts.before,
        counts.after,
    ))?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[RangeView]) -> Result<()> {
    let rows = view
        .iter()
        .map(|r| {
            vec![
                safe(r.builder.as_bytes()).into(),
                r.from.into(),
                r.to.map_or_else(|| "…".to_owned(), |t| t.to_string())
                    .into(),
                safe(r.reason.as_bytes()).into(),
                r.time.clone().into(),
            ]
        })
        .collect();
    out.table(&["builder", "from", "to", "reason", "marked"], rows)
}
