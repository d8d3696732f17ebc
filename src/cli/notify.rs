//! `probtrack notify`: tell the responsible people what opened, was fixed or turned intermittent.

use crate::cli::{Context, FormatFlag};
use crate::error::Result;
use crate::notify;
use crate::report::{safe, Out};
use crate::store::OpenMode;
use crate::views::notify::{Delivery, Digest};

/// Tell the responsible people which Problems opened, were fixed or turned intermittent
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack notify --mark-all-sent   # once, on an existing history: announce nothing old
  probtrack notify --dry-run         # print the messages; send and record nothing
  probtrack notify                   # send (run it after each ingest, or from cron)
  probtrack notify --digest          # each person: their open Problems, once a day at most

Targets are in the settings file's [notify] table (docs/settings.md): `webhook` (Slack, Mattermost,
Matrix hookshot) and/or `smtp_server` + `smtp_from` (e-mail to the authors of the suspect changes,
through the users map), and chat: [notify.xmpp], [notify.matrix], [notify.zulip], [notify.discord]
(docs/notify.md; secrets from PROBTRACK_XMPP_PASSWORD, PROBTRACK_MATRIX_TOKEN,
PROBTRACK_ZULIP_API_KEY, PROBTRACK_DISCORD_WEBHOOK). Every send is recorded: nothing is announced
twice, and a send that fails is retried by the next run (the run warns and exits 0).")]
pub(crate) struct Args {
    /// Print the messages that are due; send and record nothing
    #[arg(long)]
    dry_run: bool,
    /// Record everything due now as announced, without sending: the baseline for a first run
    #[arg(long, conflicts_with = "dry_run")]
    mark_all_sent: bool,
    /// Send each person the open Problems they are on the hook for, directly where a handle
    /// allows (XMPP, Matrix), else by e-mail; at most once per `digest_hours`
    #[arg(long, conflicts_with = "mark_all_sent")]
    digest: bool,
    #[command(flatten)]
    output: FormatFlag,
}

pub(super) fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    if args.mark_all_sent {
        let view = notify::mark_all_sent(store.as_mut())?;
        ctx.out.view(args.output.format, &view, |out, view| {
            out.line(&format!(
                "marked {} announcements as sent; from now on notify announces what changes",
                view.marked
            ))
        })?;
        return Ok(0);
    }
    let secrets = notify::Secrets::from_env();
    if args.digest {
        let view = notify::digest(store.as_mut(), &ctx.settings, &secrets, args.dry_run)?;
        for d in view
            .iter()
            .filter(|d| d.status != "sent" && d.status != "dry-run")
        {
            writeln!(
                ctx.err,
                "warning: the digest to {} {}: {}",
                safe(d.person.as_bytes()),
                match d.target {
                    Some(target) => format!("by {target} failed (retried next run)"),
                    None => "cannot be sent".to_owned(),
                },
                safe(d.error.as_deref().unwrap_or_default().as_bytes())
            )
            .ok();
        }
        ctx.out.view(args.output.format, &view[..], digests)?;
        return Ok(0);
    }
    let announced = notify::run(store.as_mut(), &ctx.settings, &secrets, args.dry_run)?;
    for d in announced.deliveries.iter().filter(|d| d.status == "failed") {
        writeln!(
            ctx.err,
            "warning: Problem {}: sending to the {} failed (retried next run): {}",
            d.problem,
            d.target,
            safe(d.error.as_deref().unwrap_or_default().as_bytes())
        )
        .ok();
    }
    if announced.no_baseline {
        writeln!(
            ctx.err,
            "warning: no baseline yet: `probtrack notify --mark-all-sent` records the history as announced"
        )
        .ok();
    }
    let view = announced.deliveries;
    ctx.out.view(args.output.format, &view[..], table)?;
    Ok(0)
}

fn table(out: &mut Out<'_>, view: &[Delivery]) -> Result<()> {
    if view.is_empty() {
        out.line("nothing to announce")?;
    }
    for d in view {
        let head = match d.status {
            "dry-run" => format!("--- to the {} (not sent): {}", d.target, d.subject),
            "sent" => format!("sent to the {}: {}", d.target, d.subject),
            _ => format!("FAILED to the {}: {}", d.target, d.subject),
        };
        out.line(&safe(head.as_bytes()))?;
        if d.status == "dry-run" {
            for line in d.text.lines() {
                out.line(&safe(line.as_bytes()))?;
            }
        }
    }
    Ok(())
}

fn digests(out: &mut Out<'_>, view: &[Digest]) -> Result<()> {
    if view.is_empty() {
        out.line("no digest is due")?;
    }
    for d in view {
        let target = d.target.unwrap_or("nowhere");
        let head = match d.status {
            "dry-run" => format!("--- to {} by {target} (not sent): {}", d.person, d.subject),
            "sent" => format!("sent to {} by {target}: {}", d.person, d.subject),
            "unreachable" => format!("NOT SENT to {}: {}", d.person, d.subject),
            _ => format!("FAILED to {} by {target}: {}", d.person, d.subject),
        };
        out.line(&safe(head.as_bytes()))?;
        if d.status == "dry-run" {
            for line in d.text.lines() {
                out.line(&safe(line.as_bytes()))?;
            }
        }
    }
    Ok(())
}
