//! `probtrack builders`: the builders, their latest builds, and retiring one that is gone.

use serde::Serialize;

use crate::cli::Context;
use crate::clock;
use crate::error::{Error, Result};
use crate::problems;
use crate::report::{safe, OutputFormat};
use crate::store::{BuildFilter, Counts, OpenMode, ProblemFilter};

/// List builders with their latest build; `builders retire NAME` for one that is gone
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack builders
  probtrack builders retire old-macos-10.15

A retired builder no longer keeps Problems open: its failures stay in their Problems and narrow
their suspects, but it need not pass for them to be fixed. A Problem that only retired builders
failed, none passing again, is neither open nor fixed: its state is `retired`. `builders unretire
NAME` undoes it.")]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Stop a builder that is gone from keeping Problems open
    Retire {
        /// The builder
        name: String,
    },
    /// Undo `retire`
    Unretire {
        /// The builder
        name: String,
    },
}

#[derive(Serialize)]
struct BuilderView {
    builder: String,
    retired: bool,
    builds: usize,
    latest: Option<Latest>,
    open_problems: usize,
}

#[derive(Serialize)]
struct Latest {
    build: i64,
    branch: Option<String>,
    revision: Option<String>,
    time: String,
    result: Option<String>,
    counts: Counts,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    if let Some(action) = args.action {
        let (name, retire) = match &action {
            Action::Retire { name } => (name, true),
            Action::Unretire { name } => (name, false),
        };
        let mut store = ctx.open(OpenMode::Existing)?;
        store.begin_write()?;
        let outcome = (|| -> Result<()> {
            let at = retire.then(|| clock::to_micros(clock::now()));
            if !store.retire_builder(name, at)? {
                return Err(Error::bad_input(format!("there is no builder `{name}`"))
                    .hint("`probtrack builders` lists them"));
            }
            problems::reanalyze(store.as_mut())?;
            Ok(())
        })();
        match outcome {
            Ok(()) => store.commit()?,
            Err(e) => {
                let _ = store.rollback();
                return Err(e);
            }
        }
        ctx.out.line(&format!(
            "{} {}",
            if retire { "retired" } else { "unretired" },
            safe(name.as_bytes())
        ))?;
        return Ok(0);
    }
    let mut store = ctx.open(OpenMode::Existing)?;
    let retired = store.retired_builders()?;
    let open = store.problems(&ProblemFilter {
        open: Some(true),
        intermittent: Some(false),
        ..ProblemFilter::default()
    })?;
    let mut names: Vec<String> = store.lanes()?.into_iter().map(|l| l.builder).collect();
    names.sort();
    names.dedup();
    let mut view = Vec::new();
    for name in names {
        let builds = store.recent_builds(&BuildFilter {
            builder: Some(name.clone()),
            branch: None,
            limit: usize::MAX >> 1,
        })?;
        let latest = builds
            .iter()
            .max_by_key(|b| (b.time, b.number))
            .map(|b| Latest {
                build: b.number,
                branch: b.branch.clone(),
                revision: b.revision.clone(),
                time: clock::rfc3339(b.time),
                result: b.result.clone(),
                counts: b.counts,
            });
        view.push(BuilderView {
            retired: retired.contains(&name),
            builds: builds.len(),
            latest,
            open_problems: open
                .iter()
                .filter(|p| p.builders.iter().any(|b| b.builder == name))
                .count(),
            builder: name,
        });
    }
    match args.format {
        OutputFormat::Json => ctx.out.json(&view)?,
        OutputFormat::Csv => ctx.out.csv(&view)?,
        OutputFormat::Table => {
            let rows = view
                .iter()
                .map(|b| {
                    let latest = b.latest.as_ref();
                    vec![
                        safe(b.builder.as_bytes()).into(),
                        (if b.retired { "retired" } else { "" }).into(),
                        b.builds.into(),
                        latest
                            .map(|l| l.build.to_string())
                            .unwrap_or_default()
                            .into(),
                        latest.map(|l| l.time.clone()).unwrap_or_default().into(),
                        latest
                            .map(|l| (l.counts.failed + l.counts.error).to_string())
                            .unwrap_or_default()
                            .into(),
                        b.open_problems.into(),
                    ]
                })
                .collect();
            ctx.out.table(
                &[
                    "builder",
                    "",
                    "builds",
                    "latest",
                    "time",
                    "failing",
                    "open Problems",
                ],
                rows,
            )?;
        }
    }
    Ok(0)
}
