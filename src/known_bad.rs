//! Known-bad builds (`mark-bad`, `unmark-bad`): a builder's builds of an infrastructure outage
//! give no evidence. Their results stay; the builder's tests' Problems are recomputed at once,
//! keeping their ids (`problems::Branch::load` applies the ranges).

use crate::clock;
use crate::error::{Error, Result};
use crate::problems;
use crate::settings::MetricSettings;
use crate::store::Store;
use crate::transaction;
use crate::views::mark_bad::RangeView;

/// How many Problems there were before a change of ranges, and after it.
pub(crate) struct Recomputed {
    pub before: usize,
    pub after: usize,
}

/// Marks `builder`'s builds `from..=to` (`to` none: every later build too) bad.
pub(crate) fn mark(
    store: &mut dyn Store,
    builder: &str,
    from: i64,
    to: Option<i64>,
    reason: &str,
    metrics: &MetricSettings,
) -> Result<Recomputed> {
    if let Some(to) = to.filter(|&to| to < from) {
        return Err(Error::usage(format!("--to {to} is before --from {from}")));
    }
    recompute(store, builder, metrics, |store| {
        let at = clock::to_micros(clock::now());
        if !store.add_bad_range(builder, from, to, reason, at)? {
            return Err(Error::bad_input(format!("there is no builder `{builder}`"))
                .hint("`probtrack builders` lists them"));
        }
        Ok(())
    })
}

/// Removes `builder`'s ranges that start at build `from`; returns how many, and the counts.
pub(crate) fn unmark(
    store: &mut dyn Store,
    builder: &str,
    from: i64,
    metrics: &MetricSettings,
) -> Result<(u64, Recomputed)> {
    let mut removed = 0;
    let counts = recompute(store, builder, metrics, |store| {
        removed = store.remove_bad_ranges(builder, from)?;
        if removed == 0 {
            return Err(Error::bad_input(format!(
                "`{builder}` has no known-bad range from build {from}"
            ))
            .hint("`probtrack mark-bad --list` lists them"));
        }
        Ok(())
    })?;
    Ok((removed, counts))
}

/// Every known-bad range (`mark-bad --list`).
pub(crate) fn list(store: &mut dyn Store) -> Result<Vec<RangeView>> {
    Ok(store
        .bad_ranges()?
        .into_iter()
        .map(|r| RangeView {
            builder: r.builder,
            from: r.from,
            to: r.to,
            reason: r.reason,
            time: clock::rfc3339(r.added_at),
        })
        .collect())
}

/// Runs `change` and recomputes the builder's tests and metric series in one transaction.
fn recompute(
    store: &mut dyn Store,
    builder: &str,
    metrics: &MetricSettings,
    change: impl FnOnce(&mut dyn Store) -> Result<()>,
) -> Result<Recomputed> {
    transaction::write(store, |store| {
        let before = store.problems(&Default::default())?.len();
        change(store)?;
        problems::recompute(store, None, Some(builder))?;
        crate::metrics::rejudge(store, Some(builder), metrics)?;
        let after = store.problems(&Default::default())?.len();
        Ok(Recomputed { before, after })
    })
}
