//! `### show ID`: a Problem's whole story.

use serde::Serialize;

use crate::views::problems::ProblemView;
use crate::views::View;

/// Every key of a `problems` element, then the changes and each builder's timeline.
#[derive(Serialize)]
pub(crate) struct ShowView {
    #[serde(flatten)]
    pub problem: ProblemView,
    pub changes: Vec<ChangeDetail>,
    pub timeline: Vec<BuilderTimeline>,
}

/// CSV prints the `problems` keys only.
impl View for ShowView {
    fn csv_rows(&self) -> impl Serialize + '_ {
        &self.problem
    }
}

#[derive(Serialize)]
pub(crate) struct ChangeDetail {
    /// `start` or `fix`.
    pub role: &'static str,
    pub revision: String,
    pub author: Option<String>,
    pub person: Option<String>,
    /// The commit's time.
    pub time: Option<String>,
    /// The commit message.
    pub comments: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct BuilderTimeline {
    pub builder: String,
    pub builds: Vec<TimelineBuild>,
}

#[derive(Serialize)]
pub(crate) struct TimelineBuild {
    pub build: i64,
    pub revision: Option<String>,
    pub time: String,
    /// Null where the test was not in the build.
    pub status: Option<&'static str>,
    /// For failures only.
    pub message: Option<String>,
}
