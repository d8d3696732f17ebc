//! `probtrack link PROBLEM URL` and `probtrack note PROBLEM TEXT`: what people know about a
//! Problem, kept on its stable id.

use crate::cli::Context;
use crate::error::Result;
use crate::report::safe;
use crate::store::OpenMode;
use crate::triage::{self, LinkChange};

/// Link a Problem to a bug (or mark the link closed, or remove it)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack link 12 https://bugs.example.org/1234
  probtrack link 12 https://bugs.example.org/1234 --closed   # the bug is closed
  probtrack link 12 https://bugs.example.org/1234 --remove

`show`, `problems` (JSON `links`) and the HTML report show links. When the test fails again while
its last Problem carries an open link, the new Problem says so (`earlier_links`).")]
pub(crate) struct LinkArgs {
    /// The Problem's id
    problem: i64,
    /// The bug's address
    url: String,
    /// The linked bug is closed
    #[arg(long, conflicts_with = "remove")]
    closed: bool,
    /// Remove the link
    #[arg(long)]
    remove: bool,
}

/// Add a note to a Problem
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack note 12 \"the lab's DNS was down; rerun\"
  probtrack note 12 \"bisected to the locale change\" --author dave

`show`, `problems` (JSON `notes`) and the HTML report show notes, oldest first.")]
pub(crate) struct NoteArgs {
    /// The Problem's id
    problem: i64,
    /// The note
    text: String,
    /// Who wrote it
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
}

pub(super) fn exec_link(args: LinkArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let change = match (args.remove, args.closed) {
        (true, _) => LinkChange::Remove,
        (false, true) => LinkChange::Closed,
        (false, false) => LinkChange::Open,
    };
    triage::link(store.as_mut(), args.problem, &args.url, change)?;
    let line = match change {
        LinkChange::Remove => format!("removed the link from Problem {}", args.problem),
        _ => format!(
            "linked Problem {} to {}{}",
            args.problem,
            safe(args.url.as_bytes()),
            if args.closed { " (closed)" } else { "" }
        ),
    };
    ctx.out.line(&line)?;
    Ok(0)
}

pub(super) fn exec_note(args: NoteArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    triage::note(
        store.as_mut(),
        args.problem,
        &args.text,
        args.author.as_deref(),
    )?;
    ctx.out
        .line(&format!("added a note to Problem {}", args.problem))?;
    Ok(0)
}
