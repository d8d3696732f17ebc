//! Change points in a build metric's series: the steps that become metric Problems.
//!
//! Pure functions, like the rest of `analyze`: a series is a slice of values in build order (one
//! value per build of one lane: a builder on a branch), and the answer is a list of
//! [`ChangePoint`]s. No SQL, no I/O, no clock. `docs/metrics.md` documents the method; in short:
//!
//! **Noise.** The scale σ of the noise is estimated robustly from the differences of consecutive
//! values, `σ = median(|xᵢ₊₁ − xᵢ|) / (√2 · Φ⁻¹(¾))`, over the last [`Params::scale_window`]
//! builds, leaving out the differences across a step already found: a step moves one
//! difference, an outlier two, so neither moves the median much.
//!
//! **Levels.** The level of a run of builds is its Huber M-estimate of location at that scale
//! (tuning constant [`HUBER_K`] = 1.345σ: 95% as efficient as the mean under normal noise, and an
//! outlier moves it by at most 1.345σ/n), so that heavy-tailed noise does not make steps.
//!
//! **Test.** A step at build τ compares the level of the builds before it (since the previous
//! step, at most [`Params::window`] of them, at least [`Params::min_before`]) with the level of
//! the builds from τ to the newest one (at least [`Params::min_after`]):
//! `z = (level_after − level_before) / (σ · √(v · (1/n_before + 1/n_after)))`, where v = 1.0526
//! is the Huber estimate's variance factor under normal noise. A candidate must be *sustained*:
//! the first build after τ, and all but fewer than a quarter of the others, lie on the new
//! level's side of the midpoint between the two levels.
//!
//! **Scan.** The detector reads the series as it grew, build by build, and at each build takes
//! the sustained τ with the largest |z|; a step is confirmed at the first build where that |z|
//! reaches [`Params::threshold`], raised while the noise scale rests on few differences (divided
//! by 1 − 1.2/√m for m differences: the scale's own standard error; none before 8), and the
//! relative change reaches [`Params::min_change`] (a per-metric threshold). Each step found
//! becomes the start of a new level, and the scan goes on from there, so a series with several
//! steps (a regression and its fix) yields each of them. This is binary segmentation, as
//! E-Divisive (the method of Apache Otava) does, with two differences: the two sides are compared
//! by robust levels and a noise scale taken from the whole recent history, not by a mean-based
//! t-test of the two windows alone; and the scan runs forward, so what a build confirmed stays
//! confirmed when later builds arrive (a Problem once opened is not withdrawn by the next
//! build's noise).
//!
//! **Place.** Where exactly a step starts is the τ near the most significant one that fits two
//! levels best (the least Huber loss of both sides: a build at the new level placed on the old
//! side costs its whole distance, where the robust levels would have shrugged it off). Once the
//! series has gone on past a step, its place is looked at again with the builds on both sides (up
//! to the neighbouring steps), within [`Params::min_after`] builds. [`ChangePoint::index`] is
//! that place, and [`ChangePoint::index_at_confirmation`] the place as first confirmed.
//!
//! **Across builders.** [`group_steps`] puts together the steps of one series on several
//! builders that one change explains (same sign, overlapping suspect changes) and narrows their
//! suspects as test Problems are narrowed (`problems::narrow`).

use std::collections::HashSet;
use std::hash::Hash;

use probtrack_parsers::metrics::Direction;

/// The Huber tuning constant, in units of the noise scale.
pub const HUBER_K: f64 = 1.345;
/// The variance of the Huber location estimate relative to the mean's, under normal noise.
const HUBER_VARIANCE: f64 = 1.0526;
/// √2 · Φ⁻¹(¾): median(|xᵢ₊₁ − xᵢ|) of unit normal noise.
const DIFF_MAD: f64 = 0.953_872;

/// The detector's parameters (per metric, from the settings).
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// The |z| a step needs to be confirmed (with a noise scale from many builds; more while it
    /// rests on few).
    pub threshold: f64,
    /// The builds at the new level a step needs before it is confirmed (the fewest builds to
    /// confirmation).
    pub min_after: usize,
    /// The builds at the old level a step needs to be tested.
    pub min_before: usize,
    /// At most this many builds on each side of a step are compared.
    pub window: usize,
    /// The noise scale is estimated over this many of the latest builds.
    pub scale_window: usize,
    /// The smallest relative change (|after / before − 1|) that is a step; 0 for any.
    pub min_change: f64,
    /// The |z| a step needs on a builder where another builder's confirmed step explains it
    /// ([`corroborate`]): one place and one sign tested, not a scan over every place.
    pub corroborate: f64,
    /// The |z| each of two builders' first builds after one change must depart by, in the same
    /// sign, for the pair to confirm a step that neither confirms alone ([`departure`]).
    pub pair: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            threshold: 4.5,
            min_after: 3,
            min_before: 5,
            window: 40,
            scale_window: 200,
            min_change: 0.0,
            corroborate: 3.0,
            pair: 3.0,
        }
    }
}

/// Whether a step made the series worse or better, given its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepKind {
    Regression,
    Improvement,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Regression => "regression",
            StepKind::Improvement => "improvement",
        }
    }
}

/// One step in a series.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangePoint {
    /// The first build (index into the series) at the new level; `index − 1` is the last build
    /// before the step. The suspects are the changes between those two builds.
    pub index: usize,
    /// Where the step was placed when it was confirmed.
    pub index_at_confirmation: usize,
    /// The build whose value confirmed the step.
    pub confirmed_at: usize,
    /// The levels before and after (Huber estimates, over at most `window` builds each).
    pub before: f64,
    pub after: f64,
    /// The test statistic at `index`, in units of its standard error (signed: + for a rise).
    pub z: f64,
    /// The noise scale the step was measured against.
    pub sigma: f64,
    pub kind: StepKind,
}

impl ChangePoint {
    /// `after / before − 1` (NaN when `before` is 0).
    pub fn relative_change(&self) -> f64 {
        relative(self.before, self.after)
    }
}

fn relative(before: f64, after: f64) -> f64 {
    if before == 0.0 {
        f64::NAN
    } else {
        after / before - 1.0
    }
}

/// The median of `values` (reordered): the middle one, or the mean of the two middle ones, as a
/// sort would give them, found by selection (the detector takes thousands of medians a build).
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len();
    let (below, &mut middle, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        middle
    } else {
        let lower = below
            .iter()
            .copied()
            .max_by(f64::total_cmp)
            .unwrap_or(middle);
        (lower + middle) / 2.0
    }
}

/// The Huber M-estimate of location of `values` at scale `sigma` (their median where σ is 0).
pub fn huber_location(values: &[f64], sigma: f64) -> f64 {
    huber_near(values, sigma, None)
}

