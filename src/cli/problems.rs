//! `probtrack problems`: one row per Problem.

use clap::ValueEnum;

use crate::cli::{listing_branch, Context};
use crate::error::Result;
use crate::people;
use crate::report::{safe, OutputFormat};
use crate::report::{short_author, short_rev};
use crate::store::{OpenMode, ProblemFilter};
use crate::views::problems::ProblemView;

/// List Problems: runs of consecutive failures of one test, with who started and fixed them
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack problems                      # open Problems that are real breakage
  probtrack problems --all --intermittent # everything, flaky ones included
  probtrack problems --user ada@example.org --format json

By default intermittent Problems (a flaky test's failures) are left out; --intermittent shows them.")]
pub struct Args {
    /// Open Problems only (the default)
    #[arg(long, group = "state")]
    open: bool,
    /// Fixed Problems only
    #[arg(long, group = "state")]
    fixed: bool,
    /// Open and fixed Problems
    #[arg(long, group = "state")]
    all: bool,
    /// Include intermittent Problems (flaky tests)
    #[arg(long)]
    intermittent: bool,
    /// Only Problems that failed on this builder
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    /// Only Problems whose starting changes are by this person (name, e-mail, or a person from the users map)
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Only tests, or only compiler diagnostics
    #[arg(long, value_enum, value_name = "KIND")]
    kind: Option<KindArg>,
    /// Only this branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// At most this many Problems, newest first
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Test,
    Compile,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let filter = ProblemFilter {
        open: if args.all { None } else { Some(!args.fixed) },
        intermittent: (!args.intermittent).then_some(false),
        branch: Some(listing_branch(args.branch.as_deref(), &ctx.settings)),
        ..ProblemFilter::default()
    };
    let all = store.problems(&filter)?;
    let mut records: Vec<&crate::store::ProblemRecord> = all
        .iter()
        .filter(|p| {
            args.builder
                .as_ref()
                .is_none_or(|b| p.builders.iter().any(|x| x.builder == *b))
        })
        .filter(|p| {
            args.kind.is_none_or(|k| {
                p.kind.as_str()
                    == if k == KindArg::Test {
                        "test"
                    } else {
                        "compile"
                    }
            })
        })
        .filter(|p| {
            args.user.as_ref().is_none_or(|u| {
                p.started_by
                    .iter()
                    .filter_map(|c| c.author.as_deref())
                    .any(|a| people::matches(&ctx.settings, u, a))
            })
        })
        .collect();
    if let Some(limit) = args.limit {
        records.truncate(limit);
    }
    let mut view: Vec<ProblemView> = records
        .iter()
        .map(|p| ProblemView::new(p, &ctx.settings))
        .collect();
    crate::triage::annotate(store.as_mut(), &records, &mut view)?;
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&view)?,
        OutputFormat::Table => {
            let rows = view
                .iter()
                .map(|p| {
                    let suspects: Vec<String> = p
                        .started_by
                        .iter()
                        .map(|c| {
                            format!(
                                "{} {}",
                                short_rev(&c.revision),
                                c.author.as_deref().map(short_author).unwrap_or("?")
                            )
                        })
                        .collect();
                    let state = match (p.state, p.intermittent) {
                        ("open", true) => "open (intermittent)",
                        ("fixed", true) => "fixed (intermittent)",
                        ("retired", true) => "retired (intermittent)",
                        (state, _) => state,
                    };
                    vec![
                        p.id.into(),
                        safe(&p.test_bytes).into(),
                        state.into(),
                        safe(p.builders.join(", ").as_bytes()).into(),
                        format!("{} #{}", p.first_failure.builder, p.first_failure.build).into(),
                        p.failures.into(),
                        safe(suspects.join(", ").as_bytes()).into(),
                        safe(p.message.as_deref().unwrap_or("").as_bytes()).into(),
                        p.cluster.as_deref().unwrap_or("").into(),
                        safe(
                            p.links
                                .iter()
                                .map(|l| l.url.as_str())
                                .chain(p.earlier_links.iter().map(|l| l.url.as_str()))
                                .collect::<Vec<_>>()
                                .join(" ")
                                .as_bytes(),
                        )
                        .into(),
                    ]
                })
                .collect();
            ctx.out.table(
                &[
                    "id",
                    "test",
                    "state",
                    "builders",
                    "since",
                    "failures",
                    "started by",
                    "message",
                    "cluster",
                    "links",
                ],
                rows,
            )?;
        }
    }
    Ok(0)
}
