//! Renaming a test (`rename OLD NEW`): the new name's history is both names' runs from then on,
//! and the old name's Problems move to the new one with their ids.

use bstr::BString;

use crate::clock;
use crate::error::{Error, Result};
use crate::lookup;
use crate::problems;
use crate::store::{NewTest, Store};
use crate::transaction;

/// Renames the test `old` names (`lookup::find_test`) to the identity `new`, in one transaction;
/// returns the old identity. The same name, or a `new` that was itself renamed, is refused.
pub(crate) fn rename(store: &mut dyn Store, old: &str, new: &str) -> Result<BString> {
    let old = lookup::find_test(store, old)?;
    if old.name.as_slice() == new.as_bytes() {
        return Err(Error::usage("the old and the new name are the same"));
    }
    transaction::write(store, |store| {
        let new_id = match store.test_by_name(new.as_bytes())? {
            Some(t) => t.id,
            None => store.test_ids(&[NewTest {
                name: new.as_bytes().into(),
                kind: old.kind,
                file: None,
                runner_id: None,
            }])?[0],
        };
        if store.renames()?.iter().any(|&(o, _)| o == new_id) {
            return Err(Error::bad_input(format!(
                "`{new}` was itself renamed; rename to its newest name"
            )));
        }
        store.rename_test(old.id, new_id, clock::to_micros(clock::now()))?;
        problems::recompute(store, Some(&[old.id, new_id]), None)?;
        Ok(())
    })?;
    Ok(old.name)
}
