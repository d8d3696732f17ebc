//! Parser plugins: programs registered in `probtrack.toml` (`[parsers.NAME]`) that read a format
//! probtrack does not, used like the built-in parsers: test reports by `ingest`, `import` and
//! `parse`; metric files (`produces = "metrics"`) by `ingest --metrics` and `parse --metrics`;
//! coverage reports (`produces = "coverage"`) by `ingest`, among the reports or `--coverage`.
//!
//! The protocol (`docs/parsers.md`, "Parser plugins"): the program gets the report on its standard
//! input and the report's name as its last argument, and writes to its standard output what
//! probtrack already reads: for test results one JSON object per line, in the shape `probtrack
//! parse --format json` prints (`test`, `kind`, `status`, `duration`, `message`, `details`,
//! `attempts`); for metrics the generic metric JSON or lines (`docs/metrics.md`); for coverage an
//! lcov tracefile (`docs/coverage.md`). A plugin is a [`probtrack_parsers::Format`],
//! [`MetricFormat`] and [`CoverageFormat`] whose `parse` runs the program, so everything that
//! reads reports takes it as it takes a built-in one. Its output is checked like any report: a
//! record that is not valid, a crash, an exit status other than 0 or running past its time limit
//! is a parse error naming the plugin and the record (the line of its output), and nothing of
//! that build is kept. Its output is spooled to a temporary file, not held in memory, and read
//! only once the program ended well.
//!
//! The parsers crate runs no programs (it knows nothing of processes, settings or storage); this
//! module does, for the command line. [`install`] registers the settings' plugins once per process.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bstr::BString;
use probtrack_parsers::coverage::{CoverageFormat, CoverageSink, Lcov};
use probtrack_parsers::metrics::{GenericJson, GenericLines, MetricFormat, MetricSink};
use probtrack_parsers::{
    Confidence, Format, Kind, ParseError, ParseErrorKind, ParseOptions, Sink, Status, TestResult,
};
use regex::bytes::Regex;

use crate::error::{Error, Result};
use crate::settings::PluginSettings;

/// How long a plugin may run by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest line of a plugin's output (one record).
const RECORD_CAP: usize = 16 * 1024 * 1024;
/// How much of a plugin's standard error an error quotes (its end).
const STDERR_TAIL: usize = 2048;
/// The most a plugin may write (spooled to a temporary file).
const OUTPUT_CAP: u64 = 4 << 30;

static PLUGINS: OnceLock<Vec<&'static Plugin>> = OnceLock::new();

/// What a plugin's program writes, and so what it reads: test results, metrics or coverage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Produces {
    /// Test results (and compile diagnostics): one JSON record a line.
    Results,
    /// Metrics: probtrack's generic metric JSON or lines.
    Metrics,
    /// Coverage: an lcov tracefile.
    Coverage,
}

impl Produces {
    pub(crate) const ALL: [Produces; 3] =
        [Produces::Results, Produces::Metrics, Produces::Coverage];

    /// Its spelling in the settings (`produces = "…"`) and in `parsers`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Produces::Results => "results",
            Produces::Metrics => "metrics",
            Produces::Coverage => "coverage",
        }
    }

    /// The flag that names a format of this kind.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Produces::Results => "--parser",
            Produces::Metrics => "--metrics-parser",
            Produces::Coverage => "--coverage-parser",
        }
    }
}

/// Every built-in format's name, of every kind: no plugin may take one.
fn builtin_names() -> impl Iterator<Item = &'static str> {
    (probtrack_parsers::registry().iter().map(|f| f.name()))
        .chain(
            probtrack_parsers::metrics::registry()
                .iter()
                .map(|f| f.name()),
        )
        .chain(
            probtrack_parsers::coverage::registry()
                .iter()
                .map(|f| f.name()),
        )
}

/// One registered plugin.
#[derive(Debug)]
pub(crate) struct Plugin {
    name: &'static str,
    /// `parser plugin `NAME``, the format's name in errors.
    human: &'static str,
    description: &'static str,
    produces: Produces,
    command: Vec<String>,
    glob: Option<String>,
    content: Option<Regex>,
    timeout: Duration,
}

