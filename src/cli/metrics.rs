//! `probtrack metrics`, `probtrack metric NAME` and `probtrack accept PROBLEM`: build metrics.

use crate::cli::{BranchFlag, Context, FormatFlag, LimitFlag};
use crate::error::Result;
use crate::metrics::{self, MetricListing};
use crate::report::{safe, short_rev, Out};
use crate::store::OpenMode;
use crate::views::metrics::{MetricHistory, MetricRow};
use crate::views::problems::ProblemView;

/// List the build metrics: each series' latest value per builder, its trend and open regressions
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack metrics
  probtrack metrics --name BM_ --builder linux --format json

A series is a metric of one builder on one branch: `NAME` or `NAME{key=value,...}`. `change` is
the latest value against the median of up to 10 values before it; `trend` the last 20 values.
Metrics come from `ingest --metric NAME=VALUE[UNIT]` and `ingest --metrics FILE` (docs/metrics.md).
A change of the `[metrics]` settings applies to the builds ingested after it: run `probtrack
reanalyze` to judge the Problems already found by the new settings.")]
pub(crate) struct Args {
    /// Only series whose identity contains this text
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
    /// Only this builder
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(crate) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let listing = MetricListing {
        branch: args.branch.resolve(&ctx.settings),
        name: args.name,
        builder: args.builder,
    };
    let view = metrics::list(store.as_mut(), &ctx.settings, &listing)?;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

/// A value with its unit, four significant digits.
pub(super) fn with_unit(value: f64, unit: Option<&str>) -> String {
    let text = crate::metrics::level(value);
    match unit {
        Some(u) => format!("{text} {}", safe(u.as_bytes())),
        None => text,
    }
}

/// Eight levels of a block sparkline.
pub(super) fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    values
        .iter()
        .map(|&x| {
            if hi > lo {
                BARS[(((x - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize]
            } else {
                BARS[3]
            }
        })
        .collect()
}

fn table(out: &mut Out<'_>, rows: &[MetricRow]) -> Result<()> {
    if rows.is_empty() {
        return out.line("no metrics (ingest --metric NAME=VALUE or --metrics FILE records them)");
    }
    let cells = rows
        .iter()
        .map(|r| {
            vec![
                safe(r.series.as_bytes()).into(),
                safe(r.builder.as_bytes()).into(),
                r.build.into(),
                with_unit(r.value, r.unit.as_deref()).into(),
                r.change
                    .map(|c| format!("{:+.1}%", c * 100.0))
                    .unwrap_or_default()
                    .into(),
                sparkline(&r.trend).into(),
                r.open_regressions
                    .iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
                    .into(),
            ]
        })
        .collect();
    out.table(
        &[
            "series",
            "builder",
            "build",
            "latest",
            "change",
            "trend",
            "open regressions",
        ],
        cells,
    )
}

/// Show a metric series' history per builder, with its change points
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("How many of the latest values per builder [default: all]")),
    after_help = "\
Examples:
  probtrack metric binary_size
  probtrack metric 'BM_Sum/4096{measure=cpu_time}' --format csv

NAME is a series' whole identity, or a part that only one series has. A change point is a step
the detector finds (docs/metrics.md); `problem` is the metric Problem it opened or fixed.")]
pub(crate) struct MetricArgs {
    /// The series: its identity, or a unique part of it
    name: String,
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    limit: LimitFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(crate) fn exec_metric(args: MetricArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = args.branch.resolve(&ctx.settings);
    let view = metrics::history(
        store.as_mut(),
        &ctx.settings.metrics,
        branch.as_deref(),
        &args.name,
        args.limit.limit,
    )?;
    ctx.out.view(args.output.format, &view, metric_table)?;
    Ok(0)
}

fn metric_table(out: &mut Out<'_>, view: &MetricHistory) -> Result<()> {
    out.line(&format!(
        "{} ({}, {})",
        safe(view.series.as_bytes()),
        view.unit
            .as_deref()
            .map(|u| safe(u.as_bytes()))
            .unwrap_or_else(|| "no unit".into()),
        view.direction.replace('_', " ")
    ))?;
    let mut rows = Vec::new();
    for b in &view.builders {
        for v in &b.values {
            let step = b.change_points.iter().find(|c| c.build == v.build);
            rows.push(vec![
                safe(b.builder.as_bytes()).into(),
                v.build.into(),
                v.revision
                    .as_deref()
                    .map(|r| safe(short_rev(r).as_bytes()))
                    .unwrap_or_default()
                    .into(),
                v.time.clone().into(),
                with_unit(v.value, view.unit.as_deref()).into(),
                v.stddev
                    .filter(|_| v.rounds > 1)
                    .map(|s| format!("±{} ({} rounds)", crate::metrics::level(s), v.rounds))
                    .unwrap_or_default()
                    .into(),
                step.map(|c| match c.problem {
                    Some(id) => format!("{} (Problem {id})", c.step),
                    None => c.step.to_owned(),
                })
                .unwrap_or_default()
                .into(),
            ]);
        }
    }
    out.table(
        &[
            "builder", "build", "revision", "time", "value", "spread", "step",
        ],
        rows,
    )
}

/// Accept a metric Problem's new level as the normal one (not the same as fixed)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack accept 12 --by \"Ada Lovelace\" --reason \"the new index trades 8% of speed for 40% of memory\"

An accepted Problem is neither open nor fixed: it leaves `problems`, `users` and `notify`, and
keeps who accepted it and why (`show`). Should the series later return, it becomes fixed.")]
pub(crate) struct AcceptArgs {
    /// The metric Problem's id
    problem: i64,
    /// Who accepts it
    #[arg(long, value_name = "NAME")]
    by: String,
    /// Why the new level is the normal one
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    output: FormatFlag,
}

pub(crate) fn exec_accept(args: AcceptArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let view = metrics::accept(
        store.as_mut(),
        &ctx.settings,
        args.problem,
        &args.by,
        &args.reason,
    )?;
    ctx.out
        .view(args.output.format, &view, |out, view: &ProblemView| {
            out.line(&format!(
                "Problem {} ({}) accepted by {}",
                view.id,
                safe(view.test.as_bytes()),
                safe(args.by.as_bytes())
            ))
        })?;
    Ok(0)
}
