//! The flaky ranking: which tests `flaky` lists, and the report's "most flaky tests", in one
//! order. The evidence and the score are `analyze::flaky`'s (`docs/flaky.md`).

use std::collections::HashSet;

use crate::analyze::flaky::{self, Options, Stats, THRESHOLD};
use crate::analyze::signature::signature;
use crate::clock;
use crate::error::Result;
use crate::problems::Branch;
use crate::report::lossy;
use crate::store::{Id, Store};
use crate::views::flaky::{FlakyView, LastFlake};

/// Tests with fewer runs than this are not ranked, by default.
pub(crate) const MIN_RUNS: u64 = 5;

/// Which tests the ranking lists.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ranking {
    /// Leave out tests with fewer runs.
    pub min_runs: u64,
    /// Leave out tests scoring less (0 keeps every test with any evidence).
    pub min_score: f64,
    /// At most this many.
    pub limit: Option<usize>,
}

impl Default for Ranking {
    fn default() -> Self {
        Ranking {
            min_runs: MIN_RUNS,
            min_score: THRESHOLD,
            limit: None,
        }
    }
}

/// The tests `ranking` lists, most flaky first (then most failures, then the oldest test).
pub(crate) fn rank<'a>(
    stats: impl IntoIterator<Item = (Id, &'a Stats)>,
    ranking: &Ranking,
) -> Vec<(Id, &'a Stats)> {
    let mut ranked: Vec<(Id, &Stats)> = stats
        .into_iter()
        .filter(|(_, s)| {
            s.runs >= ranking.min_runs && s.score > 0.0 && s.score >= ranking.min_score
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then(b.1.failures.cmp(&a.1.failures))
            .then(a.0.cmp(&b.0))
    });
    if let Some(limit) = ranking.limit {
        ranked.truncate(limit);
    }
    ranked
}

/// `flaky`: the ranked tests of `branch` (only `builder`'s runs when given), with their evidence.
pub(crate) fn list(
    store: &mut dyn Store,
    branch: Option<&str>,
    builder: Option<&str>,
    options: &Options,
    ranking: &Ranking,
) -> Result<Vec<FlakyView>> {
    let loaded = Branch::load(store, branch)?;
    let stats: Vec<(Id, Stats)> = loaded
        .flaky_lanes(store, builder, options)?
        .into_iter()
        .map(|(test, lanes)| (test, flaky::stats(&lanes, options)))
        .collect();
    let ranked = rank(stats.iter().map(|(t, s)| (*t, s)), ranking);
    let ids: Vec<Id> = ranked.iter().map(|(t, _)| *t).collect();
    let tests = store.tests_by_id(&ids)?;
    let mut view = Vec::with_capacity(ranked.len());
    for (id, s) in ranked {
        let Some(test) = tests.get(&id) else {
            continue;
        };
        // Message variety: different causes each time hint at flakiness.
        let messages: HashSet<String> = loaded
            .failure_messages(store, id)?
            .iter()
            .map(|m| signature(&lossy(m)))
            .collect();
        view.push(FlakyView {
            test: lossy(&test.name),
            kind: test.kind.as_str(),
            score: round(s.score),
            runs: s.runs,
            failures: s.failures,
            flips: s.flips,
            flip_rate: round(s.flip_rate),
            weighted_flip_rate: round(s.weighted_flip_rate),
            retry_flakes: s.retry_flakes,
            same_revision: s.same_revision,
            messages: messages.len(),
            builders: s.builders.clone(),
            last_flake: s.last_flake.as_ref().map(|at| LastFlake {
                builder: at.builder.clone(),
                build: at.number,
                time: clock::rfc3339(at.time),
            }),
            runner_id: test.runner_id.clone(),
        });
    }
    Ok(view)
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
