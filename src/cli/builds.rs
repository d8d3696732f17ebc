//! `probtrack builds`: recent builds, newest first.

use serde::Serialize;

use crate::cli::{listing_branch, Context};
use crate::clock;
use crate::error::Result;
use crate::report::{safe, OutputFormat};
use crate::store::{BuildFilter, Counts, OpenMode};

/// List recent builds, newest first, with their result counts and blamelists
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack builds
  probtrack builds --builder linux-py312 --limit 50 --format json")]
pub struct Args {
    /// Only this builder's builds
    #[arg(long, value_name = "NAME")]
    builder: Option<String>,
    /// Only builds of this branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    /// Every branch
    #[arg(long, conflicts_with = "branch")]
    all_branches: bool,
    /// How many builds
    #[arg(long, default_value_t = 20, value_name = "N")]
    limit: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

/// One build, as `docs/output.md` documents it.
#[derive(Serialize)]
pub struct BuildView {
    pub builder: String,
    pub build: i64,
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub time: String,
    pub result: Option<String>,
    pub counts: Counts,
    pub changes: Vec<ChangeView>,
    pub properties: serde_json::Value,
}

#[derive(Serialize)]
pub struct ChangeView {
    pub revision: String,
    pub author: Option<String>,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let filter = BuildFilter {
        builder: args.builder.clone(),
        branch: (!args.all_branches).then(|| listing_branch(args.branch.as_deref(), &ctx.settings)),
        limit: args.limit,
    };
    let mut view = Vec::new();
    for build in store.recent_builds(&filter)? {
        let changes = store
            .build_changes(build.id)?
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
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&view)?,
        OutputFormat::Table => {
            let rows = view
                .iter()
                .map(|b| {
                    let authors: Vec<String> = b
                        .changes
                        .iter()
                        .filter_map(|c| c.author.as_deref())
                        .map(|a| safe(short_author(a).as_bytes()))
                        .fold(Vec::new(), |mut acc, a| {
                            if !acc.contains(&a) {
                                acc.push(a);
                            }
                            acc
                        });
                    let c = &b.counts;
                    vec![
                        safe(b.builder.as_bytes()).into(),
                        b.build.into(),
                        b.revision
                            .as_deref()
                            .map(|r| safe(short_rev(r).as_bytes()))
                            .unwrap_or_default()
                            .into(),
                        b.time.clone().into(),
                        c.passed.into(),
                        (c.failed + c.error).into(),
                        c.skipped.into(),
                        c.flaky.into(),
                        format!("{} {}", b.changes.len(), authors.join(", ")).into(),
                    ]
                })
                .collect();
            ctx.out.table(
                &[
                    "builder", "build", "revision", "time", "passed", "failing", "skipped",
                    "flaky", "changes",
                ],
                rows,
            )?;
        }
    }
    Ok(0)
}

/// The first 10 characters of a revision, as people read them.
pub fn short_rev(revision: &str) -> &str {
    revision.get(..10).unwrap_or(revision)
}

/// `Name <email>` → `Name`.
pub fn short_author(author: &str) -> &str {
    author.split(" <").next().unwrap_or(author).trim()
}
