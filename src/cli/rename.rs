//! `probtrack rename OLD NEW`: a renamed test keeps its history.

use crate::cli::Context;
use crate::clock;
use crate::error::{Error, Result};
use crate::problems;
use crate::report::safe;
use crate::store::{NewTest, OpenMode};

/// Join a test's history to its new name, so that Problems and flakiness carry over a rename
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack rename tests.test_fmt.test_thousands tests.test_format.test_thousands
  probtrack rename 'suite.Old name' 'suite.New name'

OLD is a whole identity or a unique part of one; NEW is a whole identity (it need not have results
yet). From then on the new name's history is both names' results (the new name's where a build has
both); the old name has no Problems of its own, and its Problems move to the new name with their
ids.")]
pub struct Args {
    /// The test's old identity (or a unique part)
    old: String,
    /// Its new identity
    new: String,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let old = crate::lookup::find_test(store.as_mut(), &args.old)?;
    if old.name.as_slice() == args.new.as_bytes() {
        return Err(Error::usage("the old and the new name are the same"));
    }
    store.begin_write()?;
    let outcome = (|| -> Result<i64> {
        let new = match store.test_by_name(args.new.as_bytes())? {
            Some(t) => t.id,
            None => store.test_ids(&[NewTest {
                name: args.new.as_bytes().into(),
                kind: old.kind,
                file: None,
                runner_id: None,
            }])?[0],
        };
        let renamed: Vec<(i64, i64)> = store.renames()?;
        if renamed.iter().any(|&(o, _)| o == new) {
            return Err(Error::bad_input(format!(
                "`{}` was itself renamed; rename to its newest name",
                args.new
            )));
        }
        store.rename_test(old.id, new, clock::to_micros(clock::now()))?;
        store.move_problems(old.id, new)?;
        problems::recompute(store.as_mut(), Some(&[old.id, new]), None)?;
        Ok(new)
    })();
    match outcome {
        Ok(_) => store.commit()?,
        Err(e) => {
            let _ = store.rollback();
            return Err(e);
        }
    }
    ctx.out.line(&format!(
        "renamed {} to {}",
        safe(&old.name),
        safe(args.new.as_bytes())
    ))?;
    Ok(0)
}
