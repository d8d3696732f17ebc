//! Keeping Problems up to date: loads a test's outcomes from the store, asks the analyzer for its
//! Problems, narrows their suspects with the builds' blamelists, and stores them with stable ids.
//!
//! Ingest and import judge a batch of written builds with [`update_after`] (`ingest::judge`): the
//! tests the builds touched and those with a recent Problem on their builders, skipping Problems
//! settled before the new builds. `reanalyze`, `delete-build`, `mark-bad`, `rename` and retiring a
//! builder call [`update`], which recomputes every Problem of the tests given. Both run the same
//! code over the same rows, so they agree.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use crate::analyze::problems::{self as analysis, At, Episode};
use crate::analyze::{flaky, BuildInfo, Evidence, Lane};
use crate::clock::Micros;
use crate::details;
use crate::error::Result;
use crate::runs;
use crate::store::{
    BuildRef, ChangeRef, FailureRow, Id, LaneRecord, ProblemBuilder, ProblemFilter, ProblemRecord,
    ResultRecord, Run, RunsOf, Store,
};

/// The lanes of one branch, with their builds, loaded once for many tests.
///
/// Triage decisions apply here, so that every consumer sees them alike: a build in a known-bad
/// range (`mark-bad`) gives no evidence, and a renamed test's history is the union of its old and
/// new names' runs (the old name has none of its own).
pub(crate) struct Branch {
    pub branch: Option<String>,
    lanes: Vec<(LaneRecord, bool, Vec<BuildInfo>)>,
    /// A renamed test → the name it has now (renames followed to the end).
    renamed_to: HashMap<Id, Id>,
    /// A test's earlier names, in the order they were renamed.
    old_names: HashMap<Id, Vec<Id>>,
    /// The known-bad ranges of every builder.
    bad: Vec<crate::store::BadRange>,
    /// The metric series (tests of kind `metric`): their Problems are steps, judged by
    /// `metrics::judge`, not failing streaks. Read when first asked for: only judging needs them,
    /// and a command that reads histories (`since`, `history`, `flaky`) spares the statement.
    metric_series: OnceCell<HashSet<Id>>,
    /// Each build of the branch's lanes: its time (a stored Problem's key is its first failure's
    /// build, and judging on a [`Window`] keeps the keys from before the window's time).
    build_times: HashMap<Id, i64>,
    /// Whether a known-bad range covers a build of the branch's lanes (judging takes whole lanes
    /// then: such a build's evidence is not its runs').
    any_bad: bool,
}

/// Tests' histories by test, and per lane how many of the tests left out ran in its last builds
/// (`Branch::failing_lanes`).
pub(crate) type FailingLanes = (HashMap<Id, Vec<Lane>>, HashMap<Id, usize>);

impl Branch {
    pub(crate) fn load(store: &mut dyn Store, branch: Option<&str>) -> Result<Branch> {
        let retired: HashSet<String> = store.retired_builders()?.into_iter().collect();
        let bad = store.bad_ranges()?;
        let mut lanes = Vec::new();
        let ours: Vec<LaneRecord> = (store.lanes()?.into_iter())
            .filter(|lane| lane.branch.as_deref() == branch)
            .collect();
        // Every lane's builds in one query: on a server, judging does this under the branch's
        // lock, where each round trip is one the other writers wait for.
        let ids: Vec<Id> = ours.iter().map(|lane| lane.id).collect();
        let mut builds_of = match ids.is_empty() {
            true => HashMap::new(),
            false => store.lanes_builds(&ids)?,
        };
        for lane in ours {
            let ranges: Vec<_> = bad.iter().filter(|r| r.builder == lane.builder).collect();
            let builds: Vec<BuildInfo> = (builds_of.remove(&lane.id).unwrap_or_default())
                .iter()
                .map(|b| BuildInfo {
                    bad: ranges.iter().any(|r| r.contains(b.number)),
                    ..BuildInfo::from(b)
                })
                .collect();
            let is_retired = retired.contains(&lane.builder);
            lanes.push((lane, is_retired, builds));
        }
        let renames = store.renames()?;
        let direct: HashMap<Id, Id> = renames.iter().copied().collect();
        let mut renamed_to = HashMap::new();
        let mut old_names: HashMap<Id, Vec<Id>> = HashMap::new();
        for &(old, _) in &renames {
            let mut to = old;
            // Follow the chain (a cycle stops after as many steps as there are renames).
            for _ in 0..=renames.len() {
                match direct.get(&to) {
                    Some(&next) if next != old => to = next,
                    _ => break,
                }
            }
            if to != old {
                renamed_to.insert(old, to);
                old_names.entry(to).or_default().push(old);
            }
        }
        let builds = lanes.iter().flat_map(|(.., builds)| builds.iter());
        let build_times = builds.clone().map(|b| (b.id, b.time)).collect();
        let any_bad = builds.clone().any(|b| b.bad);
        Ok(Branch {
            branch: branch.map(str::to_owned),
            lanes,
            renamed_to,
            old_names,
            bad,
            metric_series: OnceCell::new(),
            build_times,
            any_bad,
        })
    }

    /// Whether a known-bad range covers failures of a stored Problem (on one of its builders, a
    /// range overlaps the builds it failed in): when such a Problem is no longer found, the range
    /// explains it away.
    pub(crate) fn explained_by_bad_range(&self, problem: &ProblemRecord) -> bool {
        problem.builders.iter().any(|part| {
            self.bad.iter().any(|range| {
                range.builder == part.builder
                    && range.from <= part.last_number
                    && range.to.is_none_or(|to| to >= part.first_number)
            })
        })
    }

    /// The name a test's history is kept under: the name it was last renamed to, else itself.
    pub(crate) fn canonical(&self, test: Id) -> Id {
        self.renamed_to.get(&test).copied().unwrap_or(test)
    }

