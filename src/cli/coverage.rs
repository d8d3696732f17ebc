//! `probtrack coverage [FILE]`: a builder's latest test coverage, or one file's lines.

use std::path::PathBuf;

use crate::cli::{BranchFlag, Context, FormatFlag};
use crate::coverage::view::{self, Selection};
use crate::error::{Error, Result};
use crate::report::{safe, short_rev, Out};
use crate::store::OpenMode;
use crate::views::coverage::{CoverageFile, CoverageSummary};

/// Show test coverage: totals, every file with its change, the trend and the open coverage
/// Problems; or one file's lines
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack coverage
  probtrack coverage --builder linux --build 41 --format json
  probtrack coverage src/calc.c --git .

Coverage comes from `ingest` (coverage reports among the reports, or `--coverage FILE`;
docs/coverage.md). Without --builder, the builder whose latest coverage is the newest. A file's
change is its line coverage against the builder's previous build with coverage; `coverage FILE`
classifies each line against it (genhtml's codes: UNC new and uncovered, LBC lost, GNC, CBC, …),
with the git diff between the two revisions when --git names the repository.")]
pub(crate) struct Args {
    /// One source file (its path relative to the source root): its lines
    #[arg(value_name = "FILE")]
    file: Option<String>,
    /// The builder [default: the one whose latest coverage is the newest]
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    /// The build [default: the builder's latest with coverage]
    #[arg(long = "build", value_name = "NUMBER", allow_negative_numbers = true)]
    number: Option<i64>,
    /// The git repository of the source, for the classes of a file's lines
    #[arg(long, value_name = "DIR")]
    git: Option<PathBuf>,
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    output: FormatFlag,
}

pub(crate) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let selection = Selection {
        builder: args.builder.clone(),
        branch: args.branch.resolve(&ctx.settings),
        build: args.number,
    };
    let where_ = || {
        let mut text = String::new();
        if let Some(b) = &args.builder {
            text += &format!(" on builder {}", safe(b.as_bytes()));
        }
        if let Some(n) = args.number {
            text += &format!(" in build {n}");
        }
        text
    };
    match &args.file {
        None => {
            let Some(summary) = view::summary(store.as_mut(), &selection)? else {
                return Err(
                    Error::bad_input(format!("no coverage recorded{}", where_())).hint(
                        "ingest coverage reports with the test reports, or with --coverage FILE",
                    ),
                );
            };
            ctx.out.view(args.output.format, &summary, summary_table)?;
        }
        Some(path) => {
            let found = view::file(store.as_mut(), &selection, path, args.git.as_deref())?;
            let Some(file) = found else {
                return Err(Error::bad_input(format!(
                    "no coverage of {}{}",
                    safe(path.as_bytes()),
                    where_()
                ))
                .hint("`probtrack coverage` lists the files with coverage"));
            };
            ctx.out.view(args.output.format, &file, file_table)?;
        }
    }
    Ok(0)
}

fn pct(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.2}%"))
        .unwrap_or_else(|| "-".to_owned())
}

fn summary_table(out: &mut Out<'_>, s: &CoverageSummary) -> Result<()> {
    let t = &s.totals;
    let change = match (&s.previous_totals, s.previous_build) {
        (Some(p), Some(b)) => match (t.lines_percent, p.lines_percent) {
            (Some(a), Some(b2)) => format!(" ({:+.2} since #{b})", a - b2),
            _ => String::new(),
        },
        _ => String::new(),
    };
    out.line(&format!(
        "{} #{} at {}: lines {} ({} of {}){change}, branches {} ({} of {}), {} files",
        safe(s.builder.as_bytes()),
        s.build,
        safe(s.revision.as_deref().map_or("-", short_rev).as_bytes()),
        pct(t.lines_percent),
        t.lines_covered,
        t.lines_total,
        pct(t.branches_percent),
        t.branches_covered,
        t.branches_total,
        t.files
    ))?;
    let trend: Vec<f64> = s.trend.iter().filter_map(|p| p.lines_percent).collect();
    if trend.len() > 1 {
        out.line(&format!(
            "trend (last {} builds): {}",
            trend.len(),
            super::metrics::sparkline(&trend)
        ))?;
    }
    let rows = s
        .files
        .iter()
        .map(|f| {
            vec![
                safe(f.path.as_bytes()).into(),
                pct(f.lines_percent).into(),
                format!("{}/{}", f.lines_covered, f.lines_total).into(),
                pct(f.branches_percent).into(),
                if f.new {
                    "new".to_owned()
                } else {
                    f.change.map(|c| format!("{c:+.2}")).unwrap_or_default()
                }
                .into(),
                if f.lost > 0 {
                    f.lost.to_string()
                } else {
                    String::new()
                }
                .into(),
            ]
        })
        .collect();
    out.table(
        &["file", "lines", "covered", "branches", "change", "lost"],
        rows,
    )?;
    for f in &s.flaky {
        let builds: Vec<String> = f.builds.iter().map(|b| format!("#{b}")).collect();
        out.line(&format!(
            "flaky coverage: {} (lines stopped running with no change in {}; last: {})",
            safe(f.path.as_bytes()),
            builds.join(", "),
            crate::coverage::record::ranges(&f.lines)
        ))?;
    }
    if s.problems.is_empty() {
        return out.line("no open coverage Problems");
    }
    out.line("open coverage Problems:")?;
    for p in &s.problems {
        out.line(&format!(
            "  {} {}: {}",
            p.id,
            safe(p.path.as_bytes()),
            safe(p.message.as_deref().unwrap_or("").as_bytes())
        ))?;
    }
    Ok(())
}

fn file_table(out: &mut Out<'_>, f: &CoverageFile) -> Result<()> {
    out.line(&format!(
        "{} in {} #{}{}: lines {} ({} of {}), branches {}",
        safe(f.path.as_bytes()),
        safe(f.builder.as_bytes()),
        f.build,
        f.previous_build
            .map(|p| format!(
                " (against #{p}{})",
                if f.diff { ", with the git diff" } else { "" }
            ))
            .unwrap_or_default(),
        pct(f.totals.lines_percent),
        f.totals.lines_covered,
        f.totals.lines_total,
        pct(f.totals.branches_percent),
    ))?;
    let rows = f
        .lines
        .iter()
        .map(|l| {
            vec![
                l.line.into(),
                if l.partial {
                    "partial"
                } else if l.covered {
                    "covered"
                } else {
                    "uncovered"
                }
                .into(),
                view::hits_text(l.hits).into(),
                match (l.branches_covered, l.branches_total) {
                    (Some(c), Some(t)) => format!("{c}/{t}"),
                    _ => String::new(),
                }
                .into(),
                l.class.unwrap_or("").into(),
            ]
        })
        .collect();
    out.table(&["line", "coverage", "hits", "branches", "class"], rows)
}
