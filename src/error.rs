//! The one error type every command returns, its exit codes, and how it is shown.
//!
//! Exit codes are the same in every command (see `docs/output.md`): 0 success; 1 the answer is "bad"
//! where the command was asked to gate; 2 usage error; 3 bad input; 4 database error.

use std::fmt;

/// Why a command failed; decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command's answer is "bad" where it was asked to gate (`ingest --exit-code`).
    Gate,
    /// The command line is wrong (an unknown flag, a value that does not parse).
    Usage,
    /// A report, test name or other input cannot be used.
    BadInput,
    /// The database is missing, locked past the timeout, newer than this probtrack, or unreachable.
    Database,
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Gate => 1,
            ErrorKind::Usage => 2,
            ErrorKind::BadInput => 3,
            ErrorKind::Database => 4,
        }
    }
}

/// A user-facing error: what went wrong, and what to do about it.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hints: Vec<String>,
    /// The reader of our output went away (`probtrack … | head`): exit 0 quietly.
    pub broken_pipe: bool,
    /// A test name matched several tests: the candidates (`{candidates: [...]}` in JSON output).
    pub candidates: Option<Vec<String>>,
    /// Running the same command again can get past it (a lost connection, a server restarting, a
    /// lock or serialization conflict): `--retry` retries it (see `retry.rs`).
    pub retryable: bool,
    /// A retryable error that is a conflict between concurrent writers (a deadlock, a
    /// serialization failure): an ingest retries it a few times even without `--retry`.
    pub conflict: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hints: Vec::new(),
            broken_pipe: false,
            candidates: None,
            retryable: false,
            conflict: false,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadInput, message)
    }

    pub fn database(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Database, message)
    }

    /// Adds a `hint:` line that tells the user what to do.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Marks a database error that running the command again can get past, with a hint that says
    /// why and that it can be retried. Nothing is half-stored: the write either committed whole
    /// before the fault or not at all, and a retried ingest does not store a build twice.
    #[must_use]
    pub fn retryable(mut self, why: impl fmt::Display) -> Self {
        self.retryable = true;
        self.hint(format!(
            "{why}; this can be retried: run the same command again, or give `--retry N` (ingest, \
             import) or `retry = N` in the settings; a build already stored is not stored twice"
        ))
    }

    /// Marks a retryable conflict between concurrent writers (see [`Error::conflict`]).
    #[must_use]
    pub fn conflicting(mut self, why: impl fmt::Display) -> Self {
        self.conflict = true;
        self.retryable(why)
    }

    /// Notes the I/O error behind this one (a broken pipe ends a command quietly).
    #[must_use]
    pub fn with_io(mut self, error: std::io::Error) -> Self {
        self.broken_pipe = error.kind() == std::io::ErrorKind::BrokenPipe;
        self
    }

    /// Prefixes the message with context, e.g. the file it is about.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for hint in &self.hints {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let busy = matches!(
            error.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        );
        let full = matches!(error.sqlite_error_code(), Some(ErrorCode::DiskFull));
        let readonly = matches!(error.sqlite_error_code(), Some(ErrorCode::ReadOnly));
        let err = Error::database(format!("database error: {error}"));
        if busy {
            err.retryable("another probtrack process held the database past the busy timeout")
        } else if full {
            err.hint(
                "the disk is full; free some space and run the command again (nothing was written)",
            )
        } else if readonly {
            err.hint("the database file or its directory is read-only; check the permissions")
        } else {
            err
        }
    }
}

impl From<probtrack_parsers::ParseError> for Error {
    fn from(error: probtrack_parsers::ParseError) -> Self {
        Error::bad_input(error.to_string())
    }
}