    /// A test's runs on one lane, joined with its earlier names' (`None`: it has none there).
    fn joined_runs<'a>(
        &self,
        test: Id,
        runs_of: impl Fn(Id) -> Option<&'a Vec<Run>>,
    ) -> Option<std::borrow::Cow<'a, [Run]>> {
        if self.renamed_to.contains_key(&test) {
            return None;
        }
        let Some(olds) = self.old_names.get(&test) else {
            return runs_of(test).map(|r| std::borrow::Cow::Borrowed(r.as_slice()));
        };
        let mut joined: Option<Vec<Run>> = None;
        for name in olds.iter().chain(std::iter::once(&test)) {
            if let Some(r) = runs_of(*name) {
                joined = Some(match joined {
                    Some(before) => runs::merge(&before, r),
                    None => r.clone(),
                });
            }
        }
        joined.map(std::borrow::Cow::Owned)
    }

    /// The histories `flaky::stats` weighs with `options`, on this branch's lanes (optionally one
    /// builder's only), at once: those of the tests that ever failed or were retried there (the
    /// only ones that can be flaky), each lane from the first of the runs it weighs (its last
    /// `options.window` runs), so that the steps built do not grow with the history.
    pub(crate) fn flaky_lanes(
        &self,
        store: &mut dyn Store,
        builder: Option<&str>,
        options: &flaky::Options,
    ) -> Result<HashMap<Id, Vec<Lane>>> {
        Ok(self
            .lanes_where(store, builder, &HashSet::new(), 0, Some(options))?
            .0)
    }

    /// The report's histories: those of the tests that ever failed or were retried on this branch
    /// and of the tests in `also`, and per lane, how many of the other tests have an outcome in its
    /// last `recent` builds (they neither failed nor were retried anywhere, so a grid counts them
    /// without a row). Whole lanes, without building a step per build for every test that always
    /// passed.
    pub(crate) fn failing_lanes(
        &self,
        store: &mut dyn Store,
        also: &HashSet<Id>,
        recent: usize,
    ) -> Result<FailingLanes> {
        self.lanes_where(store, None, also, recent, None)
    }

    /// The histories of the tests that ever failed or were retried on the lanes read and of those
    /// in `also`; with `tail`, each lane from the first of the runs `flaky::stats` weighs.
    fn lanes_where(
        &self,
        store: &mut dyn Store,
        builder: Option<&str>,
        also: &HashSet<Id>,
        recent: usize,
        tail: Option<&flaky::Options>,
    ) -> Result<FailingLanes> {
        let mut lanes = Vec::new();
        for (lane, retired, builds) in &self.lanes {
            if builder.is_none_or(|b| b == lane.builder) {
                let runs: HashMap<Id, Vec<Run>> =
                    store.runs(RunsOf::Lane(lane.id))?.into_iter().collect();
                lanes.push((lane, *retired, builds, runs));
            }
        }
        // A test that failed or was retried on one lane is weighed on every lane it ran on.
        let mut failed: HashSet<Id> = lanes
            .iter()
            .flat_map(|(.., all)| all.iter())
            .filter(|(_, runs)| {
                runs.iter().any(|r| {
                    r.status
                        .is_some_and(|s| s.is_failing() || s == probtrack_parsers::Status::Flaky)
                })
            })
            .map(|(&t, _)| self.canonical(t))
            .collect();
        failed.extend(also.iter().map(|&t| self.canonical(t)));
        let mut out: HashMap<Id, Vec<Lane>> = HashMap::new();
        let mut others: HashMap<Id, usize> = HashMap::new();
        for (lane, retired, builds, all) in &lanes {
            let mut tests: Vec<Id> = all.keys().map(|&t| self.canonical(t)).collect();
            tests.sort_unstable();
            tests.dedup();
            let shown = &builds[builds.len().saturating_sub(recent)..];
            let mut present = 0;
            for test in tests {
                let kept = failed.contains(&test);
                if !kept && shown.is_empty() {
                    continue;
                }
                let Some(runs) = self.joined_runs(test, |t| all.get(&t)) else {
                    continue;
                };
                if kept {
                    let from =
                        tail.map_or(0, |options| flaky::weighed_from(builds, &runs, options));
                    out.entry(test).or_default().push(Lane::from_runs(
                        lane.id,
                        &lane.builder,
                        *retired,
                        &builds[from..],
                        &runs,
                    ));
                } else if shown
                    .iter()
                    .any(|b| runs::outcome_at(&runs, b.number).is_some())
                {
                    present += 1;
                }
            }
            others.insert(lane.id, present);
        }
        Ok((out, others))
    }

    /// Whether a stored Problem is left as it is because `prune` took what judging it needs: it
    /// is fixed, and on one of its builders it lies before the pruned builds' end, or starts within
    /// BEFORE builds after it (its flakiness evidence is gone). A hidden one (a known-bad range
    /// explains it) whose failures are still there is judged again, so that `unmark-bad` brings it
    /// back.
    pub(crate) fn frozen(&self, problem: &ProblemRecord) -> bool {
        !problem.open
            && problem.builders.iter().any(|part| {
                let Some((lane, _, builds)) = self
                    .lanes
                    .iter()
                    .find(|(lane, ..)| lane.builder == part.builder)
                else {
                    return false;
                };
                let Some(mut pruned) = lane.pruned_before else {
                    return false;
                };
                if pruned == i64::MAX {
                    // A prune before schema 12 that took every build of the lane recorded no cut:
                    // the first build stored since is after it.
                    pruned = builds.first().map_or(i64::MAX, |b| b.number);
                }
                let since_pruned = builds
                    .iter()
                    .filter(|b| b.number >= pruned && b.number < part.first_number)
                    .count();
                if problem.hidden {
                    // Its failures are gone where its first one is.
                    return part.first_number < pruned
                        && !builds.iter().any(|b| b.number == part.first_number);
                }
                part.first_number < pruned || since_pruned < BEFORE
            })
    }

    /// Whether `prune` took builds from any of this branch's lanes.
    pub(crate) fn pruned(&self) -> bool {
        self.lanes
            .iter()
            .any(|(lane, ..)| lane.pruned_before.is_some())
    }

    pub(crate) fn lane_ids(&self) -> Vec<Id> {
        self.lanes.iter().map(|(l, _, _)| l.id).collect()
    }

    /// The branch's lanes: each with whether its builder is retired, and its builds in order.
    pub(crate) fn lanes(&self) -> impl Iterator<Item = (&LaneRecord, bool, &[BuildInfo])> {
        self.lanes.iter().map(|(l, r, b)| (l, *r, b.as_slice()))
    }

    /// The store's metric series, read at the first call (series are written before the builds
    /// that give them values are judged, so a later read finds the same ones).
    fn metric_series(&self, store: &mut dyn Store) -> Result<&HashSet<Id>> {
        if let Some(series) = self.metric_series.get() {
            return Ok(series);
        }
        let series = store.series(None)?.into_iter().map(|s| s.id).collect();
        Ok(self.metric_series.get_or_init(|| series))
    }

    /// How many metric series the store holds.
    pub(crate) fn series_count(&self, store: &mut dyn Store) -> Result<usize> {
        Ok(self.metric_series(store)?.len())
    }

    /// The id of a build of this branch's lanes, as a Problem names it.
    fn build_id(&self, at: &crate::store::BuildRef) -> Option<Id> {
        (self.lanes.iter())
            .filter(|(lane, ..)| lane.builder == at.builder)
            .find_map(|(_, _, builds)| {
                let i = builds.partition_point(|b| b.number < at.number);
                builds
                    .get(i)
                    .filter(|b| b.number == at.number)
                    .map(|b| b.id)
            })
    }

    /// The names a test's history is stored under: its old names (oldest first), then its own.
    pub(crate) fn names(&self, test: Id) -> Vec<Id> {
        let mut names: Vec<Id> = self.old_names.get(&test).cloned().unwrap_or_default();
        names.push(test);
        names
    }

    /// A test's results that are not plain passes (messages, and with `details` their details),
    /// by build, under every name it had: where a build has a result under two names, the newer
    /// name's, as its outcome is ([`runs::merge`]).
    pub(crate) fn test_results(
        &self,
        store: &mut dyn Store,
        test: Id,
        details: bool,
    ) -> Result<HashMap<Id, ResultRecord>> {
        let mut results = HashMap::new();
        for name in self.names(test) {
            results.extend(store.results(None, Some(name), details)?);
        }
        Ok(results)
    }

    /// The messages of a test's failures under every name it had.
    pub(crate) fn failure_messages(
        &self,
        store: &mut dyn Store,
        test: Id,
    ) -> Result<Vec<bstr::BString>> {
        let mut messages = Vec::new();
        for name in self.names(test) {
            messages.extend(store.failure_messages(name)?);
        }
        Ok(messages)
    }

    /// The failing results on this branch (at or after `since`), in time order, each under the
    /// name its test has now: a renamed test's failures under its old names are its own (where
    /// one build has the test under two names, the newer name's result is).
    pub(crate) fn failures(
        &self,
        store: &mut dyn Store,
        since: Option<Micros>,
    ) -> Result<Vec<FailureRow>> {
        let mut rows = store.failures(self.branch.as_deref(), since)?;
        if self.renamed_to.is_empty() {
            return Ok(rows);
        }
        let mut now: Vec<Id> = rows
            .iter()
            .filter_map(|r| self.renamed_to.get(&r.test).copied())
            .collect();
        now.sort_unstable();
        now.dedup();
        let names = store.tests_by_id(&now)?;
        let own: HashSet<(Id, String, i64)> = rows
            .iter()
            .filter(|r| !self.renamed_to.contains_key(&r.test))
            .map(|r| (r.test, r.builder.clone(), r.number))
            .collect();
        rows.retain_mut(|row| {
            let Some(&test) = self.renamed_to.get(&row.test) else {
                return true;
            };
            if own.contains(&(test, row.builder.clone(), row.number)) {
                return false;
            }
            row.test = test;
            if let Some(t) = names.get(&test) {
                row.test_name.clone_from(&t.name);
            }
            true
        });
        Ok(rows)
    }

    /// The message and the text (output, stack) of a test's result in one build, each under
    /// whichever of its names the build recorded it (the newest name that has one).
    pub(crate) fn result_message(
        &self,
        store: &mut dyn Store,
        build: Id,
        test: Id,
    ) -> Result<(Option<bstr::BString>, Option<String>)> {
        let pairs: Vec<(Id, Id)> = self.names(test).into_iter().map(|n| (build, n)).collect();
        let results = results_by_pair(store.results_of(&pairs)?);
        Ok(self.message_in(&results, build, test))
    }

    /// [`Branch::result_message`] from results read before, by `(build, test)`: they hold the
    /// build's results under each of the test's names that has one.
    fn message_in(
        &self,
        results: &HashMap<(Id, Id), ResultRecord>,
        build: Id,
        test: Id,
    ) -> (Option<bstr::BString>, Option<String>) {
        let (mut message, mut text) = (None, None);
        for name in self.names(test).into_iter().rev() {
            if let Some(result) = results.get(&(build, name)) {
                if message.is_none() {
                    message.clone_from(&result.message);
                }
                if text.is_none() {
                    text = details::text_of(
                        result
                            .details
                            .as_ref()
                            .map(crate::store::Details::text)
                            .as_deref(),
                    );
                }
            }
            if message.is_some() && text.is_some() {
                break;
            }
        }
        (message, text)
    }

    pub(crate) fn test_lanes(&self, store: &mut dyn Store, test: Id) -> Result<Vec<Lane>> {
        Ok(self
            .tests_lanes(store, &[test])?
            .remove(&test)
            .unwrap_or_default())
    }

    /// [`Branch::test_lanes`] of many tests, read in one query.
    pub(crate) fn tests_lanes(
        &self,
        store: &mut dyn Store,
        tests: &[Id],
    ) -> Result<HashMap<Id, Vec<Lane>>> {
        let runs = self.tests_runs(store, tests)?;
        Ok((tests.iter())
            .filter(|t| !self.renamed_to.contains_key(t))
            .map(|&test| (test, self.lanes_from(&runs, test)))
            .collect())
    }

    /// The runs of many tests and of their earlier names, read in one query: what
    /// [`Branch::lanes_from`] expands one test at a time (expanded over every build of its lanes, a
    /// thousand tests of a long history would be tens of MB).
    fn tests_runs(&self, store: &mut dyn Store, tests: &[Id]) -> Result<TestsRuns> {
        let tests = tests.iter().filter(|t| !self.renamed_to.contains_key(t));
        let mut names: Vec<Id> = Vec::new();
        for &test in tests {
            names.push(test);
            names.extend(self.old_names.get(&test).into_iter().flatten());
        }
        let mut by_lane: TestsRuns = HashMap::new();
        for (name, lane, runs) in store.tests_runs(&names)? {
            by_lane.entry(lane).or_default().insert(name, runs);
        }
        Ok(by_lane)
    }

    /// A test's history on each lane of the branch, from runs [`Branch::tests_runs`] read.
    fn lanes_from(&self, by_lane: &TestsRuns, test: Id) -> Vec<Lane> {
        self.lanes_in(by_lane, test, &Window::whole(self.lanes.len()))
    }

    /// A test's history on the lanes of a [`Window`], each from the build the window says.
    fn lanes_in(&self, by_lane: &TestsRuns, test: Id, window: &Window) -> Vec<Lane> {
        (self.lanes.iter().zip(&window.from))
            .filter_map(|((lane, retired, builds), from)| {
                let of_lane = by_lane.get(&lane.id)?;
                let from = (*from)?;
                self.joined_runs(test, |t| of_lane.get(&t))
                    .map(|r| Lane::from_runs(lane.id, &lane.builder, *retired, &builds[from..], &r))
            })
            .collect()
    }

    /// The part of a test's history that judging it after the appended builds `new` needs
    /// (*Judging on a window* in docs/ARCHITECTURE.md): the whole history where `new` is empty,
    /// `prune` took builds or a known-bad range covers a build.
    ///
    /// Its failing streaks are found from the runs alone (a run is a span of builds), without a
    /// step per build. The window's time is the latest start of a streak such that every streak
    /// starting before it ended before it (so that no Problem spans it: a Problem's streaks
    /// start before the latest end of its streaks before them) and is settled by every new build
    /// as [`settled`] says (fixed before it, and on its lane more than AFTER builds before it).
    /// Those streaks' Problems are as stored. On each lane with a streak from that time on, the
    /// window begins at a pass at least BEFORE builds before the first such streak (what
    /// [`intermittent`] weighs; a pass, so that no streak is cut and the start window reaches
    /// back to the same pass), or at the lane's start; the other lanes are left out.
    fn window(&self, by_lane: &TestsRuns, test: Id, new: &[NewBuild]) -> Window {
        if new.is_empty() || self.any_bad || self.pruned() {
            return Window::whole(self.lanes.len());
        }
        let runs: Vec<_> = (self.lanes.iter())
            .map(|(lane, ..)| {
                let of_lane = by_lane.get(&lane.id)?;
                self.joined_runs(test, |t| of_lane.get(&t))
            })
            .collect();
        let mut spans: Vec<Span> = Vec::new();
        for (l, runs) in runs.iter().enumerate() {
            let builds = &self.lanes[l].2;
            for (first, fix) in streak_spans(builds, runs.as_deref().unwrap_or_default()) {
                spans.push((builds[first].time, l, first, fix));
            }
        }
        spans.sort_unstable_by_key(|s| s.0);
        let is_settled = |&(_, l, _, fix): &Span| {
            let (lane, _, builds) = &self.lanes[l];
            fix.is_some_and(|fix| {
                new.iter().all(|&(new_lane, number, time)| {
                    builds[fix].time < time
                        && (new_lane != lane.id
                            || builds.partition_point(|b| b.number < number) >= fix + AFTER + 2)
                })
            })
        };
        // How many streaks lie before the window, and when the last of them ended.
        let (mut before, mut end) = (0, i64::MIN);
        for (k, span) in spans.iter().enumerate() {
            if !is_settled(span) {
                break;
            }
            let (_, l, _, fix) = *span;
            end = end.max(fix.map_or(i64::MAX, |f| self.lanes[l].2[f].time));
            let next = spans.get(k + 1).map_or(i64::MAX, |s| s.0);
            if next > span.0 && end <= next {
                before = k + 1;
            }
        }
        let mut window = self.lane_starts(&runs, &spans[before..]);
        // With no streak before it, the window's time keeps no stored Problem as it is.
        if before > 0 {
            window.since = spans.get(before).map_or(i64::MAX, |s| s.0);
        }
        window
    }

    /// Where each lane's window begins, given the streaks judged (those of the window).
    fn lane_starts(&self, runs: &[Option<std::borrow::Cow<'_, [Run]>>], judged: &[Span]) -> Window {
        let mut from = vec![None; self.lanes.len()];
        for &(_, l, first, _) in judged {
            let start: &mut Option<usize> = &mut from[l];
            *start = Some(start.map_or(first, |s| s.min(first)));
        }
        for (l, start) in from.iter_mut().enumerate() {
            let (Some(first), Some(runs)) = (*start, runs[l].as_deref()) else {
                continue;
            };
            let builds = &self.lanes[l].2;
            let lane_start =
                (runs.first()).map_or(0, |r| builds.partition_point(|b| b.number < r.first));
            *start = Some(match first.checked_sub(BEFORE) {
                Some(at) if at >= lane_start => last_pass(builds, runs, at).unwrap_or(0),
                _ => 0,
            });
        }
        Window {
            since: i64::MIN,
            from,
        }
    }
}