/// Checks the settings' plugins and registers them for this process (the first call only).
pub(crate) fn install(settings: &BTreeMap<String, PluginSettings>) -> Result<()> {
    let mut plugins = Vec::new();
    for (name, plugin) in settings {
        let bad = |what: String| {
            Error::usage(format!("settings: [parsers.{name}]: {what}"))
                .hint("see docs/parsers.md, \"Parser plugins\"")
        };
        if builtin_names().any(|n| n == name) || name == "auto" {
            return Err(bad("the name is taken by a built-in parser".into()));
        }
        let produces = match plugin.produces.as_deref() {
            None => Produces::Results,
            Some(text) => Produces::ALL
                .into_iter()
                .find(|p| p.as_str() == text)
                .ok_or_else(|| {
                    bad(format!(
                        "`produces` {text:?} is not one of results, metrics, coverage"
                    ))
                })?,
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(bad("a name is letters, digits, `-` and `_`".into()));
        }
        if plugin.command.first().is_none_or(String::is_empty) {
            return Err(bad("`command` names no program".into()));
        }
        let content = match &plugin.content {
            Some(pattern) => Some(
                Regex::new(pattern)
                    .map_err(|e| bad(format!("`content` is no valid regex: {e}")))?,
            ),
            None => None,
        };
        if plugin.timeout == Some(0) {
            return Err(bad("`timeout` must be at least 1 second".into()));
        }
        let description = format!("plugin: {}", plugin.command.join(" "));
        plugins.push(&*Box::leak(Box::new(Plugin {
            name: Box::leak(name.clone().into_boxed_str()),
            human: Box::leak(format!("parser plugin `{name}`").into_boxed_str()),
            description: Box::leak(description.into_boxed_str()),
            produces,
            command: plugin.command.clone(),
            glob: plugin.glob.clone(),
            content,
            timeout: plugin.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs),
        })));
    }
    let _ = PLUGINS.set(plugins);
    Ok(())
}

impl Plugin {
    /// The name `--parser` (or `--metrics-parser`, `--coverage-parser`) takes.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn produces(&self) -> Produces {
        self.produces
    }

    pub(crate) fn description(&self) -> &'static str {
        self.description
    }

    /// Whether its detection rule claims the report: its file name matches `glob` and its first
    /// bytes `content`, where given. A plugin with neither is only used by name.
    fn claims(&self, file_name: &str, head: &[u8]) -> bool {
        (self.glob.is_some() || self.content.is_some())
            && self
                .glob
                .as_deref()
                .is_none_or(|g| glob_match(g.as_bytes(), file_name.as_bytes()))
            && self.content.as_ref().is_none_or(|re| re.is_match(head))
    }
}

/// The registered plugins, in name order.
pub(crate) fn all() -> &'static [&'static Plugin] {
    PLUGINS.get().map_or(&[], Vec::as_slice)
}

/// The registered plugins that produce `what`, in name order.
pub(crate) fn of(what: Produces) -> impl Iterator<Item = &'static Plugin> {
    all().iter().copied().filter(move |p| p.produces == what)
}

/// The plugin named `name`, whatever it produces.
pub(crate) fn named(name: &str) -> Option<&'static Plugin> {
    all().iter().copied().find(|p| p.name == name)
}

/// The test-report plugin `--parser NAME` names.
pub(crate) fn find(name: &str) -> Option<&'static dyn Format> {
    of(Produces::Results)
        .find(|p| p.name == name)
        .map(|p| p as &'static dyn Format)
}

/// The metric plugin `--metrics-parser NAME` names.
pub(crate) fn find_metrics(name: &str) -> Option<&'static dyn MetricFormat> {
    of(Produces::Metrics)
        .find(|p| p.name == name)
        .map(|p| p as &'static dyn MetricFormat)
}

/// The coverage plugin `--coverage-parser NAME` names.
pub(crate) fn find_coverage(name: &str) -> Option<&'static dyn CoverageFormat> {
    of(Produces::Coverage)
        .find(|p| p.name == name)
        .map(|p| p as &'static dyn CoverageFormat)
}

/// The first plugin, in name order, producing one of `kinds`, whose detection rule claims the
/// report named `source_name` with first bytes `head`.
pub(crate) fn claim(kinds: &[Produces], source_name: &str, head: &[u8]) -> Option<&'static Plugin> {
    let file_name = source_name.rsplit('/').next().unwrap_or(source_name);
    all()
        .iter()
        .copied()
        .filter(|p| kinds.contains(&p.produces))
        .find(|p| p.claims(file_name, head))
}