/// [`huber_location`], its search started at `near` where given (the level of a neighbouring
/// side, which is close): the answer does not depend on where the search starts.
///
/// The estimate is the root of `Σ ψ(xᵢ − μ)`, ψ clipped at ±k = [`HUBER_K`]·σ: a continuous,
/// non-increasing, piecewise linear function of μ. On the piece where the values within k of μ
/// are the set A, those below μ − k number L and those above μ + k number U, the root is
/// `(Σ_A x + k·(U − L)) / |A|`. Newton's method goes from piece to piece and stops exactly when
/// the root of a piece lies on it (the sets there are the sets it came from), so the answer is
/// that exact root, summed in the values' order whatever the start; a step that leaves the
/// bracket known to hold the root, or a piece without values within k, falls back to bisection
/// of that bracket.
fn huber_near(values: &[f64], sigma: f64, near: Option<f64>) -> f64 {
    let start = match near {
        Some(mu) if mu.is_finite() => Some(mu),
        _ => None,
    };
    if sigma.is_nan() || sigma <= 0.0 || values.len() < 2 || start.is_none() {
        // The detector's sides are at most `window` long: no allocation for them.
        let mut buffer = [0.0; 64];
        let mu = match buffer.get_mut(..values.len()) {
            Some(copy) => {
                copy.copy_from_slice(values);
                median(copy)
            }
            None => median(&mut values.to_vec()),
        };
        if sigma.is_nan() || sigma <= 0.0 || values.len() < 2 || !mu.is_finite() {
            return mu;
        }
        return newton(values, sigma, mu);
    }
    newton(values, sigma, start.unwrap_or_default())
}

/// The piece of `Σ ψ(xᵢ − μ)` at μ.
#[derive(Clone, Copy)]
struct Piece {
    /// Σ ψ.
    psi: f64,
    /// Σ_A x, summed in the values' order.
    inside: f64,
    /// |A|.
    count: usize,
    /// U − L.
    tails: i64,
}

impl Piece {
    fn at(values: &[f64], mu: f64, k: f64) -> Piece {
        let mut p = Piece {
            psi: 0.0,
            inside: 0.0,
            count: 0,
            tails: 0,
        };
        for &x in values {
            p.add(x, mu, k);
        }
        p
    }

    #[inline]
    fn add(&mut self, x: f64, mu: f64, k: f64) {
        let r = x - mu;
        if r > k {
            self.psi += k;
            self.tails += 1;
        } else if r < -k {
            self.psi -= k;
            self.tails -= 1;
        } else {
            self.psi += r;
            self.inside += x;
            self.count += 1;
        }
    }

    /// Whether `other` has the same values within k and the same tails.
    fn same_sets(&self, other: &Piece) -> bool {
        (self.inside, self.count, self.tails) == (other.inside, other.count, other.tails)
    }
}

fn newton(values: &[f64], sigma: f64, start: f64) -> f64 {
    let k = HUBER_K * sigma;
    // The root lies between the least and the greatest value (Σ ψ ≥ 0 at one, ≤ 0 at the other).
    // They are found in the same pass as the piece at the start, which is taken again where the
    // start lies outside them.
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut first = Piece::at(&[], start, k);
    for &x in values {
        lo = lo.min(x);
        hi = hi.max(x);
        first.add(x, start, k);
    }
    let mut mu = start.clamp(lo, hi);
    let mut cur = if mu == start {
        first
    } else {
        Piece::at(values, mu, k)
    };
    for _ in 0..200 {
        let Piece {
            psi,
            inside,
            count,
            tails,
        } = cur;
        if psi == 0.0 && count == 0 {
            // No value within k of a root: the roots are the gap between the two middle values,
            // whose middle, the median, is the answer from any start.
            return median(&mut values.to_vec());
        }
        if psi > 0.0 {
            lo = mu;
        } else if psi < 0.0 {
            hi = mu;
        }
        if count > 0 {
            let root = (inside + k * tails as f64) / count as f64;
            if root >= lo && root <= hi {
                let then = Piece::at(values, root, k);
                if then.same_sets(&cur) {
                    // The root of this piece lies on it: the exact answer, unless it is the end
                    // of a run of roots (every value within k lies at k): then the median.
                    if values.iter().all(|&x| (x - root).abs() >= k * (1.0 - 1e-9)) {
                        return median(&mut values.to_vec());
                    }
                    return root;
                }
                if root > lo && root < hi {
                    // The piece at the root is the next one looked at.
                    mu = root;
                    cur = then;
                    continue;
                }
            }
        }
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            return mid;
        }
        mu = mid;
        cur = Piece::at(values, mu, k);
    }
    mu
}

/// The robust noise scale of `values` from their consecutive differences, leaving out the
/// differences that straddle a step (`breaks`: indexes of first builds at a new level).
pub fn noise_scale(values: &[f64], breaks: &[usize], offset: usize) -> f64 {
    scale_of(values, breaks, offset).0
}

/// The noise scale and how many differences it comes from.
fn scale_of(values: &[f64], breaks: &[usize], offset: usize) -> (f64, usize) {
    let mut diffs: Vec<f64> = values
        .windows(2)
        .enumerate()
        .filter(|(i, _)| !breaks.contains(&(offset + i + 1)))
        .map(|(_, w)| (w[1] - w[0]).abs())
        .collect();
    (median(&mut diffs) / DIFF_MAD, diffs.len())
}

/// The test of a step at `tau`: the levels of `left` and `right` and their z.
struct Split {
    tau: usize,
    before: f64,
    after: f64,
    z: f64,
}

fn split(
    values: &[f64],
    left: std::ops::Range<usize>,
    right: std::ops::Range<usize>,
    sigma: f64,
    near: Option<(f64, f64)>,
) -> Split {
    let before = huber_near(&values[left.clone()], sigma, near.map(|n| n.0));
    split_at(values, left, right, sigma, before, near.map(|n| n.1))
}

/// [`split`] where the level of the left side is known.
fn split_at(
    values: &[f64],
    left: std::ops::Range<usize>,
    right: std::ops::Range<usize>,
    sigma: f64,
    before: f64,
    near: Option<f64>,
) -> Split {
    let after = huber_near(&values[right.clone()], sigma, near);
    let nl = left.len() as f64;
    let nr = right.len() as f64;
    let se = sigma * (HUBER_VARIANCE * (1.0 / nl + 1.0 / nr)).sqrt();
    let diff = after - before;
    let z = if se > 0.0 {
        diff / se
    } else if diff == 0.0 {
        0.0
    } else {
        diff.signum() * f64::INFINITY
    };
    Split {
        tau: right.start,
        before,
        after,
        z,
    }
}

/// Whether a step at τ could be confirmed, from the level `before` of its left side (`nl`
/// builds) and the values of its right side in order (`right`), without the right side's level.
/// A step confirmed moves the level by at least `need` standard errors, so the midpoint between
/// the levels lies at least half of that beyond `before`, and all but fewer than a quarter of the
/// right side ([`sustained`]) lie beyond the midpoint: where the right side's values say neither
/// a rise nor a drop could be, τ is passed over (the scan's answer is the same: a τ passed over
/// has |z| below `need` or is not sustained, so it neither confirms nor is the largest |z| of a
/// build that confirms). A margin keeps rounding on the side of looking.
fn could_confirm(right: &[f64], before: f64, sigma: f64, nl: usize, need: f64) -> bool {
    let nr = right.len();
    if nr == 0 || nl == 0 {
        return true;
    }
    let strays = (nr - 1) / 4;
    let se = sigma * (HUBER_VARIANCE * (1.0 / nl as f64 + 1.0 / nr as f64)).sqrt();
    let half = 0.5 * need * se * (1.0 - 1e-6) - 1e-9 * (before.abs() + se);
    half.is_nan()
        || half <= 0.0
        || right[strays] > before + half
        || right[nr - 1 - strays] < before - half
}