/// A failing streak found from a test's runs ([`streak_spans`]): its start time, its lane (an
/// index into the branch's lanes), and the indexes in that lane's builds of its first failing
/// build and of the pass that ended it.
type Span = (i64, usize, usize, Option<usize>);

/// Which part of a test's history judging reads ([`Branch::window`]).
struct Window {
    /// The Problems whose first failure is before this time are as stored: no episode starting
    /// before it is judged, and no stored Problem whose key is a build before it is read
    /// (`i64::MIN`: none).
    since: i64,
    /// Per lane of the branch, the index of its build the test's steps begin at (`None`: the lane
    /// is left out).
    from: Vec<Option<usize>>,
}

impl Window {
    fn whole(lanes: usize) -> Window {
        Window {
            since: i64::MIN,
            from: vec![Some(0); lanes],
        }
    }
}

/// A test's failing streaks on a lane from its runs (each run a span of builds): the index in
/// `builds` of each streak's first failing build and of the pass that ended it, as
/// `analyze::problems` finds them over the steps (builds without evidence neither end nor extend
/// a streak). The lane's builds must give the evidence of their runs (no known-bad build).
fn streak_spans(builds: &[BuildInfo], runs: &[Run]) -> Vec<(usize, Option<usize>)> {
    let index = |number: i64| builds.partition_point(|b| b.number < number);
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    let mut lo = runs.first().map_or(builds.len(), |r| index(r.first));
    for (i, run) in runs.iter().enumerate() {
        let hi = runs
            .get(i + 1)
            .map_or(builds.len(), |next| index(next.first));
        if lo < hi {
            match Evidence::of(run.status) {
                Evidence::Fail => {
                    current.get_or_insert(lo);
                }
                e if e.is_pass() => {
                    if let Some(first) = current.take() {
                        out.push((first, Some(lo)));
                    }
                }
                _ => {}
            }
        }
        lo = lo.max(hi);
    }
    out.extend(current.map(|first| (first, None)));
    out
}