/// The first test-report plugin whose detection rule the report meets.
pub(crate) fn detect(source_name: &str, head: &[u8]) -> Option<&'static dyn Format> {
    claim(&[Produces::Results], source_name, head).map(|p| p as &'static dyn Format)
}

/// The first metric plugin whose detection rule the metric file meets.
pub(crate) fn detect_metrics(source_name: &str, head: &[u8]) -> Option<&'static dyn MetricFormat> {
    claim(&[Produces::Metrics], source_name, head).map(|p| p as &'static dyn MetricFormat)
}

/// The first coverage plugin whose detection rule the report meets.
pub(crate) fn detect_coverage(
    source_name: &str,
    head: &[u8],
) -> Option<&'static dyn CoverageFormat> {
    claim(&[Produces::Coverage], source_name, head).map(|p| p as &'static dyn CoverageFormat)
}

/// `*` (any run of characters) and `?` (one) against a whole file name.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|at| glob_match(rest, &name[at..])),
        Some((b'?', rest)) => !name.is_empty() && glob_match(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && glob_match(rest, &name[1..]),
    }
}

impl Plugin {
    /// A parse error of this plugin at `line` of its output (0: not at a line).
    fn error(&self, options: &ParseOptions, line: u64, what: String) -> ParseError {
        ParseError {
            format: self.human,
            source_name: options.source.clone(),
            line,
            column: 0,
            path: None,
            kind: ParseErrorKind::Other(what),
        }
    }

    /// An error of the built-in reader of its output (`form`), as this plugin's: at the line
    /// (and column, and place) of its output.
    fn output_error(&self, options: &ParseOptions, form: &str, e: ParseError) -> ParseError {
        let at = if e.line > 0 {
            format!("line {} of its output", e.line)
        } else {
            "its output".to_owned()
        };
        ParseError {
            format: self.human,
            source_name: options.source.clone(),
            line: e.line,
            column: e.column,
            path: e.path,
            kind: ParseErrorKind::Other(format!("{at} ({form}): {}", e.kind)),
        }
    }

    /// Runs the program on the report and, once it ended well (exit status 0, within its time),
    /// hands back its output, spooled to a temporary file and rewound.
    fn run(&self, input: &mut dyn BufRead, options: &ParseOptions) -> Result<File, ParseError> {
        let error = |what: String| self.error(options, 0, what);
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .arg(&options.source)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A process group of its own: the time limit stops what it started too (a child left
        // behind holding its output open would otherwise keep probtrack reading).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| error(format!("cannot run `{}`: {e}", self.command[0])))?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let child = Mutex::new(child);
        let (done, finished) = mpsc::channel::<()>();
        let run = std::thread::scope(|scope| {
            // Kills the program when it runs past its time.
            let child = &child;
            let watchdog = scope.spawn(move || match finished.recv_timeout(self.timeout) {
                Err(RecvTimeoutError::Timeout) => {
                    stop(&mut lock(child));
                    true
                }
                _ => false,
            });
            let output = scope.spawn(move || spool(stdout));
            let errors = scope.spawn(move || tail(stderr));
            let fed = feed(input, stdin);
            let output = output
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the reader of its output failed")));
            let errors = errors.join().unwrap_or_default();
            // Polled, the lock let go between looks, so that the watchdog can still kill a program
            // that closed its output but runs on.
            let status = loop {
                match lock(child).try_wait() {
                    Ok(Some(status)) => break Ok(status),
                    Ok(None) => {}
                    Err(e) => break Err(e),
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            };
            let _ = done.send(());
            let timed_out = watchdog.join().unwrap_or(false);
            (fed, output, errors, status, timed_out)
        });
        let (fed, output, errors, status, timed_out) = run;
        let said = if errors.trim().is_empty() {
            String::new()
        } else {
            // Made inert (control characters escaped): it goes to a terminal.
            format!(
                "; its standard error ends: {}",
                crate::report::safe(errors.trim().as_bytes())
            )
        };
        if timed_out {
            return Err(error(format!(
                "it ran past its time limit of {} s and was stopped",
                self.timeout.as_secs()
            )));
        }
        let status = status.map_err(|e| error(format!("cannot wait for it: {e}")))?;
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("it exited with status {code}"),
                None => "it was killed by a signal (it crashed)".to_owned(),
            };
            return Err(error(format!("{how}{said}")));
        }
        fed.map_err(|e| error(format!("cannot hand it the report: {e}")))?;
        output.map_err(|e| error(format!("cannot read its output: {e}")))
    }
}

