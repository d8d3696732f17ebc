//! A build's blamelist from a git repository: the commits after the previous build's revision, up to
//! and including this build's (all parents), with their authors and messages.

use std::path::Path;
use std::process::Command;

use crate::clock;
use crate::error::{Error, Result};
use crate::store::ChangeRecord;

/// A revision as git's command line may take it: one that starts with `-` would be read as an
/// option (`--output=FILE` writes a file), and one with control characters or spaces is no
/// revision; both come from a database or a CI server, so they are refused, not passed on.
fn checked(revision: &str) -> Result<&str> {
    if revision.is_empty()
        || revision.starts_with('-')
        || revision
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::bad_input(format!(
            "`{}` is not a revision git can be asked about",
            revision.escape_debug()
        ))
        .hint("a revision is a commit id or a ref name, which never starts with `-`"));
    }
    Ok(revision)
}

/// Resolves `revision` (a sha, a short sha, a ref) to a full commit id.
pub(crate) fn resolve(repo: &Path, revision: &str) -> Result<String> {
    let revision = checked(revision)?;
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
    let revision = checked(revision)?;
    let previous = previous.map(checked).transpose()?;
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
    let (from, to) = (checked(from)?, checked(to)?);
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

/// Every file of the tree at `revision` (`git ls-tree -r -z --name-only`), repository-relative,
/// for fixing coverage paths that are not (JaCoCo's package paths, Go's import paths).
pub(crate) fn tree_files(repo: &Path, revision: &str) -> Result<Vec<String>> {
    let revision = checked(revision)?;
    let out = git(
        repo,
        &["ls-tree", "-r", "-z", "--name-only", revision, "--"],
    )?;
    if !out.status.success() {
        return Err(Error::bad_input(format!(
            "git ls-tree {revision} failed in {}: {}",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .hint("give --git the repository the builds built, and fetch the revision"));
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// The text of `paths` at `revision` (`git cat-file --batch`, one process for them all), by
/// path: a path that is not a file there, names no blob, or is larger than `max_bytes` is left
/// out. Not UTF-8 text is read lossily.
pub(crate) fn files_at(
    repo: &Path,
    revision: &str,
    paths: &[&str],
    max_bytes: u64,
) -> Result<std::collections::HashMap<String, String>> {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;

    let failed = |e: std::io::Error| {
        Error::bad_input(format!("cannot run git for --git {}: {e}", repo.display()))
            .hint("install git, or leave --git out (the pages then show no source)")
    };
    // A name with a newline cannot be asked for in batch mode; it is left out.
    let asked: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| !p.contains('\n'))
        .collect();
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(failed)?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let requests: String = asked.iter().map(|p| format!("{revision}:{p}\n")).collect();
    // Written from a thread: git answers while it reads, and a full pipe would stop both.
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut files = std::collections::HashMap::new();
    let mut header = String::new();
    for path in &asked {
        header.clear();
        if out.read_line(&mut header).map_err(failed)? == 0 {
            break;
        }
        // `<oid> blob <size>`, or `<name> missing` / `ambiguous`.
        let fields: Vec<&str> = header.split_whitespace().collect();
        let size = match fields[..] {
            [_, kind, size] => size.parse::<u64>().ok().map(|s| (kind, s)),
            _ => None,
        };
        let Some((kind, size)) = size else { continue };
        let mut body = Vec::new();
        (&mut out)
            .take(size + 1)
            .read_to_end(&mut body)
            .map_err(failed)?;
        body.truncate(size as usize);
        if kind == "blob" && size <= max_bytes {
            files.insert(
                (*path).to_owned(),
                String::from_utf8_lossy(&body).into_owned(),
            );
        }
    }
    let _ = writer.join();
    let status = child.wait().map_err(failed)?;
    if !status.success() {
        return Err(Error::bad_input(format!(
            "git cat-file failed in {}: is it a git repository?",
            repo.display()
        ))
        .hint("give --git the repository the builds built"));
    }
    Ok(files)
}

fn is_ancestor(repo: &Path, ancestor: &str, revision: &str) -> Result<bool> {
    let (ancestor, revision) = (checked(ancestor)?, checked(revision)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A revision from a database or a CI server that looks like an option never reaches git's
    /// command line: `--output=FILE` would make `git diff` write FILE.
    #[test]
    fn a_revision_that_looks_like_an_option_is_refused_before_git_runs() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let init = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["init", "-q"])
            .status()
            .unwrap();
        assert!(init.success());
        let target = repo.join("written");
        let option = format!("--output={}", target.display());
        let err = diff(repo, &option, "HEAD").unwrap_err();
        assert!(err.to_string().contains("not a revision"), "{err}");
        assert!(!target.exists(), "git wrote the file");
        assert!(changes(repo, Some(&option), "HEAD").is_err());
        assert!(changes(repo, None, &option).is_err());
        assert!(resolve(repo, "-p").is_err());
        assert!(resolve(repo, "main\nx").is_err());
    }
}
