//! `probtrack users`: who is on the hook for which open Problems.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::{listing_branch, Context};
use crate::error::Result;
use crate::people;
use crate::report::{safe, OutputFormat};
use crate::store::{OpenMode, ProblemFilter};

/// Show who is on the hook for which open Problems, and who fixed the last ones
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack users
  probtrack users --format json

A person is an author of a Problem's starting changes; the settings' users map merges the names and
addresses one person commits under.")]
pub struct Args {
    /// Only this branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Count intermittent Problems too
    #[arg(long)]
    intermittent: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Default, Serialize)]
struct UserView {
    user: String,
    chat: Option<String>,
    authors: Vec<String>,
    /// Ids of the open Problems this person's changes started.
    open_problems: Vec<i64>,
    /// How many Problems (open or fixed) this person's changes started.
    started: u64,
    /// How many Problems this person's changes fixed.
    fixed: u64,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let problems = store.problems(&ProblemFilter {
        intermittent: (!args.intermittent).then_some(false),
        branch: Some(listing_branch(args.branch.as_deref(), &ctx.settings)),
        ..ProblemFilter::default()
    })?;
    let mut users: BTreeMap<String, UserView> = BTreeMap::new();
    for problem in &problems {
        for (role, changes) in [("start", &problem.started_by), ("fix", &problem.fixed_by)] {
            let mut counted: Vec<String> = Vec::new();
            for author in changes.iter().filter_map(|c| c.author.as_deref()) {
                let person = people::person(&ctx.settings, author);
                let entry = users.entry(person.name.clone()).or_default();
                entry.user.clone_from(&person.name);
                entry.chat = person.entry.and_then(|e| e.chat.clone());
                if !entry.authors.iter().any(|a| a == author) {
                    entry.authors.push(author.to_owned());
                }
                if counted.contains(&person.name) {
                    continue;
                }
                counted.push(person.name.clone());
                if role == "start" {
                    entry.started += 1;
                    if problem.open {
                        entry.open_problems.push(problem.id);
                    }
                } else {
                    entry.fixed += 1;
                }
            }
        }
    }
    let mut view: Vec<UserView> = users.into_values().collect();
    view.sort_by(|a, b| {
        b.open_problems
            .len()
            .cmp(&a.open_problems.len())
            .then(a.user.cmp(&b.user))
    });
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&view)?,
        OutputFormat::Table => {
            let rows = view
                .iter()
                .map(|u| {
                    vec![
                        safe(u.user.as_bytes()).into(),
                        u.open_problems.len().into(),
                        u.open_problems
                            .iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                            .into(),
                        u.started.into(),
                        u.fixed.into(),
                        safe(u.chat.as_deref().unwrap_or("").as_bytes()).into(),
                    ]
                })
                .collect();
            ctx.out.table(
                &["user", "open", "open Problems", "started", "fixed", "chat"],
                rows,
            )?;
        }
    }
    Ok(0)
}
