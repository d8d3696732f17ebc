//! Triage: what people add to Problems (links, notes) and the cause cluster each belongs to, put
//! beside the Problems' views.

use crate::clock;
use crate::error::Result;
use crate::store::{ProblemFilter, ProblemRecord, Store};
use crate::views::problems::{EarlierLink, LinkView, NoteView, ProblemView};

/// The open links of the Problem of the same test and branch that came just before `problem`.
pub fn earlier_links(store: &mut dyn Store, problem: &ProblemRecord) -> Result<Vec<EarlierLink>> {
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
pub fn annotate(
    store: &mut dyn Store,
    records: &[&ProblemRecord],
    views: &mut [ProblemView],
) -> Result<()> {
    let ids: Vec<i64> = records.iter().map(|p| p.id).collect();
    let mut links = store.links(&ids)?;
    let mut notes = store.notes(&ids)?;
    for (record, view) in records.iter().zip(views.iter_mut()) {
        view.cluster.clone_from(&record.cluster);
        view.links = links
            .remove(&record.id)
            .unwrap_or_default()
            .into_iter()
            .map(|l| LinkView {
                url: l.url,
                state: if l.open { "open" } else { "closed" },
                time: clock::rfc3339(l.added_at),
            })
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
        view.earlier_links = earlier_links(store, record)?;
    }
    Ok(())
}