/// [`could_confirm`] answered no without the left side's level: from its values in order
/// (`left`), the sign of `Σ ψ(xᵢ − c)` at the two places `c` that bound it (the level lies above
/// c where the sum is positive there, below where it is negative). A margin keeps rounding on
/// the side of looking.
fn surely_none(left: &[f64], right: &[f64], sigma: f64, need: f64) -> bool {
    let (nl, nr) = (left.len(), right.len());
    if nr == 0 || nl == 0 {
        return false;
    }
    let strays = (nr - 1) / 4;
    let se = sigma * (HUBER_VARIANCE * (1.0 / nl as f64 + 1.0 / nr as f64)).sqrt();
    let k = HUBER_K * sigma;
    let below = |c: f64| left.partition_point(|&v| v < c);
    let above = |c: f64| nl - left.partition_point(|&v| v <= c);
    // Σ ψ(xᵢ − c) over the values in order: those below c − k and above c + k count ∓k.
    let psi = |c: f64| -> f64 {
        let a = below(c - k);
        let b = nl - above(c + k);
        let inside: f64 = left[a..b].iter().map(|&v| v - c).sum();
        k * ((nl - b) as f64 - a as f64) + inside
    };
    // Bounds of it from counts alone: each value below c adds at least −k, each above c at
    // most k, and those beyond c ± k exactly ±k.
    let psi_above = |c: f64| k * (above(c + k) as f64 - below(c) as f64);
    let psi_below = |c: f64| k * (above(c) as f64 - below(c - k) as f64);
    // The half step, as `could_confirm` takes it, and a little less.
    let half = 0.5 * need * se * (1.0 - 2e-6) - 2e-9 * (left[nl / 2].abs() + k + se);
    if half.is_nan() || half <= 0.0 {
        return false;
    }
    let rise_from = right[strays] - half;
    let drop_to = right[nr - 1 - strays] + half;
    let tolerance = |c: f64| 1e-9 * nl as f64 * (k + c.abs());
    // A rise needs the level below `rise_from`, a drop above `drop_to`.
    let no_rise = |c: f64| psi_above(c) > tolerance(c) || psi(c) > tolerance(c);
    let no_drop = |c: f64| psi_below(c) < -tolerance(c) || psi(c) < -tolerance(c);
    no_rise(rise_from) && no_drop(drop_to)
}

/// Removes `value` (finite, present) from the values in order.
fn remove_sorted(sorted: &mut Vec<f64>, value: f64) {
    let at = sorted.partition_point(|&v| v < value);
    if sorted.get(at) == Some(&value) {
        sorted.remove(at);
    }
}

/// Whether the builds after a step stay at its new level: the first of them, and all but fewer
/// than a quarter of the rest (none of 3 or 4, one of 5 to 8, …), lie on the new level's side of
/// the midpoint between the two. A majority of outliers among the few builds after a candidate
/// moves its robust level, but not this count, so two wild builds out of three confirm nothing;
/// and a step starts at a build that shows it.
fn sustained(after: &[f64], split: &Split) -> bool {
    let mid = (split.before + split.after) / 2.0;
    let rise = split.after > split.before;
    let strays = |v: &f64| if rise { *v <= mid } else { *v >= mid };
    if after.first().is_none_or(strays) {
        return false;
    }
    let stray = after.iter().filter(|v| strays(v)).count();
    stray <= after.len().saturating_sub(1) / 4
}

/// The scale used at a build: the estimate, floored so that a series that never varies (a count
/// of allocations) still has a finite z for a real change, and never a division by zero.
fn floored(sigma: f64, level: f64) -> f64 {
    let floor = (level.abs() * 1e-9).max(f64::MIN_POSITIVE);
    if sigma.is_finite() {
        sigma.max(floor)
    } else {
        floor
    }
}

/// The steps in `values` (one value per build, oldest first). Values that are not finite are
/// read past (they neither start nor confirm a step); indexes are into `values` as given.
pub fn detect(values: &[f64], direction: Direction, params: &Params) -> Vec<ChangePoint> {
    let kept: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_finite())
        .collect();
    let x: Vec<f64> = kept.iter().map(|&i| values[i]).collect();
    let mut steps = detect_where(&x, direction, params, &mut |_, _| true);
    for step in &mut steps {
        step.index = kept[step.index];
        step.index_at_confirmation = kept[step.index_at_confirmation];
        step.confirmed_at = kept[step.confirmed_at];
    }
    steps
}

fn kind_of(direction: Direction, rise: bool) -> StepKind {
    match (direction, rise) {
        (Direction::LowerIsBetter, true) | (Direction::HigherIsBetter, false) => {
            StepKind::Regression
        }
        _ => StepKind::Improvement,
    }
}

/// The builds a step's scan reaches back over: a confirmation at build `e` is decided by the
/// values from `e − reach(params)` on and the steps confirmed since (`detect_where`).
pub fn reach(params: &Params) -> usize {
    let (window, _, min_before) = sides(params);
    params.scale_window.max(8).max(2 * window + min_before)
}

/// The window and the fewest builds after and before a step, as the scan uses them.
pub fn sides(params: &Params) -> (usize, usize, usize) {
    let min_before = params.min_before.max(2);
    let min_after = params.min_after.max(1);
    (
        params.window.max(min_before).max(min_after),
        min_after,
        min_before,
    )
}

