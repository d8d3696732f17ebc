//! `probtrack problems`: one row per Problem.

use clap::ValueEnum;
use probtrack_parsers::Kind;

use crate::cli::{BranchFlag, Context, FormatFlag, LimitFlag};
use crate::error::Result;
use crate::report::{safe, short_author, short_rev, Out};
use crate::store::OpenMode;
use crate::triage::{self, Listing};
use crate::views::problems::ProblemView;

/// List Problems: runs of consecutive failures of one test, with who started and fixed them
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("limit", |a| a.help("At most this many Problems, newest first")),
    after_help = "\
Examples:
  probtrack problems                      # open Problems that are real breakage
  probtrack problems --all --intermittent # everything, flaky ones included
  probtrack problems --user ada@example.org --format json

By default intermittent Problems (a flaky test's failures) are left out; --intermittent shows them."
)]
pub(crate) struct Args {
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
    #[command(flatten)]
    branch: BranchFlag,
    #[command(flatten)]
    limit: LimitFlag,
    #[command(flatten)]
    output: FormatFlag,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Test,
    Compile,
    Metric,
    Coverage,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let listing = Listing {
        open: if args.all { None } else { Some(!args.fixed) },
        intermittent: args.intermittent,
        branch: args.branch.resolve(&ctx.settings),
        builder: args.builder,
        user: args.user,
        kind: args.kind.map(|k| match k {
            KindArg::Test => Kind::Test,
            KindArg::Compile => Kind::Compile,
            KindArg::Metric => Kind::Metric,
            KindArg::Coverage => Kind::Coverage,
        }),
        limit: args.limit.limit,
    };
    let view = triage::list(store.as_mut(), &ctx.settings, &listing)?;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[ProblemView]) -> Result<()> {
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
    out.table(
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
    )
}
