//! Finding what a user names: a test (an exact identity wins; else a case-sensitive part of
//! exactly one identity), or a Problem by its id.

use bstr::ByteSlice;

use crate::error::{Error, Result};
use crate::store::{ProblemFilter, ProblemRecord, Store, TestRecord, Tests};

/// How many candidates an ambiguous name lists.
const CANDIDATES: usize = 20;

/// The test `query` names, or an error (exit 3) that lists the candidates.
pub(crate) fn find_test(store: &mut dyn Store, query: &str) -> Result<TestRecord> {
    if let Some(test) = store.test_by_name(query.as_bytes())? {
        return Ok(test);
    }
    let mut found = store.tests(Tests::Containing(query.as_bytes(), CANDIDATES + 1))?;
    match found.len() {
        0 => Err(Error::bad_input(format!("no test matches `{query}`"))
            .hint("give a whole test identity or a unique part of one; `probtrack problems --all` lists tests with Problems")),
        1 => Ok(found.remove(0)),
        n => Err(Ambiguous {
            query: query.to_owned(),
            candidates: found
                .iter()
                .take(CANDIDATES)
                .map(|t| t.name.to_str_lossy().into_owned())
                .collect(),
            more: n > CANDIDATES,
        }
        .into()),
    }
}

/// The Problem with this id, or a bad-input error (exit 3), which says so when a known-bad range
/// hides it.
pub(crate) fn find_problem(store: &mut dyn Store, id: i64) -> Result<ProblemRecord> {
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

/// Several tests match: the candidates, for a message or for `{candidates: [...]}` JSON.
#[derive(Debug)]
pub struct Ambiguous {
    pub query: String,
    pub candidates: Vec<String>,
    pub more: bool,
}

impl From<Ambiguous> for Error {
    fn from(a: Ambiguous) -> Error {
        let list = a
            .candidates
            .iter()
            .map(|c| format!("  {}", crate::report::safe(c.as_bytes())))
            .collect::<Vec<_>>()
            .join("\n");
        let more = if a.more { "\n  …" } else { "" };
        let mut error = Error::bad_input(format!(
            "`{}` matches several tests:\n{list}{more}",
            a.query
        ))
        .hint("give the whole identity, or a part that only one test has");
        error.candidates = Some(a.candidates);
        error
    }
}