/// [`detect`] of finite `x`, scanning only the builds `evaluate(end, steps so far)` names (`end`
/// is the length of the prefix read, so the newest value is `x[end − 1]`); every other build is
/// taken to confirm nothing. The scan's state changes only where it confirms a step, so when
/// the builds left out are known to confirm nothing (a judge that knows where the steps were),
/// the answer is [`detect`]'s; with `evaluate` always true it is [`detect`].
pub fn detect_where(
    x: &[f64],
    direction: Direction,
    params: &Params,
    evaluate: &mut dyn FnMut(usize, &[ChangePoint]) -> bool,
) -> Vec<ChangePoint> {
    let (window, min_after, min_before) = sides(params);
    let mut steps: Vec<ChangePoint> = Vec::new();
    let mut breaks: Vec<usize> = Vec::new();
    let mut start = 0usize;
    for end in 1..=x.len() {
        if !evaluate(end, &steps) {
            continue;
        }
        // The candidates: τ with at least min_before builds since `start` before it and at least
        // min_after builds from it to `end`, the right side at most `window` long.
        let first = (start + min_before).max(end.saturating_sub(window));
        if end < min_after || first > end - min_after {
            continue;
        }
        let scale_from = end.saturating_sub(params.scale_window.max(8));
        let (raw_sigma, diffs) = scale_of(&x[scale_from..end], &breaks, scale_from);
        if diffs < MIN_DIFFS {
            continue;
        }
        let mut best: Option<Split> = None;
        let need = threshold(params.threshold, diffs);
        // Each τ's levels are near the previous τ's: the search for them starts there.
        let mut near: Option<(f64, f64)> = None;
        // The right side's values in order (each τ's are the previous τ's but one), to pass over
        // the τ where no step can be confirmed without the level of the right side.
        let mut right: Vec<f64> = x[first..end].to_vec();
        right.sort_unstable_by(f64::total_cmp);
        // The left side's values in order too: where they show that its level lies where no
        // step could be confirmed, τ is passed over without any level.
        let mut left_sorted: Vec<f64> = x[first.saturating_sub(window).max(start)..first].to_vec();
        left_sorted.sort_unstable_by(f64::total_cmp);
        for tau in first..=end - min_after {
            if tau > first {
                // (The values are finite: a value equal to the one that goes is that one.)
                let gone = x[tau - 1];
                remove_sorted(&mut right, gone);
                let at = left_sorted.partition_point(|&v| v < gone);
                left_sorted.insert(at, gone);
                let (was, now) = (
                    (tau - 1).saturating_sub(window).max(start),
                    tau.saturating_sub(window).max(start),
                );
                if now > was {
                    remove_sorted(&mut left_sorted, x[was]);
                }
            }
            let left = tau.saturating_sub(window).max(start)..tau;
            let sigma = floored(raw_sigma, x[tau - 1]);
            if surely_none(&left_sorted, &right, sigma, need) {
                continue;
            }
            let before = huber_near(&x[left.clone()], sigma, near.map(|n| n.0));
            if !could_confirm(&right, before, sigma, left.len(), need) {
                near = Some((before, near.map_or(before, |n| n.1)));
                continue;
            }
            let s = split_at(x, left, tau..end, sigma, before, near.map(|n| n.1));
            near = Some((s.before, s.after));
            if !sustained(&x[tau..end], &s) {
                continue;
            }
            if best.as_ref().is_none_or(|b| s.z.abs() > b.z.abs()) {
                best = Some(s);
            }
        }
        let Some(best) = best else { continue };
        let change = relative(best.before, best.after);
        let big_enough = params.min_change <= 0.0 || change.abs() >= params.min_change;
        if best.z.abs() >= threshold(params.threshold, diffs) && big_enough {
            let sigma = floored(raw_sigma, best.before);
            // Where exactly: the place that fits two levels best, near the most significant one.
            let lo = best.tau.saturating_sub(min_after).max(first);
            let hi = (best.tau + min_after).min(end - min_after);
            let span = best.tau.saturating_sub(window).max(start)..end;
            let tau = place(x, span, lo, hi, sigma).unwrap_or(best.tau);
            let at = if tau == best.tau {
                best
            } else {
                split(
                    x,
                    tau.saturating_sub(window).max(start)..tau,
                    tau..end,
                    sigma,
                    None,
                )
            };
            if (at.after > at.before) != (at.z > 0.0) || at.z == 0.0 {
                continue;
            }
            steps.push(ChangePoint {
                index: at.tau,
                index_at_confirmation: at.tau,
                confirmed_at: end - 1,
                before: at.before,
                after: at.after,
                z: at.z,
                sigma,
                kind: kind_of(direction, at.after > at.before),
            });
            breaks.push(at.tau);
            start = at.tau;
        }
    }
    refine(x, &mut steps, direction, params, window);
    steps
}

/// A step on one builder that another builder's confirmed step explains (*corroboration*): the
/// other builder's step narrowed its suspects to changes that this lane first built at `at`, so
/// the place and the sign are known before this lane's values are looked at. One test at one
/// place needs less evidence than a scan over every place: the step is confirmed at the first
/// build from `at` on (at most [`CORROBORATED_WITHIN`] × [`Params::min_after`] of them, before
/// the lane's next own step) where the lane's level from `at` departs from the level before it
/// by [`Params::corroborate`] standard errors (raised as [`Params::threshold`] is while the noise
/// scale rests on few differences), in the sign `kind` needs, sustained, and by at least
/// `min_change`. `own` are the lane's own steps ([`detect_where`]'s): where one lies within
/// `min_after` builds of `at`, the lane found the step itself and nothing is corroborated.
pub fn corroborate(
    x: &[f64],
    own: &[ChangePoint],
    at: usize,
    kind: StepKind,
    direction: Direction,
    params: &Params,
) -> Option<ChangePoint> {
    let (window, min_after, min_before) = sides(params);
    if at == 0 || at >= x.len() || own.iter().any(|s| s.index.abs_diff(at) <= min_after) {
        return None;
    }
    let start = level_start(own, at);
    let next = (own.iter().map(|s| s.index))
        .filter(|&i| i > at)
        .min()
        .unwrap_or(x.len());
    let left = at.saturating_sub(window).max(start)..at;
    if left.len() < min_before {
        return None;
    }
    // The difference into `at` straddles the step: it is left out of the scale, as those of the
    // lane's own steps are.
    let mut breaks: Vec<usize> = own.iter().map(|s| s.index).collect();
    breaks.push(at);
    for end in at + 1..=(at + CORROBORATED_WITHIN * min_after).min(next) {
        let scale_from = end.saturating_sub(params.scale_window.max(8));
        let (raw_sigma, diffs) = scale_of(&x[scale_from..end], &breaks, scale_from);
        if diffs < MIN_DIFFS {
            continue;
        }
        let sigma = floored(raw_sigma, x[at - 1]);
        let s = split(x, left.clone(), at..end, sigma, None);
        let change = relative(s.before, s.after);
        let big_enough = params.min_change <= 0.0 || change.abs() >= params.min_change;
        if s.z == 0.0
            || (s.after > s.before) != (s.z > 0.0)
            || kind_of(direction, s.after > s.before) != kind
            || s.z.abs() < threshold(params.corroborate, diffs)
            || !big_enough
            || !sustained(&x[at..end], &s)
        {
            continue;
        }
        return Some(ChangePoint {
            index: at,
            index_at_confirmation: at,
            confirmed_at: end - 1,
            before: s.before,
            after: s.after,
            z: s.z,
            sigma,
            kind,
        });
    }
    None
}

