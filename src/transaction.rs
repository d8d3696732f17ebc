//! Write transactions, written once: every use case that changes the database runs its work
//! through [`write()`] (or [`dry_run`]), so that begin, commit and rollback are in one place and a
//! failure anywhere leaves the database exactly as it was.
//!
//! `import` (a transaction per batch of builds, with savepoints) and `copy` (two databases) keep
//! their own, documented in their modules.

use crate::error::Result;
use crate::store::Store;

/// Runs `work` in a write transaction (the writers' lock held, whole): commits what it did when it
/// succeeds, rolls everything back when it fails.
pub(crate) fn write<T>(
    store: &mut dyn Store,
    work: impl FnOnce(&mut dyn Store) -> Result<T>,
) -> Result<T> {
    store.begin_write()?;
    run(store, work, true)
}

/// Runs an ingest's `work` as [`write()`] does, but in a write begun with
/// [`Store::begin_ingest`]: where the engine lets ingests write at once, `work` takes the locks
/// of its lane and branch ([`Store::lock`]) as it reaches them.
pub(crate) fn ingest<T>(
    store: &mut dyn Store,
    work: impl FnOnce(&mut dyn Store) -> Result<T>,
) -> Result<T> {
    store.begin_ingest()?;
    run(store, work, true)
}

/// Runs `work` as [`write()`] does, but rolls it back whatever happens: what it would do, said and
/// undone (`prune --dry-run`).
pub(crate) fn dry_run<T>(
    store: &mut dyn Store,
    work: impl FnOnce(&mut dyn Store) -> Result<T>,
) -> Result<T> {
    store.begin_write()?;
    run(store, work, false)
}

fn run<T>(
    store: &mut dyn Store,
    work: impl FnOnce(&mut dyn Store) -> Result<T>,
    commit: bool,
) -> Result<T> {
    match work(store) {
        Ok(value) => {
            if commit {
                store.commit()?;
            } else {
                store.rollback()?;
            }
            Ok(value)
        }
        Err(error) => {
            let _ = store.rollback();
            Err(error)
        }
    }
}
