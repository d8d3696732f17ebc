//! `probtrack link PROBLEM URL` and `probtrack note PROBLEM TEXT`: what people know about a
//! Problem, kept on its stable id.

use crate::cli::Context;
use crate::clock;
use crate::error::{Error, Result};
use crate::store::{OpenMode, ProblemFilter, ProblemRecord, Store};

/// Link a Problem to a bug (or mark the link closed, or remove it)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack link 12 https://bugs.example.org/1234
  probtrack link 12 https://bugs.example.org/1234 --closed   # the bug is closed
  probtrack link 12 https://bugs.example.org/1234 --remove

`show`, `problems` (JSON `links`) and the HTML report show links. When the test fails again while
its last Problem carries an open link, the new Problem says so (`earlier_links`).")]
pub struct LinkArgs {
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
pub struct NoteArgs {
    /// The Problem's id
    problem: i64,
    /// The note
    text: String,
    /// Who wrote it
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
}

/// The Problem with this id, or a bad-input error (exit 3), which says so when a known-bad range
/// hides it.
pub fn find_problem(store: &mut dyn Store, id: i64) -> Result<ProblemRecord> {
    let problem = store
        .problems(&ProblemFilter {
            ids: Some(vec![id]),
            hidden: true,
            ..ProblemFilter::default()
        })?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::bad_input(format!("there is no Problem {id}"))
                .hint("`probtrack problems --all --intermittent` lists them")
        })?;
    if problem.hidden {
        return Err(Error::bad_input(format!(
            "Problem {id} is hidden: every failure of it lies in a known-bad range"
        ))
        .hint(
            "`probtrack mark-bad --list` shows the ranges; `unmark-bad` brings it back, id and all",
        ));
    }
    Ok(problem)
}

pub fn exec_link(args: LinkArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    if args.url.trim().is_empty() {
        return Err(Error::usage("the link is empty"));
    }
    find_problem(store.as_mut(), args.problem)?;
    let line = if args.remove {
        if !store.remove_link(args.problem, &args.url)? {
            return Err(Error::bad_input(format!(
                "Problem {} has no link {}",
                args.problem, args.url
            )));
        }
        format!("removed the link from Problem {}", args.problem)
    } else {
        store.set_link(
            args.problem,
            &args.url,
            !args.closed,
            clock::to_micros(clock::now()),
        )?;
        format!(
            "linked Problem {} to {}{}",
            args.problem,
            crate::report::safe(args.url.as_bytes()),
            if args.closed { " (closed)" } else { "" }
        )
    };
    ctx.out.line(&line)?;
    Ok(0)
}

pub fn exec_note(args: NoteArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    if args.text.trim().is_empty() {
        return Err(Error::usage("the note is empty"));
    }
    find_problem(store.as_mut(), args.problem)?;
    store.add_note(
        args.problem,
        &args.text,
        args.author.as_deref(),
        clock::to_micros(clock::now()),
    )?;
    ctx.out
        .line(&format!("added a note to Problem {}", args.problem))?;
    Ok(0)
}