/// The index in `builds` of the last build at or before index `at` where the test passed (or
/// passed on a retry), from its runs.
fn last_pass(builds: &[BuildInfo], runs: &[Run], at: usize) -> Option<usize> {
    let index = |number: i64| builds.partition_point(|b| b.number < number);
    for (i, run) in runs.iter().enumerate().rev() {
        let lo = index(run.first);
        if lo > at {
            continue;
        }
        let hi = runs
            .get(i + 1)
            .map_or(builds.len(), |next| index(next.first));
        if lo < hi && Evidence::of(run.status).is_pass() {
            return Some((hi - 1).min(at));
        }
    }
    None
}

/// Tests' runs by lane, then by test (or earlier name).
type TestsRuns = HashMap<Id, HashMap<Id, Vec<Run>>>;

/// Builds shown before a Problem's first failure on a builder, in its story (`show`, the report).
pub(crate) const STORY_CONTEXT: usize = 2;

/// A builder's part of a Problem's story: its builds from just before the Problem's first failure
/// there to its fix there (or its last build while open).
pub(crate) fn story_steps<'a>(
    lanes: &'a [Lane],
    part: &ProblemBuilder,
) -> Option<&'a [crate::analyze::Step]> {
    let lane = lanes.iter().find(|l| l.builder == part.builder)?;
    let end = part.fixed_number.unwrap_or(i64::MAX);
    let first = lane
        .steps
        .iter()
        .position(|s| s.number >= part.first_number)
        .unwrap_or(0);
    let from = first.saturating_sub(STORY_CONTEXT);
    let to = lane.steps[from..]
        .iter()
        .position(|s| s.number > end)
        .map_or(lane.steps.len(), |n| from + n);
    Some(&lane.steps[from..to])
}

/// Recomputes the Problems of `tests` on `branch` and stores them.
pub(crate) fn update(store: &mut dyn Store, branch: &Branch, tests: &[Id]) -> Result<()> {
    update_after(store, branch, tests, &[])
}

/// The build an ingest just added as the newest of its lane: `(lane, number, time)`.
pub(crate) type NewBuild = (Id, i64, i64);

/// [`update`] after the builds `new` were appended (for each lane, the earliest of them): Problems
/// settled before them — fixed before each, and on its builder followed by more than AFTER builds
/// — cannot change, and are not recomputed. With `new` empty, every Problem of `tests` is.
///
/// New Problems take their ids in the order of their first failures (time, builder, number), then
/// of their tests: the order judging after every build would give them, whichever batches of
/// builds they were judged in.
pub(crate) fn update_after(
    store: &mut dyn Store,
    branch: &Branch,
    tests: &[Id],
    new: &[NewBuild],
) -> Result<()> {
    let mut created: Vec<ProblemRecord> = Vec::new();
    // A result under a renamed test's old name is its new name's history.
    let mut all: Vec<Id> = Vec::with_capacity(tests.len());
    for &test in tests {
        all.push(test);
        let canonical = branch.canonical(test);
        if canonical != test {
            all.push(canonical);
        }
    }
    all.sort_unstable();
    all.dedup();
    // A metric series has no runs: its Problems are its steps (`metrics::judge`).
    let series = branch.metric_series(store)?;
    all.retain(|t| !series.contains(t));
    // Read a chunk of tests at a time, each in a few queries for the whole chunk: their runs,
    // their stored Problems' keys, the stored Problems to compare with.
    for chunk in all.chunks(JUDGE_CHUNK) {
        judge_chunk(store, branch, chunk, new, &mut created)?;
    }
    fn order(p: &ProblemRecord) -> (i64, &str, i64, Id) {
        let first = &p.first_failure;
        (first.time, &first.builder, first.number, p.test)
    }
    created.sort_by(|a, b| order(a).cmp(&order(b)));
    // Saved together: their ids ascend in this order, as saved one by one.
    store.save_problems(&created)?;
    Ok(())
}

/// How many tests [`update_after`] reads at once: their Problems' episodes are held until the
/// chunk's stored Problems are read (1,024 tests' were ~8 MB of an import's peak memory).
const JUDGE_CHUNK: usize = 256;

