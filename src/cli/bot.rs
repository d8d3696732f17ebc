//! `probtrack bot`: answer questions in chat rooms until stopped.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::bot::{self, Answers, Room};
use crate::chat::destinations;
use crate::chat::irc::{Config, IrcRoom};
use crate::chat::matrix::MatrixRoom;
use crate::chat::xmpp::XmppRoom;
use crate::cli::{BranchFlag, Context};
use crate::error::{Error, Result};
use crate::notify::Secrets;
use crate::settings::IrcSettings;
use crate::store::OpenMode;

/// Sit in chat rooms and answer questions about the Problems, until stopped (SIGTERM)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack bot                      # runs until SIGTERM or Ctrl-C

In a room, address it by its nick (on Matrix: its user id, local part or display name):
  probtrack: since test_login        probtrack: problems
  probtrack: show 12                 probtrack: flaky
  probtrack: who                     probtrack: help
On IRC and XMPP a direct message needs no nick.

Where it sits, each from the settings file (docs/notify.md), the bot's table else notify's:
  IRC     [bot.irc] else [notify.irc]        password from PROBTRACK_IRC_PASSWORD
  XMPP    [bot.xmpp] else [notify.xmpp]      password from PROBTRACK_XMPP_PASSWORD
  Matrix  [bot.matrix] else [notify.matrix]  access token from PROBTRACK_MATRIX_TOKEN
The bot only reads the database; it answers at most [bot] answers_per_minute questions a
minute over all rooms (default 10), at most [bot] answers_per_asker to one asker (default 3),
and logs each on stderr.")]
pub(crate) struct Args {
    #[command(flatten)]
    branch: BranchFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let settings = &ctx.settings;
    let secrets = Secrets::from_env();
    // Each protocol's table: the bot's own, else notify's.
    let mut rooms: Vec<Box<dyn Room>> = Vec::new();
    match (&settings.bot.irc, &settings.notify.irc) {
        (Some(irc), _) => rooms.push(irc_room(irc, &secrets, "[bot.irc]")?),
        (None, Some(irc)) => rooms.push(irc_room(irc, &secrets, "[notify.irc]")?),
        (None, None) => {}
    }
    let xmpp = (settings.bot.xmpp.as_ref().map(|x| (x, "[bot.xmpp]"))).or(settings
        .notify
        .xmpp
        .as_ref()
        .map(|x| (x, "[notify.xmpp]")));
    match xmpp {
        // notify's table may tell people directly only: the bot would answer anyone's direct
        // messages on an account set up to send, not to sit.
        Some((x, "[notify.xmpp]")) if x.rooms.is_empty() => {}
        Some((x, section)) => {
            let account = destinations::xmpp_account(x, section, &secrets)?;
            rooms.push(Box::new(XmppRoom::new(account, x.rooms.clone())));
        }
        None => {}
    }
    let matrix = (settings.bot.matrix.as_ref().map(|m| (m, "[bot.matrix]"))).or(settings
        .notify
        .matrix
        .as_ref()
        .map(|m| (m, "[notify.matrix]")));
    match matrix {
        // notify's table may tell people in direct rooms only: nothing for the bot there.
        Some((m, "[notify.matrix]")) if m.rooms.is_empty() => {}
        Some((m, section)) if m.rooms.is_empty() => {
            return Err(Error::usage(format!(
                "{section} has no rooms for the bot to sit in"
            )))
        }
        Some((m, section)) => {
            let server = destinations::matrix_server(m, section, &secrets)?;
            rooms.push(Box::new(MatrixRoom::new(server, m.rooms.clone())));
        }
        None => {}
    }
    if rooms.is_empty() {
        return Err(Error::usage("the bot has no room to sit in").hint(
            "add a [bot.irc], [bot.xmpp] or [bot.matrix] table to the settings file \
             (docs/notify.md)",
        ));
    }
    // Fail now, not at the first question, when there is no database.
    drop(ctx.open(OpenMode::Existing)?);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::usage(format!("cannot catch signals: {e}")))?;
    }
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

fn irc_room(irc: &IrcSettings, secrets: &Secrets, section: &str) -> Result<Box<dyn Room>> {
    let config = Config::new(irc, secrets.irc_password.clone(), section)?;
    Ok(Box::new(IrcRoom::new(config)))
}
