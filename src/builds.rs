//! Builds as `builds` lists them: the most recent first, each with its blamelist.

use crate::clock;
use crate::error::Result;
use crate::store::{BuildFilter, Changes, Store};
use crate::views::builds::BuildView;
use crate::views::ChangeView;

/// The builds `filter` selects, newest first.
pub(crate) fn recent(store: &mut dyn Store, filter: &BuildFilter) -> Result<Vec<BuildView>> {
    let mut view = Vec::new();
    for build in store.builds(filter)? {
        let changes = store
            .changes(Changes::OfBuild(build.id))?
            .into_iter()
            .map(|c| ChangeView {
                revision: c.revision,
                author: c.author,
            })
            .collect();
        view.push(BuildView {
            builder: build.builder,
            build: build.number,
            branch: build.branch,
            revision: build.revision,
            time: clock::rfc3339(build.time),
            result: build.result,
            counts: build.counts,
            changes,
            properties: serde_json::from_str(&build.properties).unwrap_or_default(),
        });
    }
    Ok(view)
}
