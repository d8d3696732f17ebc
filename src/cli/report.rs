//! `probtrack report --html DIR`: a static site for people (`site.rs` loads it, `report/html`
//! renders it).

use std::path::PathBuf;

use crate::cli::{BranchFlag, Context};
use crate::error::Result;
use crate::site;
use crate::store::OpenMode;

/// Write a static HTML site: open Problems, flaky tests, a grid per builder, a page per Problem and test
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack report --html site/
  probtrack report --html site/ --builds 50 --branch main
  probtrack report --html site/ --git .   # coverage pages with each file's source
  python3 -m http.server -d site/   # or open site/index.html in a browser

The site has no scripts and loads nothing from the network: every page is one self-contained file.
Pages: index.html (the overview), builder-<name>.html (a test grid per builder),
problem-<id>.html (a Problem's story), test-<hash>.html (a test's history), metrics.html, and with
coverage, coverage.html (each builder's latest coverage), coverage-<builder>.html (its files; the
column headers link to the same table in other orders) and a page per file with its lines marked
(its source with --git). A page over 2 MB is cut into parts. Files of an earlier run are
overwritten where their content changed (an unchanged page keeps its file), other files in DIR
are left alone.")]
pub(crate) struct Args {
    /// Write the site into this directory (created when missing)
    #[arg(long, value_name = "DIR", required = true)]
    html: PathBuf,
    #[command(flatten)]
    branch: BranchFlag,
    /// Builds per builder in the grids and test histories, newest first
    #[arg(long, default_value_t = 30, value_name = "N")]
    builds: usize,
    /// The git repository the builds built: the coverage pages show each file's source at its
    /// build's revision, and classify lines with the diff between two builds' revisions
    #[arg(long, value_name = "DIR")]
    git: Option<PathBuf>,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let branch = args.branch.resolve(&ctx.settings);
    let (pages, written) = site::write(
        store.as_mut(),
        &ctx.settings,
        branch,
        args.builds,
        args.git.as_deref(),
        &args.html,
    )?;
    let dir = args.html.display();
    ctx.out.line(&if written == pages {
        format!("wrote {pages} pages to {dir}")
    } else {
        format!(
            "wrote {written} of {pages} pages to {dir} ({} unchanged, left as they were)",
            pages - written
        )
    })?;
    Ok(0)
}