/// [`update_after`] for some of its tests; the Problems to create go to `created`.
fn judge_chunk(
    store: &mut dyn Store,
    branch: &Branch,
    tests: &[Id],
    new: &[NewBuild],
    created: &mut Vec<ProblemRecord>,
) -> Result<()> {
    // Each test's runs are expanded over its lanes' builds one test at a time, and again only
    // where a Problem is shaped: a chunk of a long history's tests expanded at once was most of an
    // import's peak memory (docs/performance.md, *Memory of one huge build and of an import*).
    let runs = branch.tests_runs(store, tests)?;
    // After appended builds, the stored Problems of settled episodes stay as they are: only the
    // others are read (a flaky test has dozens of Problems, nearly all settled). Where prune took
    // evidence, every Problem is read, to tell which are frozen.
    let by_keys = !new.is_empty() && !branch.pruned();
    let mut keys_of: HashMap<Id, Vec<(Id, Id)>> = HashMap::new();
    if by_keys {
        for (test, id, first) in store.problem_keys(tests, branch.branch.as_deref())? {
            keys_of.entry(test).or_default().push((id, first));
        }
    }
    let mut judged = Vec::with_capacity(tests.len());
    let mut wanted = Vec::new();
    for &test in tests {
        // After appended builds, each test is judged on a window of its history, whose Problems
        // before it are as stored (a Problem keyed by a build before its time is kept unread).
        let window = branch.window(&runs, test, if by_keys { new } else { &[] });
        let lanes = branch.lanes_in(&runs, test, &window);
        let mut episodes = analysis::episodes(&lanes);
        episodes.retain(|e| e.first_failure.time >= window.since);
        let is_settled: Vec<bool> = episodes
            .iter()
            .map(|e| !new.is_empty() && new.iter().all(|&n| settled(e, &lanes, n)))
            .collect();
        let mut kept: HashSet<Id> = HashSet::new();
        if by_keys {
            let settled_keys: HashSet<Id> = episodes
                .iter()
                .zip(&is_settled)
                .filter(|(_, &settled)| settled)
                .map(|(e, _)| e.first_failure.build)
                .collect();
            for (id, first) in keys_of.remove(&test).unwrap_or_default() {
                let before = (branch.build_times.get(&first)).is_some_and(|&t| t < window.since);
                if before || (settled_keys.contains(&first) && kept.insert(first)) {
                    continue;
                }
                wanted.push(id);
            }
        }
        judged.push((test, window, episodes, is_settled, kept));
    }
    let stored = match by_keys {
        true if wanted.is_empty() => Vec::new(),
        true => store.problems(&ProblemFilter {
            branch: Some(branch.branch.clone()),
            ids: Some(wanted),
            hidden: true,
            ..ProblemFilter::default()
        })?,
        false => store.problems(&ProblemFilter {
            branch: Some(branch.branch.clone()),
            tests: Some(tests.to_vec()),
            hidden: true,
            ..ProblemFilter::default()
        })?,
    };
    let mut existing_of: HashMap<Id, Vec<ProblemRecord>> = HashMap::new();
    for problem in stored {
        existing_of.entry(problem.test).or_default().push(problem);
    }
    // Each test's Problems are decided first, and the writes kept in order; what completing
    // them reads (blamelists, last failures, names) is then read for the whole chunk at once,
    // rather than a few queries for each Problem.
    let mut writes: Vec<Write> = Vec::new();
    let mut tests_episodes: Vec<(Vec<Episode>, Vec<ProblemRecord>)> = Vec::new();
    for (test, window, episodes, is_settled, kept) in judged {
        let at = tests_episodes.len();
        let mut lanes: Option<Vec<Lane>> = None;
        let existing = existing_of.remove(&test).unwrap_or_default();
        let failing_of: Vec<HashSet<Id>> = episodes
            .iter()
            .map(|e| {
                e.parts
                    .iter()
                    .flat_map(|p| p.failing_builds.iter().copied())
                    .collect()
            })
            .collect();
        // Problems that prune took the evidence of stay as they are, unless failures joined one
        // since: an episode that holds its first failure and outlasts it is judged again.
        let (mut frozen, mut old): (Vec<&ProblemRecord>, Vec<(Id, Id)>) = (Vec::new(), Vec::new());
        for p in &existing {
            let thawed = || {
                episodes
                    .iter()
                    .zip(&failing_of)
                    .any(|(e, failing)| holds_first(p, e, failing) && span_end(e) > stored_end(p))
            };
            if branch.frozen(p) && !thawed() {
                frozen.push(p);
            } else {
                old.push((p.id, p.first_build));
            }
        }
        let keys: HashSet<Id> = episodes.iter().map(|e| e.first_failure.build).collect();
        let judging = episodes.iter().zip(&is_settled).zip(&failing_of);
        for (index, ((episode, &is_settled), failing)) in judging.enumerate() {
            // The same Problem keeps its id: by its key, else by a failing build it still holds.
            let first = episode.first_failure.build;
            if frozen
                .iter()
                .any(|f| stands_for(f, episode, failing) && span_end(episode) <= stored_end(f))
            {
                // A stored Problem that begins where the episode does is not the frozen one (the
                // episode reached that one where prune took the passes between them): it stays as
                // it was, hidden only while a known-bad range explains it.
                if let Some(i) = old.iter().position(|&(_, f)| f == first) {
                    let id = old.remove(i).0;
                    if let Some(stored) = existing.iter().find(|e| e.id == id) {
                        let hidden = branch.explained_by_bad_range(stored);
                        if stored.hidden != hidden {
                            let mut changed = stored.clone();
                            changed.hidden = hidden;
                            writes.push(Write::Update(changed, at));
                        }
                    }
                }
                continue;
            }
            if kept.contains(&first) {
                continue;
            }
            if is_settled {
                if let Some(i) = old.iter().position(|(_, f)| *f == first) {
                    old.remove(i);
                    continue;
                }
            }
            // Else (its first failures went into a known-bad range) by failures it overlaps on a
            // builder, unless another Problem keeps that key.
            let reuse = old
                .iter()
                .position(|(_, f)| *f == first)
                .or_else(|| old.iter().position(|(_, f)| failing.contains(f)))
                .or_else(|| {
                    old.iter().position(|(id, f)| {
                        !keys.contains(f)
                            && existing
                                .iter()
                                .find(|e| e.id == *id)
                                .is_some_and(|e| overlaps(e, episode))
                    })
                });
            let id = reuse.map_or(0, |i| old.remove(i).0);
            let lanes = lanes.get_or_insert_with(|| branch.lanes_in(&runs, test, &window));
            let shaped = shape(branch, test, id, episode, lanes);
            // After appended builds, a Problem of the same shape that names none of them differs
            // at most in being intermittent: nothing to read back from the store.
            if !new.is_empty() && before_new(episode, lanes, new) {
                if let Some(stored) = existing.iter().find(|e| same_shape(e, &shaped)) {
                    if stored.intermittent != shaped.intermittent {
                        let mut changed = stored.clone();
                        changed.intermittent = shaped.intermittent;
                        writes.push(Write::Update(changed, at));
                    }
                    continue;
                }
            }
            writes.push(Write::Complete {
                shaped,
                at,
                episode: index,
            });
        }
        for (id, _) in old {
            // A Problem that a known-bad range explains is hidden, not deleted: `unmark-bad`
            // brings it back with its id, links, notes and notification records.
            match existing.iter().find(|e| e.id == id) {
                Some(stored) if branch.explained_by_bad_range(stored) => {
                    if !stored.hidden {
                        let mut hidden = stored.clone();
                        hidden.hidden = true;
                        writes.push(Write::Update(hidden, at));
                    }
                }
                _ => writes.push(Write::Delete(id)),
            }
        }
        tests_episodes.push((episodes, existing));
    }
    let completing = writes.iter().filter_map(|w| match w {
        Write::Complete {
            shaped,
            at,
            episode,
        } => {
            let (episodes, existing) = &tests_episodes[*at];
            let stored = (shaped.id != 0)
                .then(|| existing.iter().find(|e| e.id == shaped.id))
                .flatten();
            Some((shaped.test, &episodes[*episode], stored))
        }
        _ => None,
    });
    let reads = Reads::of(store, branch, completing)?;
    for write in writes {
        match write {
            Write::Update(record, at) => {
                store_update(store, &record, &tests_episodes[at].1)?;
            }
            Write::Delete(id) => store.delete_problem(id)?,
            Write::Complete {
                shaped,
                at,
                episode,
            } => {
                let (episodes, existing) = &tests_episodes[at];
                let record = complete(&reads, shaped, &episodes[episode]);
                if record.id == 0 {
                    created.push(record);
                } else if !existing.iter().any(|e| unchanged(e, &record)) {
                    // Most recomputed Problems are as they were: write only what changed, and of
                    // a changed one only its parts that changed.
                    store_update(store, &record, existing)?;
                }
            }
        }
    }
    Ok(())
}

/// A write that judging a chunk decided, kept until what completing its Problems reads is read.
enum Write {
    /// A stored Problem changed, saved as it is; of the chunk's `at`-th test, whose stored
    /// Problems hold it as it was.
    Update(ProblemRecord, usize),
    Delete(Id),
    /// A Problem's shape, to [`complete`] from episode `episode` of the chunk's `at`-th test:
    /// new (`id` 0), or saved where none of that test's stored Problems says the same.
    Complete {
        shaped: ProblemRecord,
        at: usize,
        episode: usize,
    },
}

/// Saves a changed stored Problem, writing only the parts that differ from it as `existing` (its
/// test's stored Problems, as read in this write) holds it.
fn store_update(
    store: &mut dyn Store,
    record: &ProblemRecord,
    existing: &[ProblemRecord],
) -> Result<Id> {
    match existing.iter().find(|e| e.id == record.id) {
        Some(stored) => store.update_problem(record, stored),
        None => store.save_problem(record),
    }
}

/// What [`complete`] reads from the store, for a chunk's Problems at once: the blamelists of
/// their windows, their last failures' messages and causes (read under each name of their
/// tests) and their tests' names.
struct Reads {
    blamelists: HashMap<Id, Vec<ChangeRef>>,
    /// `(test, last failure's build)` → its message and cause cluster.
    causes: HashMap<(Id, Id), (Option<bstr::BString>, Option<String>)>,
    names: HashMap<Id, crate::store::TestRecord>,
}

/// How many Problems' last failures [`Reads::of`] reads in one query: their details are inflated
/// and held until each one's cause is worked out, so this bounds that memory (a chunk of flaky
/// tests can have thousands of Problems) while keeping an import's round trips few.
const CAUSES_PER_READ: usize = 64;

