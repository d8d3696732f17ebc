//! `probtrack show PROBLEM_ID`: a Problem's whole story.

use serde::Serialize;

use crate::cli::Context;
use crate::clock;
use crate::error::Result;
use crate::problems::Branch;
use crate::report::{lossy, safe, safe_short, OutputFormat};
use crate::report::{short_author, short_rev};
use crate::store::OpenMode;
use crate::views::problems::ProblemView;
use crate::views::MESSAGE_LEN;

/// Show a Problem's whole story: each builder's builds, messages, changes and people
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack show 12
  probtrack show 12 --format json

Problem ids are in the first column of `probtrack problems`.")]
pub struct Args {
    /// The Problem's id
    id: i64,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct ShowView {
    #[serde(flatten)]
    problem: ProblemView,
    changes: Vec<ChangeDetail>,
    timeline: Vec<BuilderTimeline>,
}

#[derive(Serialize)]
struct ChangeDetail {
    role: &'static str,
    revision: String,
    author: Option<String>,
    person: Option<String>,
    time: Option<String>,
    comments: Option<String>,
}

#[derive(Serialize)]
struct BuilderTimeline {
    builder: String,
    builds: Vec<TimelineBuild>,
}

#[derive(Serialize)]
struct TimelineBuild {
    build: i64,
    revision: Option<String>,
    time: String,
    status: Option<&'static str>,
    message: Option<String>,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let problem = crate::lookup::find_problem(store.as_mut(), args.id)?;
    // The changes, with their messages.
    let mut changes = Vec::new();
    for (role, list) in [("start", &problem.started_by), ("fix", &problem.fixed_by)] {
        for change in list {
            let full = store.change(&change.revision)?;
            changes.push(ChangeDetail {
                role,
                revision: change.revision.clone(),
                author: change.author.clone(),
                person: change
                    .author
                    .as_deref()
                    .map(|a| crate::people::person(&ctx.settings, a).name),
                time: full.as_ref().and_then(|c| c.time).map(clock::rfc3339),
                comments: full.and_then(|c| c.comments),
            });
        }
    }
    // Each builder's builds from just before the Problem to its fix.
    let branch = Branch::load(store.as_mut(), problem.branch.as_deref())?;
    let lanes = branch.test_lanes(store.as_mut(), problem.test)?;
    let mut timeline = Vec::new();
    for part in &problem.builders {
        let Some(steps) = crate::problems::story_steps(&lanes, part) else {
            continue;
        };
        let mut builds = Vec::new();
        for step in steps {
            let message = if step.status.is_some_and(|s| s.is_failing()) {
                branch
                    .result_message(store.as_mut(), step.build, problem.test)?
                    .map(|m| crate::views::shorten(&lossy(&m), MESSAGE_LEN))
            } else {
                None
            };
            builds.push(TimelineBuild {
                build: step.number,
                revision: step.revision.as_deref().map(str::to_owned),
                time: clock::rfc3339(step.time),
                status: step.status.map(|s| s.as_str()),
                message,
            });
        }
        timeline.push(BuilderTimeline {
            builder: part.builder.clone(),
            builds,
        });
    }
    let mut problem_view = [ProblemView::new(&problem, &ctx.settings)];
    crate::triage::annotate(store.as_mut(), &[&problem], &mut problem_view)?;
    let [problem_view] = problem_view;
    let view = ShowView {
        problem: problem_view,
        changes,
        timeline,
    };
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&[&view.problem])?,
        OutputFormat::Table => {
            let p = &view.problem;
            ctx.out.line(&format!(
                "Problem {}: {} — {}{}",
                p.id,
                safe(&p.test_bytes),
                p.state,
                if p.intermittent {
                    " (intermittent)"
                } else {
                    ""
                }
            ))?;
            ctx.out.line(&format!(
                "First failed in {} #{} at {}; {} failures on {}.",
                safe(p.first_failure.builder.as_bytes()),
                p.first_failure.build,
                p.first_failure.time,
                p.failures,
                safe(p.builders.join(", ").as_bytes())
            ))?;
            if let Some(fixed) = &p.fixed {
                ctx.out.line(&format!(
                    "Fixed in {} #{} at {}.",
                    safe(fixed.builder.as_bytes()),
                    fixed.build,
                    fixed.time
                ))?;
            }
            if p.state == "retired" {
                ctx.out.line(
                    "Not fixed: every builder that failed it was retired before it passed again.",
                )?;
            }
            if let Some(message) = &p.message {
                ctx.out
                    .line(&format!("Message: {}", safe(message.as_bytes())))?;
            }
            if let Some(cluster) = &p.cluster {
                ctx.out.line(&format!(
                    "Cluster: {cluster} (`probtrack clusters` lists the failures it shares a cause with)"
                ))?;
            }
            for link in &p.links {
                ctx.out.line(&format!(
                    "Link: {} ({})",
                    safe(link.url.as_bytes()),
                    link.state
                ))?;
            }
            for link in &p.earlier_links {
                ctx.out.line(&format!(
                    "Fails again while Problem {}'s link is open: {}",
                    link.problem,
                    safe(link.url.as_bytes())
                ))?;
            }
            for note in &p.notes {
                ctx.out.line(&format!(
                    "Note ({}{}): {}",
                    note.time,
                    note.author
                        .as_deref()
                        .map(|a| format!(", {}", safe(a.as_bytes())))
                        .unwrap_or_default(),
                    safe(note.text.as_bytes())
                ))?;
            }
            let rows = view
                .changes
                .iter()
                .map(|c| {
                    vec![
                        (if c.role == "start" {
                            "started"
                        } else {
                            "fixed"
                        })
                        .into(),
                        short_rev(&c.revision).into(),
                        safe(
                            c.author
                                .as_deref()
                                .map(short_author)
                                .unwrap_or("?")
                                .as_bytes(),
                        )
                        .into(),
                        c.comments
                            .as_deref()
                            .map(|m| safe_short(m.as_bytes(), 60))
                            .unwrap_or_default()
                            .into(),
                    ]
                })
                .collect();
            ctx.out.table(&["", "change", "author", "message"], rows)?;
            for b in &view.timeline {
                let rows = b
                    .builds
                    .iter()
                    .map(|t| {
                        let status = t
                            .status
                            .and_then(|s| s.parse().ok())
                            .map_or_else(|| "-".into(), |s| ctx.out.status_cell(s));
                        vec![
                            t.build.into(),
                            t.revision.as_deref().map(short_rev).unwrap_or("").into(),
                            t.time.clone().into(),
                            status,
                            safe(t.message.as_deref().unwrap_or("").as_bytes()).into(),
                        ]
                    })
                    .collect();
                ctx.out.line(&safe(b.builder.as_bytes()))?;
                ctx.out
                    .table(&["build", "revision", "time", "status", "message"], rows)?;
            }
        }
    }
    Ok(0)
}