impl Format for Plugin {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        sniff(self, head)
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> std::result::Result<(), ParseError> {
        let output = self.run(input, options)?;
        let records = read_lines(BufReader::new(output))
            .map_err(|e| self.error(options, 0, format!("cannot read its output: {e}")))?;
        let mut results = Vec::with_capacity(records.len());
        for (number, line) in records {
            let result = record(&line).map_err(|what| {
                self.error(
                    options,
                    number,
                    format!("record {number} (line {number} of its output): {what}"),
                )
            })?;
            results.push(result);
        }
        for result in results {
            sink.result(result);
        }
        Ok(())
    }
}

/// A plugin's own look at a report: HIGH where its `content` matches.
fn sniff(plugin: &Plugin, head: &[u8]) -> Confidence {
    match &plugin.content {
        Some(re) if re.is_match(head) => Confidence::HIGH,
        _ => Confidence::NONE,
    }
}

impl MetricFormat for Plugin {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn sniff(&self, head: &[u8], _options: &ParseOptions) -> Confidence {
        sniff(self, head)
    }

    /// Its output is probtrack's generic metric JSON (it starts with `{`) or lines.
    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn MetricSink,
    ) -> std::result::Result<(), ParseError> {
        let mut output = BufReader::with_capacity(64 * 1024, self.run(input, options)?);
        // Its first bytes tell: JSON starts with `{` (after white space), lines do not.
        let head = output
            .fill_buf()
            .map_err(|e| self.error(options, 0, format!("cannot read its output: {e}")))?;
        let json = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if json {
            GenericJson
                .parse(&mut output, options, sink)
                .map_err(|e| self.output_error(options, "generic metric JSON", e))
        } else {
            GenericLines
                .parse(&mut output, options, sink)
                .map_err(|e| self.output_error(options, "generic metric lines", e))
        }
    }
}

impl CoverageFormat for Plugin {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn sniff(&self, head: &[u8]) -> Confidence {
        sniff(self, head)
    }

    /// Its output is an lcov tracefile, read as the built-in `lcov` reads one (streaming).
    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn CoverageSink,
    ) -> std::result::Result<(), ParseError> {
        let mut output = BufReader::with_capacity(256 * 1024, self.run(input, options)?);
        Lcov.parse(&mut output, options, sink)
            .map_err(|e| self.output_error(options, "lcov tracefile", e))
    }
}

/// Kills the program and, on Unix, every process of its group (what it started).
fn stop(child: &mut Child) {
    #[cfg(unix)]
    if let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) {
        // It leads its group (spawned with process_group(0)).
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}

fn lock(child: &Mutex<Child>) -> std::sync::MutexGuard<'_, Child> {
    child
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies the report to the program's standard input. A program that stops reading early (it
/// has what it needs, or it failed) is not an error here: its exit status says.
fn feed(input: &mut dyn BufRead, stdin: Option<std::process::ChildStdin>) -> io::Result<()> {
    let Some(mut stdin) = stdin else {
        return Ok(());
    };
    match io::copy(input, &mut stdin) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The program's whole output, copied to a temporary file as it comes (at most [`OUTPUT_CAP`];
/// past that, or when no file can be made, the rest is read and dropped so that the program is
/// not left blocked on a full pipe) and rewound.
fn spool(stdout: Option<std::process::ChildStdout>) -> io::Result<File> {
    let drain = |stdout: Option<std::process::ChildStdout>| {
        if let Some(mut stdout) = stdout {
            let _ = io::copy(&mut stdout, &mut io::sink());
        }
    };
    let mut file = match tempfile::tempfile() {
        Ok(file) => file,
        Err(e) => {
            drain(stdout);
            return Err(e);
        }
    };
    let Some(mut stdout) = stdout else {
        return Ok(file);
    };
    let copied = io::copy(&mut (&mut stdout).take(OUTPUT_CAP + 1), &mut file);
    match copied {
        Ok(n) if n > OUTPUT_CAP => {
            drain(Some(stdout));
            Err(io::Error::other(format!(
                "it wrote more than {} GiB",
                OUTPUT_CAP >> 30
            )))
        }
        Ok(_) => {
            file.rewind()?;
            Ok(file)
        }
        Err(e) => {
            drain(Some(stdout));
            Err(e)
        }
    }
}

/// The output's lines (1-based numbers), blank ones skipped, each at most [`RECORD_CAP`].
fn read_lines(mut reader: impl BufRead) -> io::Result<Vec<(u64, Vec<u8>)>> {
    let mut lines = Vec::new();
    let mut number = 0;
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(RECORD_CAP as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(lines);
        }
        number += 1;
        if line.len() > RECORD_CAP {
            return Err(io::Error::other(format!(
                "line {number} is longer than {} MiB",
                RECORD_CAP >> 20
            )));
        }
        if !line.trim_ascii().is_empty() {
            lines.push((number, line));
        }
    }
}