impl Reads {
    /// Reads what completing `(test, episode)` each needs (with the stored Problem it completes
    /// again, if any): its changes and names in one query each, its last failures' results a
    /// bounded group of Problems at a time.
    ///
    /// A stored Problem completed again keeps its message and cluster where its new last failure
    /// has, under every name of its test, the message and details of the stored one's last
    /// failure (compared as ids, in one query): that result is not read, its details not
    /// inflated, its message not masked again. Not where the last failure is still the stored
    /// one's build: a build can take more reports, and its results change.
    fn of<'e>(
        store: &mut dyn Store,
        branch: &Branch,
        completing: impl Iterator<Item = (Id, &'e Episode, Option<&'e ProblemRecord>)>,
    ) -> Result<Reads> {
        let (mut windows, mut lasts, mut tests) = (Vec::new(), Vec::new(), Vec::new());
        // Problems completed again whose last failure moved: (stored, test, new, stored build).
        let mut again: Vec<(&ProblemRecord, Id, Id, Id)> = Vec::new();
        for (test, episode, stored) in completing {
            for part in &episode.parts {
                windows.extend(part.start_window.iter().chain(&part.fix_window).copied());
            }
            let build = episode.last_failure.build;
            let was = stored.and_then(|s| Some((s, branch.build_id(&s.last_failure)?)));
            match was {
                Some((stored, at)) if at != build => again.push((stored, test, build, at)),
                _ => lasts.push((test, build)),
            }
            tests.push(test);
        }
        let mut kept = HashMap::new();
        if !again.is_empty() {
            let asked: Vec<(Id, Id)> = (again.iter())
                .flat_map(|&(_, test, new, at)| {
                    (branch.names(test).into_iter()).flat_map(move |n| [(new, n), (at, n)])
                })
                .collect();
            let texts = store.result_texts(&asked)?;
            for (stored, test, new, at) in again {
                let names = branch.names(test);
                let any = names.iter().any(|&n| texts.contains_key(&(new, n)));
                if any
                    && names
                        .iter()
                        .all(|&n| texts.get(&(new, n)) == texts.get(&(at, n)))
                {
                    kept.insert(
                        (test, new),
                        (stored.message.clone(), stored.cluster.clone()),
                    );
                } else {
                    lasts.push((test, new));
                }
            }
        }
        lasts.retain(|last| !kept.contains_key(last));
        let mut reads = Reads {
            blamelists: HashMap::new(),
            causes: kept,
            names: HashMap::new(),
        };
        if tests.is_empty() {
            return Ok(reads);
        }
        for ids in [&mut windows, &mut tests] {
            ids.sort_unstable();
            ids.dedup();
        }
        lasts.sort_unstable();
        lasts.dedup();
        reads.blamelists = store.blamelists(&windows)?;
        for group in lasts.chunks(CAUSES_PER_READ) {
            let pairs: Vec<(Id, Id)> = (group.iter())
                .flat_map(|&(test, build)| branch.names(test).into_iter().map(move |n| (build, n)))
                .collect();
            let results = results_by_pair(store.results_of(&pairs)?);
            for &(test, build) in group {
                let (message, text) = branch.message_in(&results, build, test);
                let cause = (message.is_some() || text.is_some()).then(|| {
                    let m = (message.as_deref())
                        .map(|m| String::from_utf8_lossy(m).into_owned())
                        .unwrap_or_default();
                    crate::analyze::signature::cause_id_of(&m, text.as_deref())
                });
                reads.causes.insert((test, build), (message, cause));
            }
        }
        reads.names = store.tests_by_id(&tests)?;
        Ok(reads)
    }
}

/// Results with their builds, by `(build, test)`.
fn results_by_pair(results: Vec<(Id, ResultRecord)>) -> HashMap<(Id, Id), ResultRecord> {
    (results.into_iter())
        .map(|(build, result)| ((build, result.test), result))
        .collect()
}

/// Whether a new build at the end of its lane leaves an episode as it was: the episode was fixed
/// before it, and on the new build's lane (if the episode is there at all) more than AFTER builds
/// followed its fix, so the build lies outside everything it is judged on.
fn settled(episode: &Episode, lanes: &[Lane], (lane, number, time): NewBuild) -> bool {
    let Some(fixed) = &episode.fixed_at else {
        return false;
    };
    if fixed.time >= time {
        return false;
    }
    episode.parts.iter().filter(|p| p.lane == lane).all(|part| {
        let Some(fix) = part.fix_window.last() else {
            return false;
        };
        let Some(steps) = lanes.iter().find(|l| l.lane == lane).map(|l| &l.steps) else {
            return false;
        };
        // Steps are in build-number order, and the fix comes after the last failure.
        let end = steps.partition_point(|s| s.number < number);
        let from = steps.partition_point(|s| s.number < part.last_failure.number);
        let after = steps[from.min(end)..end]
            .iter()
            .position(|s| s.build == *fix)
            .map_or(0, |i| end - from - i);
        // `after` counts the fix itself.
        after > AFTER + 1
    })
}

/// Whether a frozen Problem stands for a recomputed episode, which is then not a Problem of its
/// own: the episode has the frozen one's first failure, or failed in that build, or (unless the
/// frozen one is hidden) their spans overlap in time, so that with the frozen one's streaks there
/// the two would be one Problem. The last is what keeps a late failure inside a frozen Problem's
/// span in it once a later prune took the frozen one's failures (*Prune* in ARCHITECTURE.md).
fn stands_for(frozen: &ProblemRecord, episode: &Episode, failing: &HashSet<Id>) -> bool {
    if holds_first(frozen, episode, failing) {
        return true;
    }
    if frozen.hidden || frozen.open {
        return false;
    }
    episode.first_failure.time < stored_end(frozen) && frozen.first_failure.time < span_end(episode)
}

/// Whether an episode holds a stored Problem's first failure: as its own first, or among its
/// failures.
fn holds_first(stored: &ProblemRecord, episode: &Episode, failing: &HashSet<Id>) -> bool {
    stored.first_build == episode.first_failure.build || failing.contains(&stored.first_build)
}

/// Where a span ends: a span runs from the first failure to the latest end of its streaks (the
/// last pass that fixed one, or a retired builder's last failure), for ever while open.
fn span_end(episode: &Episode) -> Micros {
    match (&episode.fixed_at, episode.open) {
        (_, true) => Micros::MAX,
        (Some(f), false) => f.time.max(episode.last_failure.time),
        (None, false) => episode.last_failure.time,
    }
}

/// [`span_end`] of a stored Problem.
fn stored_end(stored: &ProblemRecord) -> Micros {
    if stored.open {
        return Micros::MAX;
    }
    stored.fixed.as_ref().map_or(stored.last_failure.time, |f| {
        f.time.max(stored.last_failure.time)
    })
}

/// Whether a stored Problem and a recomputed one failed in overlapping builds of one builder.
fn overlaps(stored: &ProblemRecord, episode: &Episode) -> bool {
    episode.parts.iter().any(|part| {
        stored.builders.iter().any(|b| {
            b.builder == part.builder
                && b.first_number <= part.last_failure.number
                && part.first_failure.number <= b.last_number
        })
    })
}

/// Recomputes the Problems of `tests` (`None`: every test with an outcome on `builder`'s lanes,
/// or on every lane), on every branch: after a known-bad range or a rename changed their evidence.
/// Returns how many tests were recomputed.
pub(crate) fn recompute(
    store: &mut dyn Store,
    tests: Option<&[Id]>,
    builder: Option<&str>,
) -> Result<usize> {
    let lanes = store.lanes()?;
    let mut branches: Vec<Option<String>> = lanes.iter().map(|l| l.branch.clone()).collect();
    branches.sort();
    branches.dedup();
    let mut count = 0;
    for branch in branches {
        let loaded = Branch::load(store, branch.as_deref())?;
        let mut list: Vec<Id> = match tests {
            Some(tests) => tests.to_vec(),
            None => {
                let mut list = Vec::new();
                for lane in lanes
                    .iter()
                    .filter(|l| l.branch == branch && builder.is_none_or(|b| b == l.builder))
                {
                    list.extend(store.lane_tests(lane.id)?);
                }
                list
            }
        };
        list.sort_unstable();
        list.dedup();
        count += list.len();
        update(store, &loaded, &list)?;
    }
    Ok(count)
}

/// Whether a stored Problem already says what a recomputed one says.
fn unchanged(stored: &ProblemRecord, new: &ProblemRecord) -> bool {
    let ids = |changes: &[ChangeRef]| {
        let mut ids: Vec<Id> = changes.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids
    };
    same_builds(stored, new)
        && stored.hidden == new.hidden
        && stored.intermittent == new.intermittent
        && stored.message == new.message
        && stored.cluster == new.cluster
        && ids(&stored.started_by) == ids(&new.started_by)
        && ids(&stored.fixed_by) == ids(&new.fixed_by)
}

fn build_ref(at: &At) -> BuildRef {
    BuildRef {
        builder: at.builder.clone(),
        number: at.number,
        time: at.time,
        revision: at.revision.clone(),
    }
}

/// What a Problem's episode says without the store: its builds, state and whether it is
/// intermittent. [`complete`] adds its changes, message and cluster.
fn shape(branch: &Branch, test: Id, id: Id, episode: &Episode, lanes: &[Lane]) -> ProblemRecord {
    ProblemRecord {
        id,
        test,
        test_name: bstr::BString::default(),
        kind: probtrack_parsers::Kind::Test,
        branch: branch.branch.clone(),
        first_build: episode.first_failure.build,
        first_failure: build_ref(&episode.first_failure),
        last_failure: build_ref(&episode.last_failure),
        fixed: episode.fixed_at.as_ref().map(build_ref),
        open: episode.open,
        hidden: false,
        intermittent: intermittent(episode, lanes),
        failures: episode.failures,
        message: None,
        cluster: None,
        builders: episode
            .parts
            .iter()
            .map(|p| ProblemBuilder {
                builder: p.builder.clone(),
                first_number: p.first_failure.number,
                last_number: p.last_failure.number,
                fixed_number: p
                    .fixed
                    .then(|| p.fix_window.last())
                    .flatten()
                    .and_then(|b| {
                        lanes
                            .iter()
                            .find(|l| l.lane == p.lane)
                            .and_then(|l| l.steps.iter().find(|s| s.build == *b))
                            .map(|s| s.number)
                    }),
            })
            .collect(),
        started_by: Vec::new(),
        fixed_by: Vec::new(),
        metric: None,
    }
}

