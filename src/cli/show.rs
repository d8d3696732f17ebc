//! `probtrack show PROBLEM_ID`: a Problem's whole story.

use crate::cli::{Context, FormatFlag};
use crate::error::Result;
use crate::report::{safe, safe_short, short_author, short_rev, Out};
use crate::store::OpenMode;
use crate::story;
use crate::views::show::ShowView;

/// Show a Problem's whole story: each builder's builds, messages, changes and people
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack show 12
  probtrack show 12 --format json

Problem ids are in the first column of `probtrack problems`.")]
pub(crate) struct Args {
    /// The Problem's id
    id: i64,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let view = story::show(store.as_mut(), &ctx.settings, args.id)?;
    ctx.out.view(args.output.format, &view, table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &ShowView) -> Result<()> {
    let p = &view.problem;
    out.line(&format!(
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
    out.line(&format!(
        "First failed in {} #{} at {}; {} failures on {}.",
        safe(p.first_failure.builder.as_bytes()),
        p.first_failure.build,
        p.first_failure.time,
        p.failures,
        safe(p.builders.join(", ").as_bytes())
    ))?;
    if let Some(fixed) = &p.fixed {
        out.line(&format!(
            "Fixed in {} #{} at {}.",
            safe(fixed.builder.as_bytes()),
            fixed.build,
            fixed.time
        ))?;
    }
    if p.state == "retired" {
        out.line("Not fixed: every builder that failed it was retired before it passed again.")?;
    }
    if let Some(message) = &p.message {
        out.line(&format!("Message: {}", safe(message.as_bytes())))?;
    }
    if let Some(coverage) = &p.coverage {
        let ranges = crate::coverage::record::ranges;
        let mut lines = format!("Lines owed: {}", ranges(&coverage.lines));
        if !coverage.lost.is_empty() {
            lines += &format!("; lost where it started: {}", ranges(&coverage.lost));
        }
        if !coverage.uncovered_new.is_empty() {
            lines += &format!(
                "; new and uncovered there: {}",
                ranges(&coverage.uncovered_new)
            );
        }
        out.line(&lines)?;
        for t in &coverage.tests {
            let problem = t.problem.map_or_else(
                || "no Problem of its own".to_owned(),
                |id| format!("Problem {id}, `probtrack show {id}`"),
            );
            out.line(&format!(
                "Broke where it started: {} ({problem})",
                safe(t.test.as_bytes())
            ))?;
        }
    }
    if let Some(cluster) = &p.cluster {
        out.line(&format!(
            "Cluster: {cluster} (`probtrack clusters` lists the failures it shares a cause with)"
        ))?;
    }
    for link in &p.links {
        out.line(&format!(
            "Link: {} ({})",
            safe(link.url.as_bytes()),
            link.state
        ))?;
    }
    for link in &p.earlier_links {
        out.line(&format!(
            "Fails again while Problem {}'s link is open: {}",
            link.problem,
            safe(link.url.as_bytes())
        ))?;
    }
    for note in &p.notes {
        out.line(&format!(
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
    out.table(&["", "change", "author", "message"], rows)?;
    for b in &view.timeline {
        let rows = b
            .builds
            .iter()
            .map(|t| {
                let status = t
                    .status
                    .and_then(|s| s.parse().ok())
                    .map_or_else(|| "-".into(), |s| out.status_cell(s));
                vec![
                    t.build.into(),
                    t.revision.as_deref().map(short_rev).unwrap_or("").into(),
                    t.time.clone().into(),
                    status,
                    safe(t.message.as_deref().unwrap_or("").as_bytes()).into(),
                ]
            })
            .collect();
        out.line(&safe(b.builder.as_bytes()))?;
        out.table(&["build", "revision", "time", "status", "message"], rows)?;
    }
    Ok(())
}
