//! `probtrack bot`: answer questions in chat rooms until stopped.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::bot::{self, Answers, Room};
use crate::chat::irc::{Config, IrcRoom};
use crate::cli::{BranchFlag, Context};
use crate::error::{Error, Result};
use crate::notify::Secrets;
use crate::store::OpenMode;

/// Sit in chat rooms and answer questions about the Problems, until stopped (SIGTERM)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack bot                      # runs until SIGTERM or Ctrl-C

In the channel, address it by its nick:
  probtrack: since test_login        probtrack: problems
  probtrack: show 12                 probtrack: flaky
  probtrack: who                     probtrack: help

The rooms are in the settings file's [bot.irc] table, else [notify.irc] (docs/notify.md); the
password comes from PROBTRACK_IRC_PASSWORD. The bot only reads the database; it answers at most
[bot] answers_per_minute questions a minute (default 10) and logs each on stderr.")]
pub(crate) struct Args {
    #[command(flatten)]
    branch: BranchFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let settings = &ctx.settings;
    let (irc, section) =
        match (&settings.bot.irc, &settings.notify.irc) {
            (Some(irc), _) => (irc, "[bot.irc]"),
            (None, Some(irc)) => (irc, "[notify.irc]"),
            (None, None) => return Err(Error::usage("the bot has no room to sit in").hint(
                "add a [bot.irc] table (server, channels) to the settings file (docs/notify.md)",
            )),
        };
    let secrets = Secrets::from_env();
    let config = Config::new(irc, secrets.irc_password.clone(), section)?;
    // Fail now, not at the first question, when there is no database.
    drop(ctx.open(OpenMode::Existing)?);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::usage(format!("cannot catch signals: {e}")))?;
    }
    let mut rooms: Vec<Box<dyn Room>> = vec![Box::new(IrcRoom::new(config))];
    let answers = Answers {
        settings,
        branch: args.branch.resolve(settings),
    };
    let db = ctx.db.clone();
    bot::run(
        &mut rooms,
        &answers,
        &|| crate::store::open(&db, OpenMode::Existing),
        &stop,
        ctx.err,
    )?;
    Ok(0)
}