/// Whether a stored Problem has the shape of a recomputed one (builds, state, failures): then,
/// when no build it names is among the new ones, its changes, message and cluster are the same
/// too, as those come from the blamelists and results of the builds it names.
fn same_shape(stored: &ProblemRecord, new: &ProblemRecord) -> bool {
    !stored.hidden && same_builds(stored, new)
}

/// Whether two Problems are the same one over the same builds: id, failures, fix and builders.
fn same_builds(stored: &ProblemRecord, new: &ProblemRecord) -> bool {
    let builders = |p: &ProblemRecord| {
        let mut b = p.builders.clone();
        b.sort_by(|x, y| x.builder.cmp(&y.builder));
        b
    };
    stored.id == new.id
        && stored.first_build == new.first_build
        && stored.first_failure == new.first_failure
        && stored.last_failure == new.last_failure
        && stored.fixed == new.fixed
        && stored.open == new.open
        && stored.failures == new.failures
        && builders(stored) == builders(new)
}

/// Whether every build an episode names on a lane lies before that lane's new builds.
fn before_new(episode: &Episode, lanes: &[Lane], new: &[NewBuild]) -> bool {
    episode.parts.iter().all(|part| {
        let Some(&(_, first_new, _)) = new.iter().find(|n| n.0 == part.lane) else {
            return true;
        };
        let number_of = |build: Id| {
            lanes
                .iter()
                .find(|l| l.lane == part.lane)
                .and_then(|l| l.steps.iter().find(|s| s.build == build))
                .map(|s| s.number)
        };
        let last = part
            .fix_window
            .last()
            .and_then(|&b| number_of(b))
            .unwrap_or(part.last_failure.number)
            .max(part.last_failure.number);
        last < first_new
    })
}

/// The changes of the blamelists of a window's builds, each once, in order (a Problem's suspects
/// and fixers are narrowed from these, for tests as for metrics).
pub(crate) fn window_changes(
    blamelists: &HashMap<Id, Vec<ChangeRef>>,
    window: &[Id],
) -> Vec<ChangeRef> {
    let mut out: Vec<ChangeRef> = Vec::new();
    for build in window {
        for change in blamelists.get(build).into_iter().flatten() {
            if !out.iter().any(|c| c.id == change.id) {
                out.push(change.clone());
            }
        }
    }
    out
}

/// Adds to a Problem's shape what the store says: the changes that started and fixed it, its last
/// failure's message and cause cluster, and its test's name.
fn complete(reads: &Reads, mut record: ProblemRecord, episode: &Episode) -> ProblemRecord {
    let test = record.test;
    let changes_of = |builds: &[Id]| window_changes(&reads.blamelists, builds);
    let opening = episode.opening_part();
    let start_windows: Vec<(bool, Vec<ChangeRef>)> = episode
        .parts
        .iter()
        .map(|p| (p.passed_before, changes_of(&p.start_window)))
        .collect();
    record.started_by = analysis::narrow(&start_windows, &changes_of(&opening.start_window));
    record.fixed_by = match &episode.fixed_at {
        Some(fix) => {
            let closing = episode
                .parts
                .iter()
                .find(|p| p.lane == fix.lane)
                .map(|p| changes_of(&p.fix_window))
                .unwrap_or_default();
            let fix_windows: Vec<(bool, Vec<ChangeRef>)> = episode
                .parts
                .iter()
                .filter(|p| p.fixed)
                .map(|p| (true, changes_of(&p.fix_window)))
                .collect();
            analysis::narrow(&fix_windows, &closing)
        }
        None => Vec::new(),
    };
    // Its last failure's message and cause, read under each of its test's names (`rename`).
    let last = (test, episode.last_failure.build);
    (record.message, record.cluster) = reads.causes.get(&last).cloned().unwrap_or_default();
    // A test's name and kind, as Problems carry them.
    if let Some(t) = reads.names.get(&test) {
        (record.test_name, record.kind) = (t.name.clone(), t.kind);
    }
    record
}

/// `reanalyze`: [`reanalyze`] and the metric Problems of every series (judged with `metrics`,
/// the `[metrics]` settings), in a transaction of its own; returns how many tests it judged.
pub(crate) fn reanalyze_all(
    store: &mut dyn Store,
    metrics: &crate::settings::MetricSettings,
) -> Result<usize> {
    crate::transaction::write(store, |store| {
        let tests = reanalyze(store)?;
        crate::metrics::rejudge(store, None, metrics)?;
        Ok(tests)
    })
}

/// Recomputes every Problem from the stored results, branch by branch, in the caller's
/// transaction.
pub(crate) fn reanalyze(store: &mut dyn Store) -> Result<usize> {
    let mut branches: Vec<Option<String>> = store.lanes()?.into_iter().map(|l| l.branch).collect();
    branches.sort();
    branches.dedup();
    let mut tests_seen = 0;
    for branch in branches {
        let loaded = Branch::load(store, branch.as_deref())?;
        let mut tests: Vec<Id> = Vec::new();
        for lane in loaded.lane_ids() {
            tests.extend(store.lane_tests(lane)?);
        }
        // Tests whose Problems lost all their results must lose their Problems too.
        tests.extend(
            store
                .problems(&crate::store::ProblemFilter {
                    branch: Some(branch.clone()),
                    hidden: true,
                    ..Default::default()
                })?
                .iter()
                .map(|p| p.test),
        );
        tests.sort_unstable();
        tests.dedup();
        tests_seen += tests.len();
        update(store, &loaded, &tests)?;
    }
    Ok(tests_seen)
}

/// How many of a builder's builds before a Problem's first failure there its test's flakiness is
/// judged on.
pub(crate) const BEFORE: usize = 50;

/// How many of a builder's builds after the Problem's fix there count too (until then, each new
/// build of that builder judges the Problem anew).
pub(crate) const AFTER: usize = 50;

/// Whether a Problem is a flaky test's failure rather than a break: retry flakes around it or a
/// revision that both passed and failed during it, or short failing streaks around it: at least
/// two separate incidents whose flips score at least `flaky::THRESHOLD`, unless it is a long break. Judged only on evidence
/// that a new build can change by changing the test's outcome, so that the incremental analysis and
/// `reanalyze` agree (see docs/flaky.md).
fn intermittent(episode: &Episode, lanes: &[Lane]) -> bool {
    // Every run in the ranges counts (no window).
    let options = flaky::Options {
        window: usize::MAX,
        ..flaky::Options::default()
    };
    // `flaky::pattern` weighs only the lanes its ranges name: the lanes it failed on.
    // On each of its builders: from BEFORE builds before its first failure there to AFTER builds
    // after its fix there (to the end while that builder still fails it).
    let mut around_ranges = Vec::new();
    let mut during_ranges = Vec::new();
    for part in &episode.parts {
        let Some(lane) = lanes.iter().find(|l| l.lane == part.lane) else {
            continue;
        };
        let index_of = |number: i64| lane.steps.iter().position(|s| s.number == number);
        let first = index_of(part.first_failure.number).unwrap_or(0);
        let from = lane.steps[first.saturating_sub(BEFORE)].number;
        let fix = part
            .fixed
            .then(|| part.fix_window.last())
            .flatten()
            .and_then(|b| lane.steps.iter().position(|s| s.build == *b));
        let to = fix.map_or(i64::MAX, |i| {
            lane.steps[(i + AFTER).min(lane.steps.len() - 1)].number
        });
        around_ranges.push((lane.lane, from, to));
        during_ranges.push((
            lane.lane,
            part.first_failure.number,
            fix.map_or(i64::MAX, |i| lane.steps[i].number),
        ));
    }
    let around = flaky::pattern(
        lanes,
        &flaky::Options {
            ranges: Some(around_ranges),
            ..options.clone()
        },
    );
    if around.retry_flakes > 0 {
        return true;
    }
    let during = flaky::Options {
        ranges: Some(during_ranges),
        ..options.clone()
    };
    if flaky::same_revision(lanes, &during) > 0 {
        return true;
    }
    // The score's pattern part alone: its retry and same-revision terms count only as above (a
    // same-revision disagreement before the Problem does not make it intermittent).
    let pattern = 0.25 * around.flip_rate + 0.75 * around.weighted_flip_rate;
    if around.incidents < 2 || pattern < flaky::THRESHOLD {
        return false;
    }
    // A break fails a builder once, in one long streak, until it is fixed; a flaky test's failures
    // come in short streaks, and flip-flop while the Problem is open.
    // How often the test fails around the Problem, outside it: a streak that rate would make only by
    // a rare chance is a break.
    let outside_failures = around.failures.saturating_sub(episode.failures);
    let outside_runs = around.runs.saturating_sub(episode.failures).max(1);
    let rate = outside_failures as f64 / outside_runs as f64;
    let long_break = episode.parts.iter().any(|part| {
        let Some(lane) = lanes.iter().find(|l| l.lane == part.lane) else {
            return false;
        };
        let streaks = failing_streaks(lane, &part.failing_builds);
        streaks.len() == 1 && streaks[0] > options.streak && rate.powi(streaks[0] as i32) < CHANCE
    });
    !long_break
}