/// How build `i` alone departs from its lane's level (a *departure*): the level of the builds
/// before it (since the lane's previous own step known by then, at most `window`, at least
/// `min_before`) against its one value, in standard errors of that difference, with the noise
/// scale of the builds before it. A step at `i` (confirmed at `i`) where |z| reaches
/// [`Params::pair`] (raised as [`Params::threshold`] is while the scale rests on few
/// differences) and the change reaches `min_change`, unless a build before it (since the level
/// started, at most `scale_window`) lies as far from the level: a lane whose noise has tails
/// that long says nothing with one build. One build at a new level looks like one outlier; two
/// builders' first builds after one change that both depart in the same sign rarely are
/// (`metrics::judge` pairs them: a step confirmed on the first build of each). `own` are the
/// lane's own steps ([`detect_where`]'s over its whole series): those confirmed before `i` bound
/// the level and leave their differences out of the scale, as the scan did at `i`.
pub fn departure(
    x: &[f64],
    own: &[ChangePoint],
    i: usize,
    direction: Direction,
    params: &Params,
) -> Option<ChangePoint> {
    let (window, _, min_before) = sides(params);
    if i == 0 || i >= x.len() || !x[i].is_finite() {
        return None;
    }
    let known: Vec<usize> = (own.iter())
        .filter(|s| s.index < i && s.confirmed_at < i)
        .map(|s| s.index)
        .collect();
    let start = known.iter().copied().max().unwrap_or(0);
    let left = i.saturating_sub(window).max(start)..i;
    if left.len() < min_before {
        return None;
    }
    // The builds whose tails are looked at: those since the level started, as far back as the
    // scale is taken. A build within their range has one at least as far from the level (the
    // check below): most builds stop here, before any level or scale is measured.
    let tails = i.saturating_sub(params.scale_window.max(window)).max(start)..i;
    let (lo, hi) = (x[tails.clone()].iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if (lo..=hi).contains(&x[i]) {
        return None;
    }
    let scale_from = i.saturating_sub(params.scale_window.max(8));
    let (raw_sigma, diffs) = scale_of(&x[scale_from..i], &known, scale_from);
    if diffs < MIN_DIFFS {
        return None;
    }
    let sigma = floored(raw_sigma, x[i - 1]);
    let s = split(x, left.clone(), i..i + 1, sigma, None);
    let change = relative(s.before, s.after);
    let big_enough = params.min_change <= 0.0 || change.abs() >= params.min_change;
    let need = threshold(params.pair, diffs);
    if s.z == 0.0 || s.z.is_nan() || s.z.abs() < need || !big_enough {
        return None;
    }
    let far = (s.after - s.before).abs();
    let outlier = |v: &f64| (v - s.before).abs() >= far;
    if x[tails].iter().any(outlier) {
        return None;
    }
    Some(ChangePoint {
        index: i,
        index_at_confirmation: i,
        confirmed_at: i,
        before: s.before,
        after: s.after,
        z: s.z,
        sigma,
        kind: kind_of(direction, s.after > s.before),
    })
}

/// Where [`corroborate`] tests a lane for a group's step: the first of the lane's `candidates`
/// (each a place and the changes of its blamelist window, in build order) whose window holds one
/// of the group's `suspects`. `None` when no window holds one, or when that window also holds a
/// change that is `other` (one that moves the series the other way: `metrics::judge` names a
/// suspect of a group of the other kind, or a return): the place is *ambiguous*, a jump there
/// cannot be told from that move, and no later place is tried. A lane that paused has a first build after the gap whose window holds every change
/// of the gap; that build shows whatever moved the series meanwhile.
pub fn corroboration_place<C: Eq + Hash>(
    candidates: impl IntoIterator<Item = (usize, Vec<C>)>,
    suspects: &HashSet<C>,
    other: impl Fn(&C) -> bool,
) -> Option<usize> {
    let holds = |w: &[C]| w.iter().any(|c| suspects.contains(c));
    let (at, window) = candidates.into_iter().find(|(_, w)| holds(w))?;
    (!window.iter().any(other)).then_some(at)
}

/// Where a step at `at` (levels `before` → `after`) returns: the first value from which `hold`
/// values in a row lie on the old level's side of the midpoint, before `end`.
pub fn returns(
    values: &[f64],
    at: usize,
    end: usize,
    before: f64,
    after: f64,
    hold: usize,
) -> Option<usize> {
    let mid = (before + after) / 2.0;
    let back = |x: f64| if after > before { x < mid } else { x > mid };
    let hold = hold.max(1);
    (at + 1..end).find(|&j| j + hold <= end && values[j..j + hold].iter().all(|&x| back(x)))
}

/// The level before a corroborated `step` on `x` (the median of the values since the lane's
/// previous own step, at most `window`) and where the series returns from it: the lane's own
/// next step of the other kind where that comes first, else [`returns`] with the step's level
/// and `min_after` values in a row (`metrics::judge` records it as the lane's fix).
pub fn corroborated_return(
    x: &[f64],
    own: &[ChangePoint],
    step: &ChangePoint,
    params: &Params,
) -> (f64, Option<usize>) {
    let at = step.index;
    let start = level_start(own, at);
    let from = at.saturating_sub(params.window).max(start);
    let before = median(&mut x[from..at].to_vec());
    let ret = returns(x, at, x.len(), before, step.after, params.min_after);
    let next = own.iter().find(|s| s.index > at && s.kind != step.kind);
    let ret = match next {
        Some(n) if ret.is_none_or(|r| n.index < r) => Some(n.index),
        _ => ret,
    };
    (before, ret)
}

/// Where the level before `at` starts: the lane's own previous step, else its first build.
fn level_start(own: &[ChangePoint], at: usize) -> usize {
    (own.iter().map(|s| s.index))
        .filter(|&i| i < at)
        .max()
        .unwrap_or(0)
}

/// How many times `min_after` builds from its place a step may take to be corroborated: a lane
/// that saw a step for longer and did not confirm it alone (its scan's threshold is higher while
/// the scale rests on few builds, and a stray build among few undoes `sustained`) is still
/// corroborated, while the place stays the one the other builder's step gave.
pub const CORROBORATED_WITHIN: usize = 2;

/// The fewest differences the noise scale is estimated from before any step is looked for.
const MIN_DIFFS: usize = 8;

/// The |z| needed when the noise scale comes from `diffs` differences. The median of m absolute
/// differences is off by about 1.2/√m of itself (one standard error), and an underestimated scale
/// inflates every z, so the threshold is divided by one standard error's underestimate: ×1.09
/// at 200 differences, ×1.2 at 50, ×1.74 at 8.
fn threshold(base: f64, diffs: usize) -> f64 {
    base / (1.0 - 1.2 / (diffs.max(MIN_DIFFS) as f64).sqrt())
}

/// The Huber loss of `values` around `mu` at scale `sigma`.
fn huber_cost(values: &[f64], mu: f64, sigma: f64) -> f64 {
    values
        .iter()
        .map(|&v| {
            let r = ((v - mu) / sigma).abs();
            if r <= HUBER_K {
                0.5 * r * r
            } else {
                HUBER_K * r - 0.5 * HUBER_K * HUBER_K
            }
        })
        .sum()
}

/// The τ in `lo..=hi` (strictly inside `span`) that splits `span` into the two levels that fit
/// best (the least Huber loss). Unlike the largest z, this does not let one build at the new
/// level sit on the old side: a misplaced build costs its whole distance (the Huber loss is
/// linear in the tails), where the robust level would have ignored it.
fn place(
    x: &[f64],
    span: std::ops::Range<usize>,
    lo: usize,
    hi: usize,
    sigma: f64,
) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for tau in lo..=hi {
        if tau <= span.start || tau >= span.end {
            continue;
        }
        let left = &x[span.start..tau];
        let right = &x[tau..span.end];
        let cost = huber_cost(left, huber_location(left, sigma), sigma)
            + huber_cost(right, huber_location(right, sigma), sigma);
        if best.is_none_or(|(c, _)| cost < c) {
            best = Some((cost, tau));
        }
    }
    best.map(|(_, tau)| tau)
}

/// Places each step again with the builds on both sides, up to its neighbours.
fn refine(
    x: &[f64],
    steps: &mut [ChangePoint],
    direction: Direction,
    params: &Params,
    window: usize,
) {
    let n = x.len();
    let starts: Vec<usize> = steps.iter().map(|s| s.index).collect();
    for i in 0..steps.len() {
        let prev = if i == 0 { 0 } else { starts[i - 1] };
        let next = starts.get(i + 1).copied().unwrap_or(n);
        let at = starts[i];
        let span = at.saturating_sub(window).max(prev)..(at + window).min(next);
        let lo = at.saturating_sub(params.min_after).max(prev + 1);
        let hi = (at + params.min_after).min(next.saturating_sub(1));
        let sigma = steps[i].sigma;
        let Some(tau) = place(x, span.clone(), lo, hi, sigma) else {
            continue;
        };
        let s = split(x, span.start..tau, tau..span.end, sigma, None);
        // Only a step of the same sign counts as the same step.
        if (s.after > s.before) == (steps[i].after > steps[i].before) {
            steps[i].index = tau;
            steps[i].before = s.before;
            steps[i].after = s.after;
            steps[i].z = s.z;
            steps[i].kind = kind_of(direction, s.after > s.before);
        }
    }
}

