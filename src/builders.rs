//! Builders: listing them with their latest builds, and retiring one that is gone (a retired
//! builder no longer keeps Problems open).

use crate::clock;
use crate::error::{Error, Result};
use crate::problems;
use crate::store::{BuildFilter, ProblemFilter, Store};
use crate::transaction;
use crate::views::builders::{BuilderView, Latest};

/// Every builder, by name.
pub(crate) fn list(store: &mut dyn Store) -> Result<Vec<BuilderView>> {
    let retired = store.retired_builders()?;
    let open = store.problems(&ProblemFilter {
        open: Some(true),
        intermittent: Some(false),
        ..ProblemFilter::default()
    })?;
    let mut names: Vec<String> = store.lanes()?.into_iter().map(|l| l.builder).collect();
    names.sort();
    names.dedup();
    let mut view = Vec::new();
    for name in names {
        let builds = store.builds(&BuildFilter {
            builder: Some(name.clone()),
            branch: None,
            number: None,
            limit: usize::MAX >> 1,
        })?;
        let latest = builds
            .iter()
            .max_by_key(|b| (b.time, b.number))
            .map(|b| Latest {
                build: b.number,
                branch: b.branch.clone(),
                revision: b.revision.clone(),
                time: clock::rfc3339(b.time),
                result: b.result.clone(),
                counts: b.counts,
            });
        view.push(BuilderView {
            retired: retired.contains(&name),
            builds: builds.len(),
            latest,
            open_problems: open
                .iter()
                .filter(|p| p.builders.iter().any(|b| b.builder == name))
                .count(),
            builder: name,
        });
    }
    Ok(view)
}

/// Retires the builder (or, with `retire` false, brings it back) and rebuilds every Problem, in
/// one transaction. An unknown builder is bad input.
pub(crate) fn retire(store: &mut dyn Store, name: &str, retire: bool) -> Result<()> {
    transaction::write(store, |store| {
        let at = retire.then(|| clock::to_micros(clock::now()));
        if !store.retire_builder(name, at)? {
            return Err(Error::bad_input(format!("there is no builder `{name}`"))
                .hint("`probtrack builders` lists them"));
        }
        problems::reanalyze(store)?;
        Ok(())
    })
}
