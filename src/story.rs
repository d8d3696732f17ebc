//! A Problem's story (`show`, and each Problem's page of the report): the changes that started
//! and fixed it with their commits and people, and each builder's builds from just before it to
//! its fix.

use crate::clock::{self, Micros};
use crate::error::Result;
use crate::lookup;
use crate::people::{self, Person};
use crate::problems::{self, Branch};
use crate::report::lossy;
use crate::settings::Settings;
use crate::store::{Changes, ProblemRecord, Store};
use crate::triage;
use crate::views::problems::ProblemView;
use crate::views::show::{BuilderTimeline, ChangeDetail, ShowView, TimelineBuild};
use crate::views::{shorten, MESSAGE_LEN};

/// A change that started (`start`) or fixed (`fix`) a Problem, with its commit where known.
pub(crate) struct Change<'s> {
    pub role: &'static str,
    pub revision: String,
    pub author: Option<String>,
    /// The author as a person (the settings' users map).
    pub person: Option<Person<'s>>,
    pub time: Option<Micros>,
    pub comments: Option<String>,
}

/// The starting changes, then the fixing ones.
pub(crate) fn changes<'s>(
    store: &mut dyn Store,
    settings: &'s Settings,
    problem: &ProblemRecord,
) -> Result<Vec<Change<'s>>> {
    let mut out = Vec::new();
    for (role, list) in [("start", &problem.started_by), ("fix", &problem.fixed_by)] {
        for change in list {
            let full = store.changes(Changes::Revision(&change.revision))?.pop();
            out.push(Change {
                role,
                revision: change.revision.clone(),
                author: change.author.clone(),
                person: change
                    .author
                    .as_deref()
                    .map(|a| people::person(settings, a)),
                time: full.as_ref().and_then(|c| c.time),
                comments: full.and_then(|c| c.comments),
            });
        }
    }
    Ok(out)
}

/// `show ID`: Problem `id`'s story (an unknown or hidden Problem is bad input).
pub(crate) fn show(store: &mut dyn Store, settings: &Settings, id: i64) -> Result<ShowView> {
    let problem = lookup::find_problem(store, id)?;
    let changes = changes(store, settings, &problem)?
        .into_iter()
        .map(|c| ChangeDetail {
            role: c.role,
            revision: c.revision,
            author: c.author,
            person: c.person.map(|p| p.name),
            time: c.time.map(clock::rfc3339),
            comments: c.comments,
        })
        .collect();
    // Each builder's builds from just before the Problem to its fix.
    let branch = Branch::load(store, problem.branch.as_deref())?;
    let lanes = branch.test_lanes(store, problem.test)?;
    let mut timeline = Vec::new();
    for part in &problem.builders {
        let Some(steps) = problems::story_steps(&lanes, part) else {
            continue;
        };
        let mut builds = Vec::new();
        for step in steps {
            let message = if step.status.is_some_and(|s| s.is_failing()) {
                branch
                    .result_message(store, step.build, problem.test)?
                    .0
                    .map(|m| shorten(&lossy(&m), MESSAGE_LEN))
            } else {
                None
            };
            builds.push(TimelineBuild {
                build: step.number,
                revision: step.revision.as_deref().map(str::to_owned),
                time: clock::rfc3339(step.time),
                status: step.status.map(|s| s.as_str()),
                message,
            });
        }
        timeline.push(BuilderTimeline {
            builder: part.builder.clone(),
            builds,
        });
    }
    let mut view = [ProblemView::new(&problem, settings)];
    triage::annotate(store, &[&problem], &mut view)?;
    let [problem] = view;
    Ok(ShowView {
        problem,
        changes,
        timeline,
    })
}
