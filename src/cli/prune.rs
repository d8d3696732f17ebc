//! `probtrack prune`: drop old builds and results, keeping every Problem's story.

use crate::cli::{Context, FormatFlag};
use crate::clock;
use crate::error::{Error, Result};
use crate::prune;
use crate::report::safe;
use crate::store::OpenMode;

/// Drop builds and results older than a limit; Problems and what open ones need are kept
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack prune --older-than 30d --dry-run
  probtrack prune --older-than 26w

The limit is --older-than, else `prune_days` in probtrack.toml. Problems are never dropped; a
Problem still open keeps every build from the last pass before it.")]
pub(crate) struct Args {
    /// How old a build must be to go: a number of weeks (`12w`), days (`30d`), hours (`48h`),
    /// minutes (`90min`; a bare `m` is refused, it could mean months) or seconds (`3600s`)
    #[arg(long, value_name = "AGE")]
    older_than: Option<String>,
    /// Only say what would go
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    output: FormatFlag,
}

/// `12w`, `30d`, `48h`, `90min`, `3600s`: seconds. A bare `m` is refused: it could mean months.
fn parse_age(text: &str) -> Result<i64> {
    let bad = || {
        Error::usage(format!(
            "--older-than `{text}`: expected a number of weeks, days, hours, minutes or seconds, \
             e.g. 12w, 30d, 48h, 90min, 3600s"
        ))
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "d" => 86_400,
        "w" => 7 * 86_400,
        "h" => 3_600,
        "min" => 60,
        "s" => 1,
        "m" => {
            return Err(bad().hint(format!(
                "`m` could be minutes or months: write {n}min for minutes, or weeks or days \
                 (e.g. {}w) for months",
                n.saturating_mul(4)
            )))
        }
        _ => return Err(bad()),
    };
    Ok(n.saturating_mul(unit))
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let seconds = match (&args.older_than, ctx.settings.prune_days) {
        (Some(text), _) => parse_age(text)?,
        (None, Some(days)) => i64::from(days) * 86_400,
        (None, None) => {
            return Err(Error::usage("how old must a build be to go?")
                .hint("give --older-than 30d, or set prune_days in probtrack.toml"))
        }
    };
    let mut store = ctx.open(OpenMode::Existing)?;
    let pruned = prune::prune(store.as_mut(), seconds, args.dry_run)?;
    ctx.out
        .view(args.output.format, &pruned.lanes[..], |out, lanes| {
            let total: usize = lanes.iter().map(|l| l.builds).sum();
            let rows = lanes
                .iter()
                .map(|l| {
                    vec![
                        safe(l.builder.as_bytes()).into(),
                        l.branch.clone().unwrap_or_default().into(),
                        l.builds.into(),
                        match (l.from, l.to) {
                            (Some(a), Some(b)) => format!("{a}–{b}"),
                            _ => String::new(),
                        }
                        .into(),
                        l.kept_for_problems.into(),
                    ]
                })
                .collect();
            out.table(
                &[
                    "builder",
                    "branch",
                    "builds",
                    "numbers",
                    "kept for Problems",
                ],
                rows,
            )?;
            let done = if args.dry_run {
                "would drop"
            } else {
                "dropped"
            };
            out.line(&format!(
                "{done} {total} builds older than {}",
                clock::rfc3339(pruned.horizon)
            ))
        })?;
    Ok(0)
}