/// The end of the program's standard error, as text.
fn tail(stderr: Option<std::process::ChildStderr>) -> String {
    let Some(mut stderr) = stderr else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    let start = kept.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&kept[start..]).into_owned()
}

/// One record of the protocol, checked. The fields are those `probtrack parse --format json`
/// prints; `file` (which `parse` adds) is allowed and ignored.
pub(crate) fn record(line: &[u8]) -> std::result::Result<TestResult, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err("not a JSON object".into());
    };
    for key in fields.keys() {
        if ![
            "file", "test", "kind", "status", "duration", "message", "details", "attempts",
        ]
        .contains(&key.as_str())
        {
            return Err(format!(
                "unknown field {key:?} (a record has test, kind, status, duration, message, \
                 details, attempts)"
            ));
        }
    }
    let test = match fields.remove("test") {
        Some(serde_json::Value::String(test)) if !test.trim().is_empty() => test,
        Some(serde_json::Value::String(_)) => return Err("`test` is empty".into()),
        Some(_) => return Err("`test` is not a string".into()),
        None => return Err("no `test`".into()),
    };
    let status = match fields.remove("status") {
        Some(serde_json::Value::String(status)) => Status::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == status)
            .ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("`status` {status:?} is not one of {}", names.join(", "))
            })?,
        Some(_) => return Err("`status` is not a string".into()),
        None => return Err("no `status`".into()),
    };
    let kind = match fields.remove("kind") {
        None | Some(serde_json::Value::Null) => Kind::Test,
        Some(serde_json::Value::String(kind)) if kind == "test" => Kind::Test,
        Some(serde_json::Value::String(kind)) if kind == "compile" => Kind::Compile,
        Some(other) => {
            return Err(format!(
                "`kind` {other} is neither \"test\" nor \"compile\""
            ))
        }
    };
    let duration = match fields.remove("duration") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(d) if d.is_finite() && d >= 0.0 => Some(d),
            _ => return Err(format!("`duration` {n} is not a number of seconds")),
        },
        Some(other) => return Err(format!("`duration` {other} is not a number of seconds")),
    };
    let message = match fields.remove("message") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(m)) => Some(BString::from(m)),
        Some(_) => return Err("`message` is not a string".into()),
    };
    let details = match fields.remove("details") {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(details)) => details,
        Some(_) => return Err("`details` is not an object".into()),
    };
    let attempts = match fields.remove("attempts") {
        None | Some(serde_json::Value::Null) => 1,
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|a| u32::try_from(a).ok())
            .filter(|&a| a >= 1)
            .ok_or_else(|| format!("`attempts` {n} is not a whole number of at least 1"))?,
        Some(_) => return Err("`attempts` is not a number".into()),
    };
    let mut result = TestResult::new(test, kind, status);
    result.duration = duration;
    result.message = message;
    result.details = details;
    result.attempts = attempts;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_whole_file_names() {
        assert!(glob_match(b"*.jsonl", b"report.jsonl"));
        assert!(glob_match(b"report-?.log", b"report-1.log"));
        assert!(!glob_match(b"*.jsonl", b"report.jsonl.gz"));
        assert!(!glob_match(b"report-?.log", b"report-12.log"));
        assert!(glob_match(b"*", b""));
    }
}
