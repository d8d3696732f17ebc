//! `### problems` (and every Problem `show` prints): a Problem with what people added to it.

use serde::Serialize;

use crate::clock;
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{ChangeRef, LinkRecord, ProblemRecord};
use crate::views::{shorten, BuildAt, ChangeView, MESSAGE_LEN};

/// One Problem, as `problems` lists it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ProblemView {
    pub id: i64,
    pub test: String,
    /// The identity's bytes as stored (for tables, which show bytes that are not UTF-8 escaped).
    #[serde(skip)]
    pub test_bytes: bstr::BString,
    pub kind: &'static str,
    pub branch: Option<String>,
    pub state: &'static str,
    pub intermittent: bool,
    pub builders: Vec<String>,
    pub first_failure: BuildAt,
    pub last_failure: BuildAt,
    /// The pass that fixed it, or null while open.
    pub fixed: Option<BuildAt>,
    pub started_by: Vec<ChangeView>,
    pub fixed_by: Vec<ChangeView>,
    pub failures: u64,
    pub message: Option<String>,
    /// The authors of the starting changes, as persons (the settings' users map).
    pub responsible: Vec<String>,
    /// The authors of the fixing changes, as persons.
    pub fixers: Vec<String>,
    /// The cause cluster of its last failure (an id `clusters` lists), or null when its results
    /// are gone. Filled by `triage::annotate`.
    pub cluster: Option<String>,
    /// Bug-tracker links (`probtrack link`).
    pub links: Vec<LinkView>,
    /// Notes (`probtrack note`), oldest first.
    pub notes: Vec<NoteView>,
    /// The open links of the test's previous Problem: the test fails again while they are open.
    pub earlier_links: Vec<EarlierLink>,
    /// A metric Problem's step (kind `metric` only; absent for tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<crate::views::metrics::MetricStepView>,
    /// A coverage Problem's lines at its last failure (kind `coverage` only; absent for the
    /// others). Filled by `triage::annotate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageLinesView>,
}

/// `coverage` of a coverage Problem: the lines it is about.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct CoverageLinesView {
    /// Every line still owed at its last failure (lost or new and uncovered then or before, and
    /// not run since), numbered as in that build.
    pub lines: Vec<u32>,
    /// Where it started: lines that ran in the builder's previous build and not in this one
    /// (LBC).
    pub lost: Vec<u32>,
    /// Where it started: new or changed lines that did not run (UNC).
    pub uncovered_new: Vec<u32>,
    /// Where lines were lost: the tests that broke in the build where it started (failed or were
    /// skipped there and passed in the previous build, or vanished), each with its Problem there
    /// (null when it has none).
    pub tests: Vec<RelatedTest>,
}

/// `{test, problem}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RelatedTest {
    pub test: String,
    pub problem: Option<i64>,
}

/// `{url, state, time}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct LinkView {
    pub url: String,
    /// `open` or `closed`.
    pub state: &'static str,
    pub time: String,
}

impl From<LinkRecord> for LinkView {
    fn from(l: LinkRecord) -> Self {
        LinkView {
            url: l.url,
            state: if l.open { "open" } else { "closed" },
            time: clock::rfc3339(l.added_at),
        }
    }
}

/// `{text, author, time}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct NoteView {
    pub text: String,
    pub author: Option<String>,
    pub time: String,
}

/// `{problem, url}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EarlierLink {
    pub problem: i64,
    pub url: String,
}

impl ProblemView {
    pub(crate) fn new(p: &ProblemRecord, settings: &Settings) -> ProblemView {
        let persons = |changes: &[ChangeRef]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for author in changes.iter().filter_map(|c| c.author.as_deref()) {
                let name = crate::people::person(settings, author).name;
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            out
        };
        ProblemView {
            id: p.id,
            test: lossy(&p.test_name),
            test_bytes: p.test_name.clone(),
            kind: p.kind.as_str(),
            branch: p.branch.clone(),
            state: p.state(),
            intermittent: p.intermittent,
            builders: p.builders.iter().map(|b| b.builder.clone()).collect(),
            first_failure: (&p.first_failure).into(),
            last_failure: (&p.last_failure).into(),
            fixed: p.fixed.as_ref().map(Into::into),
            started_by: p.started_by.iter().map(Into::into).collect(),
            fixed_by: p.fixed_by.iter().map(Into::into).collect(),
            failures: p.failures,
            message: p
                .message
                .as_deref()
                .map(|m| shorten(&lossy(m), MESSAGE_LEN)),
            responsible: persons(&p.started_by),
            fixers: persons(&p.fixed_by),
            cluster: None,
            links: Vec::new(),
            notes: Vec::new(),
            earlier_links: Vec::new(),
            metric: p.metric.as_ref().map(Into::into),
            coverage: None,
        }
    }
}

/// `accept` prints the accepted Problem alone.
impl crate::views::View for ProblemView {}
