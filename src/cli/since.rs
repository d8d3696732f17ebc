//! `probtrack since TEST`: when and where a test started failing, and whose change did it.

use serde::Serialize;

use crate::analyze::Evidence;
use crate::report::{short_author, short_rev};
use crate::cli::{listing_branch, Context};
use crate::clock;
use crate::error::Result;
use crate::problems::Branch;
use crate::report::{lossy, safe, OutputFormat};
use crate::store::{OpenMode, ProblemFilter};
use crate::views::ChangeView;

/// Tell when and where a test started failing, and which change and author started it
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack since tests.test_fmt.test_format_thousands
  probtrack since test_format_thousands --format json

TEST is a whole identity, or a part that only one test has. For a passing test, says when its last
Problem was fixed and by whom.")]
pub struct Args {
    /// The test: its identity, or a unique part of it
    test: String,
    /// The branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct SinceView {
    test: String,
    failing: bool,
    builders: Vec<BuilderSince>,
    started_by: Vec<ChangeView>,
    problem: Option<i64>,
    fixed_by: Vec<ChangeView>,
    /// The build that fixed the last Problem (its number, like `since_build`), and where and when.
    fixed_build: Option<i64>,
    fixed_builder: Option<String>,
    fixed_revision: Option<String>,
    fixed_time: Option<String>,
}

#[derive(Serialize)]
struct BuilderSince {
    builder: String,
    since_build: i64,
    since_revision: Option<String>,
    since_time: String,
    last_pass_build: Option<i64>,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let test = crate::cli::find_test(store.as_mut(), &args.test, args.format, &mut ctx.out)?;
    let branch = listing_branch(args.branch.as_deref(), &ctx.settings);
    let lanes =
        Branch::load(store.as_mut(), branch.as_deref())?.test_lanes(store.as_mut(), test.id)?;
    let mut builders = Vec::new();
    for lane in &lanes {
        if lane.retired {
            continue;
        }
        let evidence: Vec<usize> = (0..lane.steps.len())
            .filter(|&i| lane.steps[i].evidence != Evidence::None)
            .collect();
        let Some(&last) = evidence.last() else {
            continue;
        };
        if !lane.steps[last].evidence.is_fail() {
            continue;
        }
        let last_pass = evidence
            .iter()
            .rev()
            .copied()
            .find(|&i| lane.steps[i].evidence.is_pass());
        let since = evidence
            .iter()
            .copied()
            .find(|&i| last_pass.is_none_or(|p| i > p))
            .unwrap_or(last);
        let step = &lane.steps[since];
        builders.push(BuilderSince {
            builder: lane.builder.clone(),
            since_build: step.number,
            since_revision: step.revision.as_deref().map(str::to_owned),
            since_time: clock::rfc3339(step.time),
            last_pass_build: last_pass.map(|i| lane.steps[i].number),
        });
    }
    let failing = !builders.is_empty();
    let problems = store.problems(&ProblemFilter {
        branch: Some(branch.clone()),
        test: Some(test.id),
        ..ProblemFilter::default()
    })?;
    // Newest first: the open one while failing, else the last one.
    let problem = if failing {
        problems.iter().find(|p| p.open).or(problems.first())
    } else {
        problems.first()
    };
    let fixed = problem.filter(|p| !p.open);
    let view = SinceView {
        test: lossy(&test.name),
        failing,
        builders,
        started_by: problem
            .map(|p| p.started_by.iter().map(Into::into).collect())
            .unwrap_or_default(),
        problem: problem.map(|p| p.id),
        fixed_by: fixed
            .map(|p| p.fixed_by.iter().map(Into::into).collect())
            .unwrap_or_default(),
        fixed_build: fixed.and_then(|p| p.fixed.as_ref()).map(|f| f.number),
        fixed_builder: fixed
            .and_then(|p| p.fixed.as_ref())
            .map(|f| f.builder.clone()),
        fixed_revision: fixed
            .and_then(|p| p.fixed.as_ref())
            .and_then(|f| f.revision.clone()),
        fixed_time: fixed
            .and_then(|p| p.fixed.as_ref())
            .map(|f| clock::rfc3339(f.time)),
    };
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&[&view])?,
        OutputFormat::Table => {
            let people = |changes: &[ChangeView]| -> String {
                changes
                    .iter()
                    .map(|c| {
                        format!(
                            "{} by {}",
                            short_rev(&c.revision),
                            c.author.as_deref().map(short_author).unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let name = safe(view.test.as_bytes());
            if view.failing {
                ctx.out.line(&format!(
                    "{name} is failing (Problem {}).",
                    view.problem.map_or("?".to_owned(), |p| p.to_string())
                ))?;
                let rows = view
                    .builders
                    .iter()
                    .map(|b| {
                        vec![
                            safe(b.builder.as_bytes()).into(),
                            b.since_build.into(),
                            b.since_revision
                                .as_deref()
                                .map(short_rev)
                                .unwrap_or("")
                                .into(),
                            b.since_time.clone().into(),
                            b.last_pass_build
                                .map_or("never".to_owned(), |n| n.to_string())
                                .into(),
                        ]
                    })
                    .collect();
                ctx.out.table(
                    &["builder", "failing since", "revision", "time", "last pass"],
                    rows,
                )?;
                if !view.started_by.is_empty() {
                    ctx.out.line(&format!(
                        "Started by: {}",
                        safe(people(&view.started_by).as_bytes())
                    ))?;
                }
            } else if let (Some(build), Some(builder), Some(time)) =
                (view.fixed_build, &view.fixed_builder, &view.fixed_time)
            {
                ctx.out.line(&format!(
                    "{name} is passing; its last Problem ({}) was fixed in {} #{} at {}{}.",
                    view.problem.unwrap_or_default(),
                    safe(builder.as_bytes()),
                    build,
                    time,
                    if view.fixed_by.is_empty() {
                        String::new()
                    } else {
                        format!(" by {}", safe(people(&view.fixed_by).as_bytes()))
                    }
                ))?;
            } else {
                ctx.out
                    .line(&format!("{name} is passing and has never failed here."))?;
            }
        }
    }
    Ok(0)
}
