//! Several commands against one open database: a [`Session`] runs commands as [`run`](crate::run)
//! does, but keeps the store a command opened for the next one on the same database, so that a
//! caller who runs many (the reference model's tests run dozens per history) pays for opening it
//! (connecting, reading the schema, preparing statements) once. The command line runs one command
//! and keeps nothing (`run`).
//!
//! A kept store is what a fresh open would give: its caches live for one write only
//! (`SqlStore::text_ids`), and every write is a transaction of its own. A command that fails on the
//! database (exit 4) lets the store go, and the next one opens the database again, as the command
//! line would; one refused for its arguments or its input (exit 2 or 3, its transaction rolled
//! back) keeps it. The command line's definition is built once per session too.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::process::ExitCode;
use std::rc::Rc;

use crate::error::Result;
use crate::store::{self, Location, OpenMode, Store};

/// The store kept between commands, with where it is.
pub(crate) type Kept = Rc<RefCell<Option<(Location, Box<dyn Store>)>>>;

/// Commands run one after another in this process, the database kept open between them.
#[derive(Default)]
pub struct Session {
    kept: Kept,
    /// The command line's definition, built by the first command.
    parser: Option<clap::Command>,
}

impl Session {
    /// A session with nothing open yet.
    pub fn new() -> Session {
        Session::default()
    }

    /// Runs one command line (`args[0]` is the program's name) as [`run`](crate::run) does,
    /// writing its output to `stdout` and its errors to `stderr` (clap's own: `--help`, a flag it
    /// does not know, go to the process's, as `run` prints them); returns its exit code. The
    /// database it opened stays open for the next command on the same database, unless the
    /// command failed on the database.
    pub fn run<I, T>(&mut self, args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let parser = self
            .parser
            .get_or_insert_with(<crate::cli::Cli as clap::CommandFactory>::command);
        let (code, failed) =
            crate::cli::run_in(args, Some(&self.kept), Some(parser), stdout, stderr);
        if failed {
            // A command that failed on the database may have failed with the connection: open
            // afresh.
            self.kept.borrow_mut().take();
        }
        code
    }
}

/// A store a command opened: it derefs to the store, and goes back to the session (if any) when
/// the command is done with it.
pub(crate) struct Opened {
    store: Option<Box<dyn Store>>,
    back: Option<(Location, Kept)>,
}

impl Opened {
    /// The store at `location`: the session's kept one when it holds that database, else newly
    /// opened in `mode`.
    pub(crate) fn open(location: &Location, mode: OpenMode, kept: Option<&Kept>) -> Result<Opened> {
        let reused = kept.and_then(|k| {
            let mut slot = k.borrow_mut();
            match slot.take() {
                Some((at, store)) if at == *location => Some(store),
                // Another database: the old one is closed.
                _ => None,
            }
        });
        let store = match reused {
            Some(store) => store,
            None => store::open(location, mode)?,
        };
        Ok(Opened {
            store: Some(store),
            back: kept.map(|k| (location.clone(), Rc::clone(k))),
        })
    }

    /// Closes the store rather than keep it (after a failure, or to remove the database file).
    pub(crate) fn discard(mut self) {
        self.back = None;
    }
}

impl Deref for Opened {
    type Target = Box<dyn Store>;

    fn deref(&self) -> &Box<dyn Store> {
        self.store.as_ref().expect("a store until dropped")
    }
}

impl DerefMut for Opened {
    fn deref_mut(&mut self) -> &mut Box<dyn Store> {
        self.store.as_mut().expect("a store until dropped")
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        // A command that panicked may have left a transaction (and its locks) open: close the
        // store rather than hand it to the next command.
        if std::thread::panicking() {
            return;
        }
        if let (Some((location, kept)), Some(store)) = (self.back.take(), self.store.take()) {
            *kept.borrow_mut() = Some((location, store));
        }
    }
}
