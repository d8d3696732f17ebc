//! Reading reports: files or standard input, hashed for idempotence, sniffed for their format.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use probtrack_parsers::{Format, ParseOptions, TestResult, SNIFF_LEN};

use crate::error::{Error, Result};

/// A report to read: a file, or standard input (`-`).
#[derive(Clone, Debug)]
pub(crate) enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    pub(crate) fn from_arg(arg: &std::ffi::OsStr) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }

    /// The name messages use.
    pub(crate) fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }
}

/// A report ready to be read (standard input spooled to a temporary file), with its content hash.
pub(crate) struct Source {
    pub name: String,
    path: PathBuf,
    /// BLAKE3 of the report's bytes.
    pub hash: [u8; 32],
    /// Its own format and compiler-log root, where they are not the ingest's (`import
    /// --buildbot`: each step's log has its parser and directory).
    pub parser: Option<&'static dyn Format>,
    pub source_root: Option<String>,
    _spool: Option<tempfile::NamedTempFile>,
}

fn cannot_read(name: &str, error: io::Error) -> Error {
    Error::bad_input(format!("cannot read {name}: {error}")).with_io(error)
}

/// Opens a report file (or standard input) for reading.
pub(crate) fn open_file(input: &Input) -> Result<Box<dyn Read>> {
    let name = input.name();
    match input {
        Input::File(path) => {
            if path.is_dir() {
                return Err(
                    Error::bad_input(format!("{name} is a directory, not a report"))
                        .hint("name the report files, e.g. `reports/*.xml`"),
                );
            }
            Ok(Box::new(
                File::open(path).map_err(|e| cannot_read(&name, e))?,
            ))
        }
        Input::Stdin => Ok(Box::new(io::stdin().lock())),
    }
}

impl Source {
    /// A report file whose hash was worked out as it was parsed (by a `Hashing` reader).
    pub(crate) fn hashed_file(path: PathBuf, hash: [u8; 32]) -> Source {
        Source {
            name: Input::File(path.clone()).name(),
            path,
            hash,
            parser: None,
            source_root: None,
            _spool: None,
        }
    }

    /// A report already written to a temporary file (its bytes hashed as they were written),
    /// named `name` in messages and in the database.
    pub(crate) fn spooled(name: String, spool: tempfile::NamedTempFile, hash: [u8; 32]) -> Source {
        Source {
            name,
            path: spool.path().to_owned(),
            hash,
            parser: None,
            source_root: None,
            _spool: Some(spool),
        }
    }
}

/// A reader that hashes every byte read through it, so that the thread parsing a report also
/// works out its content hash (what [`prepare`] would give) without reading it a second time.
pub(super) struct Hashing {
    inner: Box<dyn Read>,
    hasher: std::rc::Rc<std::cell::RefCell<blake3::Hasher>>,
}

impl Hashing {
    /// The reader, and a handle on its hasher for after the reader is gone.
    pub(super) fn new(
        inner: Box<dyn Read>,
    ) -> (Self, std::rc::Rc<std::cell::RefCell<blake3::Hasher>>) {
        let hasher = std::rc::Rc::default();
        let reader = Hashing {
            inner,
            hasher: std::rc::Rc::clone(&hasher),
        };
        (reader, hasher)
    }
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.borrow_mut().update(&buf[..n]);
        Ok(n)
    }
}

/// Reads what the parser left of a report (a well-formed one has nothing after its end), so that
/// a [`Hashing`] reader under it has seen every byte.
pub(super) fn drain(name: &str, reader: &mut dyn BufRead) -> Result<()> {
    io::copy(reader, &mut io::sink())
        .map(|_| ())
        .map_err(|e| cannot_read(name, e))
}

