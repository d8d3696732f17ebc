//! "Failing since" (`since TEST`): on each active builder where a test fails now, its first failure
//! after its last pass; and the Problem behind it, or how its last Problem was fixed.

use crate::analyze::{Evidence, Lane};
use crate::clock;
use crate::error::Result;
use crate::lookup;
use crate::problems::Branch;
use crate::report::lossy;
use crate::store::{ProblemFilter, Store};
use crate::views::since::{BuilderSince, SinceView};

/// Since when the test `query` names (`lookup::find_test`) has been failing on `branch`.
pub(crate) fn since(
    store: &mut dyn Store,
    query: &str,
    branch: Option<String>,
) -> Result<SinceView> {
    let test = lookup::find_test(store, query)?;
    let lanes = Branch::load(store, branch.as_deref())?.test_lanes(store, test.id)?;
    let mut builders = Vec::new();
    for lane in lanes.iter().filter(|l| !l.retired) {
        let Some((since, last_pass)) = failing_since(lane) else {
            continue;
        };
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
        branch: Some(branch),
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
    let fixed_at = fixed.and_then(|p| p.fixed.as_ref());
    Ok(SinceView {
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
        fixed_build: fixed_at.map(|f| f.number),
        fixed_builder: fixed_at.map(|f| f.builder.clone()),
        fixed_revision: fixed_at.and_then(|f| f.revision.clone()),
        fixed_time: fixed_at.map(|f| clock::rfc3339(f.time)),
    })
}

/// Where the lane's last result with evidence is a failure: the step of its first failure after
/// its last pass, and that pass (none if it never passed). `None` when it is not failing.
fn failing_since(lane: &Lane) -> Option<(usize, Option<usize>)> {
    let evidence: Vec<usize> = (0..lane.steps.len())
        .filter(|&i| lane.steps[i].evidence != Evidence::None)
        .collect();
    let &last = evidence.last()?;
    if !lane.steps[last].evidence.is_fail() {
        return None;
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
    Some((since, last_pass))
}

#[cfg(test)]
mod tests {
    use probtrack_parsers::Status;

    use super::*;
    use crate::analyze::BuildInfo;
    use crate::store::Run;

    /// A lane of builds 1..=n with these statuses from build 1 on (`None`: not in the build).
    fn lane(statuses: &[Option<Status>]) -> Lane {
        let builds: Vec<BuildInfo> = (1..=statuses.len() as i64)
            .map(|n| BuildInfo {
                id: n,
                number: n,
                time: n,
                revision: None,
                bad: false,
            })
            .collect();
        let runs: Vec<Run> = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| Run {
                first: i as i64 + 1,
                status: *status,
            })
            .collect();
        Lane::from_runs(1, "linux", false, &builds, &runs)
    }

    #[test]
    fn since_is_the_first_failure_after_the_last_pass() {
        use Status::{Failed, Passed, Skipped};
        let l = lane(&[
            Some(Passed),
            Some(Failed),
            Some(Passed),
            None,
            Some(Failed),
            Some(Skipped),
            Some(Failed),
        ]);
        assert_eq!(failing_since(&l), Some((4, Some(2))));
        // A skip or an absence neither fixes nor continues it.
        let l = lane(&[Some(Failed), Some(Skipped), None, Some(Failed)]);
        assert_eq!(failing_since(&l), Some((0, None)));
        let l = lane(&[Some(Failed), Some(Passed), Some(Skipped)]);
        assert_eq!(failing_since(&l), None);
        assert_eq!(failing_since(&lane(&[])), None);
    }
}