/// One builder's step of a series, as [`group_steps`] takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneStep<L, C> {
    /// The lane (builder on a branch) it was found on.
    pub lane: L,
    pub kind: StepKind,
    /// The changes between the last build before the step and the first build after it (that
    /// build's blamelist, and those of any builds in between).
    pub changes: Vec<C>,
    /// When it was confirmed, to choose which step opened a group (its changes are the
    /// suspects when the others share none).
    pub confirmed: i64,
}

/// Steps of one series on several lanes that one change explains.
#[derive(Clone, Debug, PartialEq)]
pub struct StepGroup<C> {
    /// Indexes into the steps given to [`group_steps`], the opening one first.
    pub members: Vec<usize>,
    pub kind: StepKind,
    /// The changes every member that has any agrees on (else the opening member's).
    pub suspects: Vec<C>,
}

/// Groups the steps of one series across lanes: steps of the same kind whose changes overlap
/// (directly or through another step) are one step, at most one per lane (a second step of a
/// lane that would join starts its own group). The suspects are narrowed as test Problems'
/// are: the changes all members agree on, else those of the step confirmed first.
pub fn group_steps<L: PartialEq, C: Clone + PartialEq>(
    steps: &[LaneStep<L, C>],
) -> Vec<StepGroup<C>> {
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| (steps[i].confirmed, i));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in &order {
        let step = &steps[i];
        let joins = groups.iter().position(|g| {
            steps[g[0]].kind == step.kind
                && !g.iter().any(|&m| steps[m].lane == step.lane)
                && g.iter()
                    .any(|&m| steps[m].changes.iter().any(|c| step.changes.contains(c)))
        });
        match joins {
            Some(g) => groups[g].push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
        .into_iter()
        .map(|members| {
            let windows: Vec<(bool, Vec<C>)> = members
                .iter()
                .map(|&m| (!steps[m].changes.is_empty(), steps[m].changes.clone()))
                .collect();
            let opening = &steps[members[0]].changes;
            StepGroup {
                kind: steps[members[0]].kind,
                suspects: super::problems::narrow(&windows, opening),
                members,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random generator (xorshift) and its normal deviates, so that the
    /// tests need no crate and always see the same noise.
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    fn series(seed: u64, len: usize, steps: &[(usize, f64)]) -> Vec<f64> {
        let mut noise = Noise(seed);
        (0..len)
            .map(|i| {
                let level: f64 = steps
                    .iter()
                    .filter(|(at, _)| i >= *at)
                    .map(|(_, d)| d)
                    .sum();
                100.0 + level + noise.normal()
            })
            .collect()
    }

    fn lower() -> Direction {
        Direction::LowerIsBetter
    }

    #[test]
    fn the_median_by_selection_is_the_sorted_median() {
        for (seed, n) in (1..40).zip((1..40).cycle()) {
            let mut x = series(seed, n, &[(n / 2, 3.0)]);
            // Ties and signed zeros too.
            x.extend([0.0, -0.0, 0.0][..seed as usize % 4 % 3].iter());
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            let m = sorted.len();
            let want = if m % 2 == 1 {
                sorted[m / 2]
            } else {
                (sorted[m / 2 - 1] + sorted[m / 2]) / 2.0
            };
            assert_eq!(median(&mut x).to_bits(), want.to_bits(), "{sorted:?}");
        }
    }

    #[test]
    fn a_big_step_is_found_at_its_place_within_a_few_builds() {
        let x = series(7, 80, &[(40, 6.0)]);
        let steps = detect(&x, lower(), &Params::default());
        assert_eq!(steps.len(), 1, "{steps:?}");
        let step = &steps[0];
        assert_eq!(step.index, 40);
        assert!((40..=45).contains(&step.confirmed_at), "{step:?}");
        assert_eq!(step.kind, StepKind::Regression);
        assert!((step.after - step.before - 6.0).abs() < 1.0, "{step:?}");
        assert!((step.relative_change() - 0.06).abs() < 0.01);
    }

    #[test]
    fn a_place_whose_window_holds_another_groups_suspect_is_not_tested() {
        let lane = || vec![(1, vec![1, 2]), (2, vec![3, 4]), (3, vec![5, 6, 7, 8, 9])];
        let place = |suspects: &[u32], others: &[u32]| {
            let suspects: HashSet<u32> = suspects.iter().copied().collect();
            corroboration_place(lane(), &suspects, |c| others.contains(c))
        };
        // The first window holding a suspect is the place.
        assert_eq!(place(&[4], &[]), Some(2));
        assert_eq!(place(&[4, 6], &[7]), Some(2));
        assert_eq!(place(&[10], &[]), None);
        // A window (a paused lane's first build after its gap) that also holds a change that is
        // `other` is ambiguous: nothing there, and no later window is tried.
        assert_eq!(place(&[6], &[9]), None);
        assert_eq!(place(&[6, 2], &[1]), None);
        // Another group's suspect elsewhere on the lane does not matter.
        assert_eq!(place(&[6], &[1, 3]), Some(3));
    }

    #[test]
    fn another_builders_step_corroborates_one_build_at_its_place_and_sign_only() {
        let p = Params::default();
        // One build 5σ up, then back: alone it is no step; at its place, as a regression, it is
        // confirmed on that build.
        let x = series(5, 60, &[(40, 5.0), (41, -5.0)]);
        let own = detect(&x, lower(), &p);
        assert_eq!(own, vec![]);
        let step = corroborate(&x, &own, 40, StepKind::Regression, lower(), &p).unwrap();
        assert_eq!((step.index, step.confirmed_at), (40, 40), "{step:?}");
        assert!(step.z >= p.corroborate, "{step:?}");
        // Not of the other sign, not one build early (its values do not move there), and not
        // with a |z| the one build does not reach.
        assert_eq!(
            corroborate(&x, &own, 40, StepKind::Improvement, lower(), &p),
            None
        );
        assert_eq!(
            corroborate(&x, &own, 39, StepKind::Regression, lower(), &p),
            None
        );
        let strict = Params {
            corroborate: 9.0,
            ..p.clone()
        };
        assert_eq!(
            corroborate(&x, &own, 40, StepKind::Regression, lower(), &strict),
            None
        );
        // A smaller step needs more builds: 3σ for two builds (too few for the lane alone, which
        // mostly finds nothing) is mostly confirmed, within min_after builds.
        let (mut alone, mut found) = (0, 0);
        for seed in 1..=40 {
            let x = series(seed, 160, &[(140, 3.0), (142, -3.0)]);
            let own = detect(&x, lower(), &p);
            alone += usize::from(!own.is_empty());
            if let Some(step) = corroborate(&x, &own, 140, StepKind::Regression, lower(), &p) {
                assert_eq!(step.index, 140);
                assert!(step.confirmed_at <= 142, "{step:?}");
                found += 1;
            }
        }
        assert!(
            alone <= 10 && found >= 25,
            "alone {alone}, corroborated {found} of 40"
        );
        // Noise alone, at a place and sign given, is rarely a step: at most one in 200.
        let mut corroborated = 0;
        for seed in 1..=200 {
            let x = series(seed, 60, &[]);
            let own = detect(&x, lower(), &p);
            corroborated +=
                usize::from(corroborate(&x, &own, 45, StepKind::Regression, lower(), &p).is_some());
        }
        assert!(corroborated <= 1, "{corroborated} of 200");
        // Where the lane found the step itself, it is the lane's own.
        let x = series(7, 80, &[(40, 6.0)]);
        let own = detect(&x, lower(), &p);
        assert_eq!(own.len(), 1);
        assert_eq!(
            corroborate(&x, &own, 41, StepKind::Regression, lower(), &p),
            None
        );
    }

    #[test]
    fn pure_noise_gives_no_step() {
        for seed in 1..10 {
            let x = series(seed, 250, &[]);
            let steps = detect(&x, lower(), &Params::default());
            assert!(steps.is_empty(), "seed {seed}: {steps:?}");
        }
    }

    #[test]
    fn outliers_alone_make_no_step() {
        let mut x = series(3, 120, &[]);
        for i in [20, 50, 51, 90, 91, 93] {
            x[i] += 40.0;
        }
        assert_eq!(detect(&x, lower(), &Params::default()), vec![]);
    }

    #[test]
    fn a_regression_and_its_fix_are_two_steps_of_opposite_kinds() {
        let x = series(11, 100, &[(30, 8.0), (60, -8.0)]);
        let steps = detect(&x, lower(), &Params::default());
        let found: Vec<(usize, StepKind)> = steps.iter().map(|s| (s.index, s.kind)).collect();
        assert_eq!(
            found,
            vec![(30, StepKind::Regression), (60, StepKind::Improvement)]
        );
        // Higher is better: the same rise is an improvement.
        let steps = detect(&x, Direction::HigherIsBetter, &Params::default());
        assert_eq!(steps[0].kind, StepKind::Improvement);
        assert_eq!(steps[1].kind, StepKind::Regression);
    }

    #[test]
    fn what_a_build_confirmed_stays_confirmed() {
        let x = series(5, 90, &[(30, 5.0), (55, 4.0)]);
        let all = detect(&x, lower(), &Params::default());
        assert!(!all.is_empty());
        for end in 1..=x.len() {
            let prefix = detect(&x[..end], lower(), &Params::default());
            let confirmed: Vec<usize> = all
                .iter()
                .filter(|s| s.confirmed_at < end)
                .map(|s| s.confirmed_at)
                .collect();
            let seen: Vec<usize> = prefix.iter().map(|s| s.confirmed_at).collect();
            assert_eq!(seen, confirmed, "prefix of {end}");
        }
    }

    #[test]
    fn scanning_only_where_steps_can_be_confirmed_gives_the_same_steps() {
        let x = series(21, 400, &[(60, 6.0), (90, -6.0), (300, 5.0), (330, 4.0)]);
        let params = Params::default();
        let all = detect(&x, lower(), &params);
        assert_eq!(all.len(), 4, "{all:?}");
        let (w, ma, _) = sides(&params);
        let near = |end: usize| {
            end == x.len()
                || all
                    .iter()
                    .any(|s| end + ma >= s.index && end <= s.index + 2 * ma + w)
        };
        let mut scanned = 0;
        let some = detect_where(&x, lower(), &params, &mut |end, _| {
            scanned += usize::from(near(end));
            near(end)
        });
        assert_eq!(some, all);
        assert!(scanned < x.len() / 2, "{scanned}");
        // Left out where a step is confirmed, it is not found: the scan does skip.
        let none = detect_where(&x, lower(), &params, &mut |end, _| end > 340);
        assert!(none.len() < all.len(), "{none:?}");
    }

    #[test]
    fn a_place_passed_over_could_not_have_confirmed_a_step() {
        let params = Params::default();
        let (window, min_after, min_before) = sides(&params);
        let (mut passed, mut looked) = (0, 0);
        for seed in 1..120u64 {
            let at = 10 + seed as usize % 45;
            let mut x = series(seed, 70, &[(at, (seed % 11) as f64 - 5.0)]);
            if seed % 3 == 0 {
                x[at + 1] -= 9.0;
            }
            for end in min_before + min_after..=x.len() {
                let first = min_before.max(end.saturating_sub(window));
                let scale_from = end.saturating_sub(params.scale_window);
                let (raw, diffs) = scale_of(&x[scale_from..end], &[], scale_from);
                let need = threshold(params.threshold, diffs);
                for tau in first..=end - min_after {
                    let left = tau.saturating_sub(window)..tau;
                    let sigma = floored(raw, x[tau - 1]);
                    let s = split(&x, left.clone(), tau..end, sigma, None);
                    let mut right = x[tau..end].to_vec();
                    right.sort_by(f64::total_cmp);
                    looked += 1;
                    let mut in_order = x[left.clone()].to_vec();
                    in_order.sort_by(f64::total_cmp);
                    if surely_none(&in_order, &right, sigma, need) {
                        assert!(!could_confirm(&right, s.before, sigma, left.len(), need));
                    }
                    if !could_confirm(&right, s.before, sigma, left.len(), need) {
                        passed += 1;
                        let confirms = sustained(&x[tau..end], &s) && s.z.abs() >= need;
                        assert!(!confirms, "seed {seed}, end {end}, τ {tau}");
                    }
                }
            }
        }
        // Most places are passed over, but not all: the steps are looked at.
        assert!(
            passed * 2 > looked && passed < looked,
            "{passed} of {looked}"
        );
    }

    /// One build departs when it lies `pair` standard errors from its lane's level, in the sign
    /// of its kind; not where the lane's builds before it hold one as far out (its noise has
    /// such tails), not before the lane has `min_before` builds and enough differences, and not
    /// measured across a step the lane confirmed before it (its level starts there).
    #[test]
    fn one_build_departs_from_a_quiet_lane_only() {
        let p = Params::default();
        let mut x = series(31, 60, &[]);
        x.push(106.0);
        let d = departure(&x, &[], 60, lower(), &p).expect("a 6σ jump departs");
        assert_eq!(
            (d.index, d.confirmed_at, d.kind),
            (60, 60, StepKind::Regression)
        );
        assert!(d.z > p.pair && (d.before - 100.0).abs() < 0.5, "{d:?}");
        // Lower: an improvement; higher-is-better reads the rise as one.
        *x.last_mut().unwrap() = 94.0;
        assert_eq!(
            departure(&x, &[], 60, lower(), &p).map(|d| d.kind),
            Some(StepKind::Improvement)
        );
        assert_eq!(
            departure(&x, &[], 60, Direction::HigherIsBetter, &p).map(|d| d.kind),
            Some(StepKind::Regression)
        );
        // Within the noise: nothing; every ordinary build of the lane: nothing.
        *x.last_mut().unwrap() = 101.5;
        assert_eq!(departure(&x, &[], 60, lower(), &p), None);
        assert!((1..60).all(|i| departure(&x, &[], i, lower(), &p).is_none()));
        // A build as far out among the window before it: the lane's tails are that long.
        *x.last_mut().unwrap() = 106.0;
        let mut tailed = x.clone();
        tailed[40] = 107.0;
        assert_eq!(departure(&tailed, &[], 60, lower(), &p), None);
        tailed[40] = 105.0;
        assert!(departure(&tailed, &[], 60, lower(), &p).is_some());
        // Before the level's `window`, within the scale's: still the lane's tails.
        tailed[5] = 93.0;
        assert_eq!(departure(&tailed, &[], 60, lower(), &p), None);
        // Too few builds before it: fewer than `min_before`, or too few differences for a scale.
        let mut short = x[..10].to_vec();
        short.push(112.0);
        let before = |min_before| Params {
            min_before,
            ..p.clone()
        };
        assert!(departure(&short, &[], 10, lower(), &before(8)).is_some());
        assert_eq!(departure(&short, &[], 10, lower(), &before(12)), None);
        let mut shorter = x[..7].to_vec();
        shorter.push(112.0);
        assert_eq!(departure(&shorter, &[], 7, lower(), &before(2)), None);
        // A higher `pair` needs more.
        let strict = Params {
            pair: 7.0,
            ..p.clone()
        };
        assert_eq!(departure(&x, &[], 60, lower(), &strict), None);
        // A step the lane confirmed before: the level is the new one, so a build at it does not
        // depart, though it lies far from the old level.
        let mut stepped = series(32, 60, &[(30, 8.0)]);
        stepped.push(108.0);
        let own = detect(&stepped, lower(), &p);
        assert_eq!(own.len(), 1, "{own:?}");
        assert!(own[0].confirmed_at < 60);
        assert_eq!(departure(&stepped, &own, 60, lower(), &p), None);
        // A build back at the old level departs from the new one; without the step, the builds
        // before it would mix both levels and hold some as far out.
        *stepped.last_mut().unwrap() = 100.0;
        assert_eq!(
            departure(&stepped, &own, 60, lower(), &p).map(|d| d.kind),
            Some(StepKind::Improvement)
        );
        assert_eq!(departure(&stepped, &[], 60, lower(), &p), None);
    }

    #[test]
    fn min_change_is_a_per_metric_floor() {
        let x = series(9, 80, &[(40, 6.0)]);
        let params = Params {
            min_change: 0.10,
            ..Params::default()
        };
        assert!(detect(&x, lower(), &params).is_empty());
    }

    #[test]
    fn a_constant_series_steps_on_any_lasting_change_and_ignores_a_blip() {
        let mut x = vec![1.0; 20];
        x.extend(vec![198.0; 5]);
        let steps = detect(&x, lower(), &Params::default());
        assert_eq!(steps.len(), 1);
        assert_eq!((steps[0].index, steps[0].confirmed_at), (20, 22));
        let mut blip = vec![1.0; 30];
        blip[10] = 5.0;
        assert!(detect(&blip, lower(), &Params::default()).is_empty());
    }

    #[test]
    fn values_that_are_not_finite_are_read_past() {
        let mut x = series(13, 60, &[(30, 8.0)]);
        x[10] = f64::NAN;
        x[31] = f64::INFINITY;
        let steps = detect(&x, lower(), &Params::default());
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].index, 30);
        assert!(detect(&[], lower(), &Params::default()).is_empty());
        assert!(detect(&[f64::NAN; 10], lower(), &Params::default()).is_empty());
    }

    /// The Huber estimate as iteratively reweighted means (the textbook fixed point).
    fn huber_by_reweighting(values: &[f64], sigma: f64) -> f64 {
        let mut mu = median(&mut values.to_vec());
        let k = HUBER_K * sigma;
        for _ in 0..10_000 {
            let (mut num, mut den) = (0.0, 0.0);
            for &x in values {
                let r = (x - mu).abs();
                let w = if r <= k { 1.0 } else { k / r };
                num += w * x;
                den += w;
            }
            let next = num / den;
            if (next - mu).abs() <= 1e-13 * sigma {
                return next;
            }
            mu = next;
        }
        mu
    }

    #[test]
    fn the_huber_root_is_the_reweighted_fixed_point_wherever_its_search_starts() {
        let mut noise = Noise(99);
        for seed in 1..300u64 {
            let n = 2 + (seed as usize % 60);
            let mut x = series(seed, n, &[(n / 3, (seed % 7) as f64)]);
            // Heavy tails: some wild values.
            for v in x.iter_mut() {
                if noise.uniform() < 0.1 {
                    *v += 30.0 * noise.normal();
                }
            }
            let sigma = 0.2 + 2.0 * noise.uniform();
            let want = huber_by_reweighting(&x, sigma);
            let got = huber_location(&x, sigma);
            assert!(
                (got - want).abs() <= 1e-9 * sigma,
                "{x:?} {sigma}: {got} {want}"
            );
            for start in [want - 50.0, want + 3.0, got, x[0], 1e6] {
                let from = huber_near(&x, sigma, Some(start));
                assert_eq!(
                    from.to_bits(),
                    got.to_bits(),
                    "{x:?} {sigma} {start}: {from} {got}"
                );
            }
        }
        // All values clipped away from the start, and ties.
        for start in [5.0, 3.0, -7.0, 20.0] {
            assert_eq!(huber_near(&[1.0, 9.0, 1.0, 9.0], 0.1, Some(start)), 5.0);
        }
        assert_eq!(huber_location(&[2.0, 2.0, 2.0], 1.0), 2.0);
    }

    #[test]
    fn huber_resists_an_outlier_and_the_scale_a_step() {
        assert!((huber_location(&[1.0, 1.1, 0.9, 1.0, 50.0], 0.1) - 1.0).abs() < 0.1);
        assert_eq!(huber_location(&[3.0, 1.0, 2.0], 0.0), 2.0);
        let x = series(17, 200, &[(100, 30.0)]);
        let sigma = noise_scale(&x, &[], 0);
        assert!((0.8..1.25).contains(&sigma), "{sigma}");
    }

    #[test]
    fn steps_across_builders_narrow_to_the_change_they_share() {
        let step = |lane: &'static str, changes: &[&'static str], confirmed: i64| LaneStep {
            lane,
            kind: StepKind::Regression,
            changes: changes.to_vec(),
            confirmed,
        };
        let steps = vec![
            step("a", &["c1", "c2", "c3"], 10),
            step("b", &["c3", "c4"], 12),
            step("c", &["c9"], 11),
            LaneStep {
                kind: StepKind::Improvement,
                ..step("d", &["c3"], 9)
            },
        ];
        let groups = group_steps(&steps);
        assert_eq!(groups.len(), 3, "{groups:?}");
        assert_eq!(groups[0].members, vec![3]);
        assert_eq!(groups[0].kind, StepKind::Improvement);
        assert_eq!(groups[1].members, vec![0, 1]);
        assert_eq!(groups[1].suspects, vec!["c3"]);
        assert_eq!(groups[2].members, vec![2]);
        assert_eq!(groups[2].suspects, vec!["c9"]);
        // Two steps of one lane never share a group.
        let steps = vec![step("a", &["c1"], 1), step("a", &["c1", "c2"], 2)];
        assert_eq!(group_steps(&steps).len(), 2);
    }
}
