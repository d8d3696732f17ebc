//! A build's blamelist from a git repository: the commits after the previous build's revision, up to
//! and including this build's (all parents), with their authors and messages.

use std::path::Path;
use std::process::Command;

use crate::clock;
use crate::error::{Error, Result};
use crate::store::ChangeRecord;

/// Resolves `revision` (a sha, a short sha, a ref) to a full commit id.
pub(crate) fn resolve(repo: &Path, revision: &str) -> Result<String> {
    let out = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{revision}^{{commit}}"),
        ],
    )?;
    if !out.status.success() {
        return Err(Error::bad_input(format!(
            "revision `{revision}` is not a commit in the git repository {}",
            repo.display()
        ))
        .hint("fetch it first, or check --revision"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The changes of a build at `revision` whose lane's previous build was at `previous`:
/// `git rev-list previous..revision`, or `revision` alone where there is no previous build or it is
/// not an ancestor. Oldest first.
pub(crate) fn changes(
    repo: &Path,
    previous: Option<&str>,
    revision: &str,
) -> Result<Vec<ChangeRecord>> {
    let range = match previous {
        Some(prev) if prev != revision && is_ancestor(repo, prev, revision)? => {
            vec![format!("{prev}..{revision}")]
        }
        Some(prev) if prev == revision => return Ok(Vec::new()),
        _ => vec!["-1".to_owned(), revision.to_owned()],
    };
    let mut args = vec![
        "log",
        "--reverse",
        "--format=%H%x1f%an <%ae>%x1f%at%x1f%P%x1f%B%x1e",
    ];
    if range.len() == 2 {
        // `--reverse` applies after `-1`, so the one commit is still the one at `revision`.
        args.retain(|a| *a != "--reverse");
    }
    args.extend(range.iter().map(String::as_str));
    let out = git(repo, &args)?;
    if !out.status.success() {
        return Err(Error::bad_input(format!(
            "git log failed in {}: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut changes = Vec::new();
    for record in text.split('\x1e') {
        let record = record.trim_start_matches('\n');
        if record.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = record.splitn(5, '\x1f').collect();
        let [sha, author, time, parents, body] = fields[..] else {
            continue;
        };
        changes.push(ChangeRecord {
            revision: sha.to_owned(),
            author: Some(author.to_owned()),
            time: time
                .parse::<i64>()
                .ok()
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(clock::to_micros),
            comments: Some(body.trim_end().to_owned()),
            parents: Some(parents.to_owned()),
        });
    }
    Ok(changes)
}

/// The unified diff between two revisions (`git diff -M FROM TO`), for coverage's line classes.
pub(crate) fn diff(repo: &Path, from: &str, to: &str) -> Result<String> {
    let out = git(
        repo,
        &["diff", "-M", "--no-color", "--no-ext-diff", from, to, "--"],
    )?;
    if !out.status.success() {
        return Err(Error::bad_input(format!(
            "git diff {from} {to} failed in {}: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .hint("fetch both revisions into the repository given with --git"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_ancestor(repo: &Path, ancestor: &str, revision: &str) -> Result<bool> {
    let out = git(repo, &["merge-base", "--is-ancestor", ancestor, revision])?;
    Ok(out.status.success())
}

fn git(repo: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| {
            Error::bad_input(format!("cannot run git for --git {}: {e}", repo.display()))
                .hint("install git, or give the blamelist with --change REV:AUTHOR")
        })
}

/// `--change REV:AUTHOR`.
pub(crate) fn parse_change(text: &str) -> Result<ChangeRecord> {
    let (revision, author) = text.split_once(':').unwrap_or((text, ""));
    if revision.trim().is_empty() {
        return Err(Error::usage(format!(
            "--change `{text}`: expected REV:AUTHOR, e.g. `--change 3f2a9c1:\"Ada Lovelace <ada@example.org>\"`"
        )));
    }
    let author = author.trim();
    Ok(ChangeRecord {
        revision: revision.trim().to_owned(),
        author: (!author.is_empty()).then(|| author.to_owned()),
        time: None,
        comments: None,
        parents: None,
    })
}
