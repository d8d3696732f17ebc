//! Triage: the Problems as people work them. The list `problems` prints, each Problem with the
//! cause cluster it belongs to and what people added to it (bug links, notes), and adding those.

use probtrack_parsers::Kind;

use crate::clock;
use crate::error::{Error, Result};
use crate::lookup::find_problem;
use crate::people;
use crate::settings::Settings;
use crate::store::{ProblemFilter, ProblemRecord, Store};
use crate::views::problems::{EarlierLink, LinkView, NoteView, ProblemView};

/// Which Problems `problems` lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct Listing {
    /// `Some(true)`: open only; `Some(false)`: fixed only; `None`: both.
    pub open: Option<bool>,
    /// Intermittent Problems too.
    pub intermittent: bool,
    pub branch: Option<String>,
    /// Only Problems that failed on this builder.
    pub builder: Option<String>,
    /// Only Problems whose starting changes are by this person (`people::matches`).
    pub user: Option<String>,
    pub kind: Option<Kind>,
    /// At most this many, the most recent last failure first.
    pub limit: Option<usize>,
}

/// The Problems `listing` selects, most recent last failure first, annotated.
pub(crate) fn list(
    store: &mut dyn Store,
    settings: &Settings,
    listing: &Listing,
) -> Result<Vec<ProblemView>> {
    let all = store.problems(&ProblemFilter {
        open: listing.open,
        intermittent: (!listing.intermittent).then_some(false),
        branch: Some(listing.branch.clone()),
        ..ProblemFilter::default()
    })?;
    let mut records: Vec<&ProblemRecord> = all
        .iter()
        .filter(|p| {
            listing
                .builder
                .as_ref()
                .is_none_or(|b| p.builders.iter().any(|x| x.builder == *b))
        })
        .filter(|p| listing.kind.is_none_or(|k| p.kind == k))
        .filter(|p| {
            listing.user.as_ref().is_none_or(|u| {
                p.started_by
                    .iter()
                    .filter_map(|c| c.author.as_deref())
                    .any(|a| people::matches(settings, u, a))
            })
        })
        .collect();
    if let Some(limit) = listing.limit {
        records.truncate(limit);
    }
    let mut views: Vec<ProblemView> = records
        .iter()
        .map(|p| ProblemView::new(p, settings))
        .collect();
    annotate(store, &records, &mut views)?;
    Ok(views)
}

/// What `link` does to a Problem's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkChange {
    /// Add it (or set it) open.
    Open,
    /// Add it (or set it) closed: the bug is closed.
    Closed,
    Remove,
}

/// Links Problem `id` to a bug (`link`). An unknown or hidden Problem, or removing a link it does
/// not have, is bad input.
pub(crate) fn link(store: &mut dyn Store, id: i64, url: &str, change: LinkChange) -> Result<()> {
    if url.trim().is_empty() {
        return Err(Error::usage("the link is empty"));
    }
    find_problem(store, id)?;
    let at = clock::to_micros(clock::now());
    let open = (change != LinkChange::Remove).then_some(change == LinkChange::Open);
    if !store.set_link(id, url, open, at)? {
        return Err(Error::bad_input(format!("Problem {id} has no link {url}")));
    }
    Ok(())
}

/// Adds a note to Problem `id` (`note`).
pub(crate) fn note(store: &mut dyn Store, id: i64, text: &str, author: Option<&str>) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::usage("the note is empty"));
    }
    find_problem(store, id)?;
    store.add_note(id, text, author, clock::to_micros(clock::now()))?;
    Ok(())
}

/// The open links of the Problem of the same test and branch that came just before `problem`.
pub(crate) fn earlier_links(
    store: &mut dyn Store,
    problem: &ProblemRecord,
) -> Result<Vec<EarlierLink>> {
    let before = store
        .problems(&ProblemFilter {
            test: Some(problem.test),
            branch: Some(problem.branch.clone()),
            ..ProblemFilter::default()
        })?
        .into_iter()
        .filter(|p| {
            p.id != problem.id
                && (p.first_failure.time, p.id) < (problem.first_failure.time, problem.id)
        })
        .max_by_key(|p| (p.first_failure.time, p.id));
    let Some(before) = before else {
        return Ok(Vec::new());
    };
    Ok(store
        .links(&[before.id])?
        .remove(&before.id)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.open)
        .map(|l| EarlierLink {
            problem: before.id,
            url: l.url,
        })
        .collect())
}

/// Fills each view's `cluster`, `links`, `notes` and `earlier_links`; `records[i]` is `views[i]`'s.
pub(crate) fn annotate(
    store: &mut dyn Store,
    records: &[&ProblemRecord],
    views: &mut [ProblemView],
) -> Result<()> {
    annotate_with(store, records, views, false)
}

/// `annotate` for every Problem of one branch at once (`report --html`): each one's earlier
/// Problem is looked up among `records`, with one query for all their links, instead of a query
/// per Problem. `records` must be all of the branch's Problems (as `ProblemFilter` with only the
/// branch set gives them), so that the earlier one of each is among them.
pub(crate) fn annotate_branch(
    store: &mut dyn Store,
    records: &[&ProblemRecord],
    views: &mut [ProblemView],
) -> Result<()> {
    annotate_with(store, records, views, true)
}

fn annotate_with(
    store: &mut dyn Store,
    records: &[&ProblemRecord],
    views: &mut [ProblemView],
    whole_branch: bool,
) -> Result<()> {
    let ids: Vec<i64> = records.iter().map(|p| p.id).collect();
    let mut links = store.links(&ids)?;
    let mut notes = store.notes(&ids)?;
    // With the whole branch: each Problem's predecessor of the same test, and their links.
    let mut earlier: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    let mut earlier_open = std::collections::HashMap::new();
    if whole_branch {
        let mut by_test: Vec<&ProblemRecord> = records.to_vec();
        by_test.sort_by_key(|p| (p.test, p.first_failure.time, p.id));
        for pair in by_test.windows(2) {
            if pair[0].test == pair[1].test {
                earlier.insert(pair[1].id, pair[0].id);
            }
        }
        let mut befores: Vec<i64> = earlier.values().copied().collect();
        befores.sort_unstable();
        befores.dedup();
        earlier_open = store.links(&befores)?;
    }
    for (record, view) in records.iter().zip(views.iter_mut()) {
        view.cluster.clone_from(&record.cluster);
        view.links = links
            .remove(&record.id)
            .unwrap_or_default()
            .into_iter()
            .map(LinkView::from)
            .collect();
        view.notes = notes
            .remove(&record.id)
            .unwrap_or_default()
            .into_iter()
            .map(|n| NoteView {
                text: n.text,
                author: n.author,
                time: clock::rfc3339(n.added_at),
            })
            .collect();
        view.earlier_links = if whole_branch {
            earlier.get(&record.id).map_or_else(Vec::new, |&before| {
                earlier_open
                    .get(&before)
                    .into_iter()
                    .flatten()
                    .filter(|l| l.open)
                    .map(|l| EarlierLink {
                        problem: before,
                        url: l.url.clone(),
                    })
                    .collect()
            })
        } else {
            earlier_links(store, record)?
        };
        if record.kind == probtrack_parsers::Kind::Coverage {
            view.coverage = Some(crate::coverage::problem_lines(store, record)?);
        }
    }
    Ok(())
}
