//! `probtrack completions SHELL` and `probtrack man`: generated from the command definitions.

use crate::cli::{whole, Context};
use crate::error::{Error, Result};

/// Print a shell completion script
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack completions bash > ~/.local/share/bash-completion/completions/probtrack
  probtrack completions zsh > \"${fpath[1]}/_probtrack\"
  probtrack completions fish > ~/.config/fish/completions/probtrack.fish")]
pub(crate) struct Args {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut command = whole();
    clap_complete::generate(args.shell, &mut command, "probtrack", &mut ctx.out.writer);
    Ok(0)
}

/// Print the manual page (roff)
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  probtrack man > probtrack.1 && man ./probtrack.1")]
pub(crate) struct ManArgs {}

pub(super) fn exec_man(_args: ManArgs, ctx: &mut Context<'_>) -> Result<u8> {
    let command = whole();
    clap_mangen::Man::new(command)
        .render(&mut ctx.out.writer)
        .map_err(|e| Error::usage(format!("cannot write the manual page: {e}")).with_io(e))?;
    Ok(0)
}
