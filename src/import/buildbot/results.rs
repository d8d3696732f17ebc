//! A build's test result sets, Buildbot's own record of tests (`addTestResultSet`,
//! `addTestResult`): each set becomes one report of the build, spooled as JSON Lines records (the
//! parser plugins' records, `docs/plugins.md`) and read back by [`ResultSets`].
//!
//! A set's `category` says what its values mean: `pass_fail` (`value_unit` `boolean`: "1"
//! passed, "0" failed), `pass_only` (every result passed), `fail_only` (every result failed) and
//! `code_issue` (every result is a warning, a `compile` result named `PATH:MESSAGE`). Other
//! categories (`performance`, …) are measurements, not results, and are left out.

use std::io::BufRead;

use probtrack_parsers::{Confidence, Format, ParseError, ParseErrorKind, ParseOptions, Sink};

use super::api::{At, Client};
use super::{Spool, PAGE};
use crate::error::Result;
use crate::ingest::Source;

/// Reads the spooled records of one result set.
pub(crate) struct ResultSets;

impl Format for ResultSets {
    fn name(&self) -> &'static str {
        "buildbot-test-results"
    }

    fn description(&self) -> &'static str {
        "Buildbot's test result sets, as import --buildbot reads them"
    }

    fn sniff(&self, _head: &[u8]) -> Confidence {
        Confidence::NONE
    }

    fn parse(
        &self,
        input: &mut dyn BufRead,
        options: &ParseOptions,
        sink: &mut dyn Sink,
    ) -> std::result::Result<(), ParseError> {
        for (i, line) in input.split(b'\n').enumerate() {
            let error = |kind| ParseError {
                format: "Buildbot test results",
                source_name: options.source.clone(),
                line: i as u64 + 1,
                column: 0,
                path: None,
                kind,
            };
            let line = line.map_err(|e| error(ParseErrorKind::Io(e)))?;
            if line.is_empty() {
                continue;
            }
            let result =
                crate::plugin::record(&line).map_err(|e| error(ParseErrorKind::Other(e)))?;
            sink.result(result);
        }
        Ok(())
    }
}

static RESULT_SETS: ResultSets = ResultSets;

/// The build's test result sets, one report each.
pub(super) fn fetch(client: &Client, buildid: i64) -> Result<Vec<Source>> {
    let path = format!("/builds/{buildid}/test_result_sets");
    let Some(answer) = client.get(&path)? else {
        return Ok(Vec::new());
    };
    let url = client.shown(&path);
    let root = At::root(&url, &answer);
    let mut sources = Vec::new();
    for set in root.key("test_result_sets").items()? {
        let id = set.key("test_result_setid").int()?;
        let category = set.key("category").str()?;
        let unit = set.key("value_unit").opt_str()?.unwrap_or_default();
        let kind = match category {
            "pass_fail" if unit == "boolean" => Category::PassFail,
            "pass_only" => Category::Pass,
            "fail_only" => Category::Fail,
            "code_issue" => Category::CodeIssue,
            _ => continue,
        };
        let mut spool = Spool::new()?;
        let mut offset = 0;
        loop {
            let path = format!(
                "/test_result_sets/{id}/results?order=test_resultid&limit={PAGE}&offset={offset}"
            );
            let answer = client.get_found(&path)?;
            let url = client.shown(&path);
            let root = At::root(&url, &answer);
            let mut count = 0;
            for result in root.key("test_results").items()? {
                count += 1;
                if let Some(record) = record(&result, kind)? {
                    spool.write(record.as_bytes())?;
                }
            }
            if count < PAGE {
                break;
            }
            offset += PAGE;
        }
        let mut source = spool.finish(format!("test_result_sets/{id}"), b"")?;
        source.parser = Some(&RESULT_SETS);
        sources.push(source);
    }
    Ok(sources)
}

#[derive(Clone, Copy)]
enum Category {
    PassFail,
    Pass,
    Fail,
    CodeIssue,
}

/// One result as a JSON Lines record; `None` for one without a name.
fn record(result: &At<'_>, category: Category) -> Result<Option<String>> {
    let name = result
        .key("test_name")
        .opt_str()?
        .filter(|n| !n.trim().is_empty());
    let code_path = result.key("test_code_path").opt_str()?;
    let line = result.key("line").opt_int()?;
    let value = result.key("value").str()?;
    let (test, kind, status) = match category {
        Category::CodeIssue => {
            let Some(message) = name.or(code_path) else {
                return Ok(None);
            };
            let test = match code_path {
                Some(path) if name.is_some() => format!("{path}:{message}"),
                _ => message.to_owned(),
            };
            (test, "compile", "failed")
        }
        _ => {
            let Some(test) = name.or(code_path) else {
                return Ok(None);
            };
            let status = match category {
                Category::Pass => "passed",
                Category::Fail => "failed",
                _ => match value.trim() {
                    "1" | "true" | "True" => "passed",
                    "0" | "false" | "False" => "failed",
                    _ => {
                        return Err(result
                            .key("value")
                            .error("\"1\" or \"0\" (a pass_fail result)"))
                    }
                },
            };
            (test.to_owned(), "test", status)
        }
    };
    let mut details = serde_json::Map::new();
    if let Some(path) = code_path {
        details.insert("file".into(), path.into());
    }
    if let Some(line) = line {
        details.insert("line".into(), line.into());
    }
    let duration = result
        .key("duration_ns")
        .opt_int()?
        .map(|ns| ns as f64 / 1e9);
    let record = serde_json::json!({
        "test": test,
        "kind": kind,
        "status": status,
        "duration": duration,
        "details": details,
    });
    Ok(Some(format!("{record}\n")))
}