/// A failing streak that the test's failure rate around a Problem would make with less than this
/// chance is a break, even for a test known to be flaky.
pub(crate) const CHANCE: f64 = 0.001;

/// The lengths of the runs of consecutive failing builds (builds without evidence skipped) among
/// `builds`.
fn failing_streaks(lane: &Lane, builds: &[Id]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut current = 0;
    for step in &lane.steps {
        match step.evidence {
            crate::analyze::Evidence::Fail if builds.contains(&step.build) => current += 1,
            crate::analyze::Evidence::None => {}
            _ => {
                if current > 0 {
                    out.push(current);
                }
                current = 0;
            }
        }
    }
    if current > 0 {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use probtrack_parsers::Status;
    use proptest::prelude::*;

    /// A branch of lanes (one per pattern) and one test's runs on them: `P` pass, `F` fail, `E`
    /// error, `S` skipped, `R` retry flake, `.` absent; lane `l`'s build `k` is number `k + 1`, id
    /// `100 * l + k`, at a time from `times` (increasing along the lane, ties across lanes).
    fn history(patterns: &[(String, bool, Vec<i64>)]) -> (Branch, TestsRuns) {
        let mut lanes = Vec::new();
        let mut by_lane: TestsRuns = HashMap::new();
        for (l, (pattern, retired, times)) in patterns.iter().enumerate() {
            let id = l as Id + 1;
            let builds: Vec<BuildInfo> = (0..pattern.len())
                .map(|k| BuildInfo {
                    id: 100 * id + k as Id,
                    number: k as i64 + 1,
                    time: times[k],
                    revision: None,
                    bad: false,
                })
                .collect();
            let mut runs: Vec<Run> = Vec::new();
            for (k, c) in pattern.chars().enumerate() {
                let status = match c {
                    'P' => Some(Status::Passed),
                    'F' => Some(Status::Failed),
                    'E' => Some(Status::Error),
                    'S' => Some(Status::Skipped),
                    'R' => Some(Status::Flaky),
                    _ => None,
                };
                if runs.last().map_or(status.is_some(), |r| r.status != status) {
                    runs.push(Run {
                        first: k as i64 + 1,
                        status,
                    });
                }
            }
            if !runs.is_empty() {
                by_lane.entry(id).or_default().insert(7, runs);
            }
            let record = LaneRecord {
                id,
                builder: format!("b{l}"),
                branch: None,
                pruned_before: None,
            };
            lanes.push((record, *retired, builds));
        }
        let build_times = (lanes.iter())
            .flat_map(|(.., builds)| builds.iter().map(|b| (b.id, b.time)))
            .collect();
        let branch = Branch {
            branch: None,
            lanes,
            renamed_to: HashMap::new(),
            old_names: HashMap::new(),
            bad: Vec::new(),
            metric_series: OnceCell::from(HashSet::new()),
            build_times,
            any_bad: false,
        };
        (branch, by_lane)
    }

    /// A lane: its pattern (mostly passes, failures in bursts), whether its builder is retired,
    /// and its builds' times.
    fn lane() -> impl Strategy<Value = (String, bool, Vec<i64>)> {
        let step = prop_oneof![
            12 => Just("P"),
            2 => Just("F"),
            1 => Just("FFFF"),
            1 => Just("E"),
            1 => Just("S"),
            1 => Just("R"),
            1 => Just("."),
            1 => Just("PPPPPPPPPPPPPPPPPPPPPPPPPPPPPP"),
        ];
        (prop::collection::vec(step, 0..40), any::<bool>(), 0i64..40).prop_flat_map(
            |(steps, retired, offset)| {
                let pattern: String = steps.concat();
                let gaps = prop::collection::vec(0i64..3, pattern.len());
                (Just(pattern), Just(retired), gaps).prop_map(move |(p, r, gaps)| {
                    let times = (gaps.iter())
                        .scan(offset, |t, g| {
                            *t += 1 + g;
                            Some(*t)
                        })
                        .collect();
                    (p, r, times)
                })
            },
        )
    }

    /// A Problem fixed long before the new build is not judged again: the window starts at the
    /// new failure, its lane BEFORE builds before it.
    #[test]
    fn a_problem_settled_long_before_is_left_out_of_the_window() {
        let pattern = format!("PPFFP{}F", "P".repeat(120));
        let times = (1..=pattern.len() as i64).map(|k| 10 * k).collect();
        let (branch, by_lane) = history(&[(pattern, false, times)]);
        let last = branch.lanes[0].2.last().expect("builds").clone();
        let window = branch.window(&by_lane, 7, &[(1, last.number, last.time)]);
        assert_eq!(window.since, last.time);
        assert_eq!(window.from, vec![Some(125 - BEFORE)]);
        // Fixed only AFTER builds before it, the Problem is judged again, from the lane's start.
        let pattern = format!("PPFFP{}F", "P".repeat(AFTER));
        let times = (1..=pattern.len() as i64).map(|k| 10 * k).collect();
        let (branch, by_lane) = history(&[(pattern, false, times)]);
        let last = branch.lanes[0].2.last().expect("builds").clone();
        let window = branch.window(&by_lane, 7, &[(1, last.number, last.time)]);
        assert_eq!((window.since, window.from), (i64::MIN, vec![Some(0)]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Judging on a window finds the Problems from its time on as judging the whole history
        /// does (their builds, windows, fixes and intermittency), and every Problem before its
        /// time is settled by the new builds, so that its stored record stands.
        #[test]
        fn a_window_judges_as_the_whole_history(
            patterns in prop::collection::vec(lane(), 1..4),
            newest in prop::collection::vec(any::<bool>(), 3),
        ) {
            let (branch, by_lane) = history(&patterns);
            let new: Vec<NewBuild> = (branch.lanes.iter().zip(&newest))
                .filter(|(_, &is_new)| is_new)
                .filter_map(|((lane, _, builds), _)| {
                    builds.last().map(|b| (lane.id, b.number, b.time))
                })
                .collect();
            prop_assume!(!new.is_empty());
            let whole = branch.lanes_from(&by_lane, 7);
            let all = analysis::episodes(&whole);
            let window = branch.window(&by_lane, 7, &new);
            let lanes = branch.lanes_in(&by_lane, 7, &window);
            let mut judged = analysis::episodes(&lanes);
            judged.retain(|e| e.first_failure.time >= window.since);
            let (before, after): (Vec<&Episode>, Vec<&Episode>) =
                all.iter().partition(|e| e.first_failure.time < window.since);
            for e in before {
                prop_assert!(new.iter().all(|&n| settled(e, &whole, n)), "not settled: {e:?}");
            }
            prop_assert_eq!(after.len(), judged.len());
            for (full, windowed) in after.into_iter().zip(&judged) {
                prop_assert_eq!(format!("{full:?}"), format!("{windowed:?}"));
                prop_assert_eq!(
                    format!("{:?}", shape(&branch, 7, 0, full, &whole)),
                    format!("{:?}", shape(&branch, 7, 0, windowed, &lanes))
                );
                for &n in &new {
                    prop_assert_eq!(settled(full, &whole, n), settled(windowed, &lanes, n));
                }
                prop_assert_eq!(before_new(full, &whole, &new), before_new(windowed, &lanes, &new));
            }
        }
    }
}