/// Hashes a report (and spools standard input, which can be read only once).
pub(crate) fn prepare(input: &Input) -> Result<Source> {
    let name = input.name();
    let mut reader = open_file(input)?;
    let mut hasher = blake3::Hasher::new();
    let mut spool = match input {
        Input::Stdin => Some(
            tempfile::NamedTempFile::new()
                .map_err(|e| Error::bad_input(format!("cannot spool standard input: {e}")))?,
        ),
        Input::File(_) => None,
    };
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cannot_read(&name, e)),
        };
        hasher.update(&buf[..n]);
        if let Some(spool) = &mut spool {
            spool
                .write_all(&buf[..n])
                .map_err(|e| Error::bad_input(format!("cannot spool standard input: {e}")))?;
        }
    }
    let path = match input {
        Input::File(path) => path.clone(),
        Input::Stdin => spool
            .as_ref()
            .map(|s| s.path().to_owned())
            .unwrap_or_default(),
    };
    Ok(Source {
        name,
        path,
        hash: *hasher.finalize().as_bytes(),
        parser: None,
        source_root: None,
        _spool: spool,
    })
}

/// Opens a report for parsing: its format (`parser`, else sniffed) and a buffered reader.
pub(super) fn open(
    source_name: &str,
    reader: Box<dyn Read>,
    parser: Option<&'static dyn Format>,
) -> Result<(&'static dyn Format, Box<dyn BufRead>)> {
    let mut reader = reader;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut reader)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| cannot_read(source_name, e))?;
    let format = match parser {
        Some(format) => format,
        None => {
            // (With `--parser`, the format decides: an empty compile log is a clean compile.)
            let blank = head.iter().all(u8::is_ascii_whitespace);
            if blank && head.len() < SNIFF_LEN {
                let what = if head.is_empty() {
                    "there is nothing to read"
                } else {
                    "it holds only white space"
                };
                return Err(
                    Error::bad_input(format!("{source_name} is empty: {what}")).hint(
                        "check that the step wrote its report before this ran (an empty compiler \
                         log of a build that compiled nothing is read with --parser gcc)",
                    ),
                );
            }
            // A plugin whose rule the report meets comes first: it was registered for it.
            crate::plugin::detect(source_name, &head)
                .or_else(|| probtrack_parsers::detect(&head))
                .ok_or_else(|| {
                let names: Vec<_> = probtrack_parsers::registry()
                    .iter()
                    .map(|f| f.name())
                    .chain(crate::plugin::of(crate::plugin::Produces::Results).map(|p| p.name()))
                    .collect();
                Error::bad_input(format!(
                    "cannot tell the format of {source_name}: none of the parsers ({}) recognises it",
                    names.join(", ")
                ))
                .hint("name the format with --parser, or check that this is a test report or build log")
            })?
        }
    };
    let reader = BufReader::with_capacity(256 * 1024, io::Cursor::new(head).chain(reader));
    Ok((format, Box::new(reader)))
}

impl Source {
    /// A reader over the report's bytes.
    pub(crate) fn reader(&self) -> Result<Box<dyn Read>> {
        Ok(Box::new(
            File::open(&self.path).map_err(|e| cannot_read(&self.name, e))?,
        ))
    }
}

/// Everything one report yields, for `probtrack parse`.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub name: String,
    pub parser: &'static str,
    pub results: Vec<TestResult>,
    pub warnings: Vec<String>,
}

/// Reads and parses a whole report into memory (`probtrack parse`).
pub(crate) fn parse_input(
    input: &Input,
    parser: Option<&'static dyn Format>,
    source_root: Option<&str>,
) -> Result<Parsed> {
    let name = input.name();
    let (format, mut reader) = open(&name, open_file(input)?, parser)?;
    let options = ParseOptions {
        source: name.clone(),
        source_root: source_root.map(str::to_owned),
    };
    let collected = probtrack_parsers::collect(format, &mut reader, &options)?;
    Ok(Parsed {
        name,
        parser: format.name(),
        results: collected.results,
        warnings: collected.warnings,
    })
}
