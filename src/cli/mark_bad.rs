//! `probtrack mark-bad` and `unmark-bad`: builds of an infrastructure outage give no evidence.

use serde::Serialize;

use crate::cli::Context;
use crate::clock;
use crate::error::{Error, Result};
use crate::problems;
use crate::report::{safe, OutputFormat};
use crate::store::{OpenMode, Store};

/// Mark a builder's builds as known-bad: their results open no Problems and count as no flakiness
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack mark-bad --builder linux --from 120 --to 124 --reason \"NFS outage\"
  probtrack mark-bad --builder macos --from 88 --reason \"runner image broken\"   # and every later build
  probtrack mark-bad --list --format json

An infrastructure outage is nobody's change. The builds' results stay (history shows them), but
Problems and flakiness ignore them; the Problems of the builder's tests are recomputed at once,
keeping their ids. `probtrack unmark-bad --builder B --from N` reverses it.")]
pub struct MarkArgs {
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
    /// Output format (with --list)
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

/// Remove a known-bad range: its builds count again
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Example:
  probtrack unmark-bad --builder linux --from 120

Removes the builder's ranges that start at that build, and recomputes its tests' Problems.")]
pub struct UnmarkArgs {
    /// The builder
    #[arg(long, value_name = "NAME")]
    builder: String,
    /// The first build of the range, as given to mark-bad
    #[arg(long, value_name = "BUILD")]
    from: i64,
}

#[derive(Serialize)]
struct RangeView {
    builder: String,
    from: i64,
    to: Option<i64>,
    reason: String,
    time: String,
}

/// Runs `change` and recomputes the builder's tests in one transaction; returns the Problem count
/// before and after.
fn recompute(
    store: &mut dyn Store,
    builder: &str,
    change: impl FnOnce(&mut dyn Store) -> Result<()>,
) -> Result<(usize, usize)> {
    store.begin_write()?;
    let outcome = (|| {
        let before = store.problems(&Default::default())?.len();
        change(store)?;
        problems::recompute(store, None, Some(builder))?;
        let after = store.problems(&Default::default())?.len();
        Ok((before, after))
    })();
    match outcome {
        Ok(counts) => {
            store.commit()?;
            Ok(counts)
        }
        Err(e) => {
            let _ = store.rollback();
            Err(e)
        }
    }
}

pub fn exec_mark(args: MarkArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    if args.list {
        let view: Vec<RangeView> = store
            .bad_ranges()?
            .into_iter()
            .map(|r| RangeView {
                builder: r.builder,
                from: r.from,
                to: r.to,
                reason: r.reason,
                time: clock::rfc3339(r.added_at),
            })
            .collect();
        match args.format {
            OutputFormat::Json => ctx.out.json(&view)?,
            OutputFormat::Csv => ctx.out.csv(&view)?,
            OutputFormat::Table => {
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
                ctx.out
                    .table(&["builder", "from", "to", "reason", "marked"], rows)?;
            }
        }
        return Ok(0);
    }
    let (Some(builder), Some(from), Some(reason)) = (args.builder, args.from, args.reason) else {
        return Err(Error::usage("--builder, --from and --reason are required"));
    };
    if args.to.is_some_and(|to| to < from) {
        return Err(Error::usage(format!(
            "--to {} is before --from {from}",
            args.to.unwrap_or_default()
        )));
    }
    let Some(builder_id) = store.builder_id(&builder)? else {
        return Err(Error::bad_input(format!("there is no builder `{builder}`"))
            .hint("`probtrack builders` lists them"));
    };
    let (before, after) = recompute(store.as_mut(), &builder, |store| {
        store
            .add_bad_range(
                builder_id,
                from,
                args.to,
                &reason,
                clock::to_micros(clock::now()),
            )
            .map(|_| ())
    })?;
    ctx.out.line(&format!(
        "marked {} #{}{} bad; Problems: {before} before, {after} now",
        safe(builder.as_bytes()),
        from,
        args.to
            .map_or_else(|| " on".to_owned(), |to| format!("–#{to}")),
    ))?;
    Ok(0)
}

pub fn exec_unmark(args: UnmarkArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let mut removed = 0;
    let (before, after) = recompute(store.as_mut(), &args.builder, |store| {
        removed = store.remove_bad_ranges(&args.builder, args.from)?.len();
        if removed == 0 {
            return Err(Error::bad_input(format!(
                "`{}` has no known-bad range from build {}",
                args.builder, args.from
            ))
            .hint("`probtrack mark-bad --list` lists them"));
        }
        Ok(())
    })?;
    ctx.out.line(&format!(
        "removed {removed} range(s) of {} from #{}; Problems: {before} before, {after} now",
        safe(args.builder.as_bytes()),
        args.from
    ))?;
    Ok(0)
}
