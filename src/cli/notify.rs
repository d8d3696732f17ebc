//! `probtrack notify`: tell the responsible people what opened, was fixed or turned intermittent.

use serde::Serialize;

use crate::cli::Context;
use crate::clock;
use crate::error::{Error, Result};
use crate::notify::{self, Recipient, Sent, Smtp, BASELINE, EMAIL, WEBHOOK};
use crate::report::{lossy, safe, OutputFormat};
use crate::store::{OpenMode, ProblemFilter};
use crate::views::problems::LinkView;

/// Tell the responsible people which Problems opened, were fixed or turned intermittent
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  probtrack notify --mark-all-sent   # once, on an existing history: announce nothing old
  probtrack notify --dry-run         # print the messages; send and record nothing
  probtrack notify                   # send (run it after each ingest, or from cron)

Targets are in the settings file's [notify] table (docs/settings.md): `webhook` (Slack, Mattermost,
Matrix hookshot) and/or `smtp_server` + `smtp_from` (e-mail to the authors of the suspect changes,
through the users map). Every send is recorded: nothing is announced twice, and a send that fails is
retried by the next run (the run warns and exits 0).")]
pub struct Args {
    /// Print the messages that are due; send and record nothing
    #[arg(long)]
    dry_run: bool,
    /// Record everything due now as announced, without sending: the baseline for a first run
    #[arg(long, conflicts_with = "dry_run")]
    mark_all_sent: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct Delivery {
    problem: i64,
    test: String,
    branch: Option<String>,
    /// `webhook` or `email`.
    target: &'static str,
    events: Vec<&'static str>,
    recipients: Vec<Recipient>,
    subject: String,
    text: String,
    /// `sent`, `failed` or `dry-run`.
    status: &'static str,
    error: Option<String>,
}

#[derive(Serialize)]
struct Baseline {
    baseline: String,
    marked: usize,
}

pub fn exec(args: Args, ctx: &mut Context<'_>) -> Result<u8> {
    let mut store = ctx.open(OpenMode::Existing)?;
    let problems = store.problems(&ProblemFilter::default())?;
    let sent = Sent::new(&store.notifications()?);
    let now = clock::to_micros(clock::now());

    if args.mark_all_sent {
        store.begin_write()?;
        let mut marked = 0;
        let outcome = (|| -> Result<()> {
            for p in &problems {
                for event in notify::due(p, &sent, BASELINE) {
                    store.record_notification(p.id, event, BASELINE, Some(now), None)?;
                    marked += 1;
                }
            }
            store.set_notify_baseline(now)
        })();
        if let Err(e) = outcome {
            let _ = store.rollback();
            return Err(e);
        }
        store.commit()?;
        let view = Baseline {
            baseline: clock::rfc3339(now),
            marked,
        };
        match args.format {
            OutputFormat::Json => ctx.out.json(&view)?,
            OutputFormat::Csv => ctx.out.csv(&[&view])?,
            OutputFormat::Table => ctx.out.line(&format!(
                "marked {marked} announcements as sent; from now on notify announces what changes"
            ))?,
        }
        return Ok(0);
    }

    let settings = ctx.settings.notify.clone();
    let smtp = match &settings.smtp_server {
        Some(server) => Some(Smtp {
            server: server.clone(),
            port: settings.smtp_port,
            security: settings
                .smtp_security
                .clone()
                .unwrap_or_else(|| "starttls".to_owned()),
            user: settings.smtp_user.clone(),
            password: std::env::var("PROBTRACK_SMTP_PASSWORD").ok(),
            from: settings.smtp_from.clone().ok_or_else(|| {
                Error::usage("[notify] smtp_server is set but smtp_from is not")
                    .hint("add smtp_from = \"probtrack <ci@example.org>\" (docs/settings.md)")
            })?,
        }),
        None => None,
    };
    if let Some(security) = &settings.smtp_security {
        if !["starttls", "tls", "none"].contains(&security.as_str()) {
            return Err(Error::usage(format!(
                "[notify] smtp_security `{security}`: expected starttls, tls or none"
            )));
        }
    }
    let mut targets: Vec<&'static str> = Vec::new();
    if settings.webhook.is_some() {
        targets.push(WEBHOOK);
    }
    if smtp.is_some() {
        targets.push(EMAIL);
    }
    if !args.dry_run {
        if store.notify_baseline()?.is_none() {
            return Err(Error::usage(
                "notify has no baseline yet: it would announce the whole history",
            )
            .hint("run `probtrack notify --mark-all-sent` once to announce only what changes from now on")
            .hint("`probtrack notify --dry-run` shows what would be sent"));
        }
        if targets.is_empty() {
            return Err(Error::usage("notify has nowhere to send")
                .hint("set `webhook` or `smtp_server` and `smtp_from` in [notify] of the settings file (docs/settings.md)"));
        }
    } else if targets.is_empty() {
        // Show what a webhook would get.
        targets.push(WEBHOOK);
    }
    let report_url = settings
        .report_url
        .clone()
        .or_else(|| ctx.settings.report_url.clone());

    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut ordered: Vec<&crate::store::ProblemRecord> = problems.iter().collect();
    ordered.sort_by_key(|p| p.id);
    for p in ordered {
        let recipients = notify::recipients(&ctx.settings, p);
        let mut annotated = false;
        let mut links: Vec<LinkView> = Vec::new();
        let mut earlier = Vec::new();
        for &target in &targets {
            let events = notify::due(p, &sent, target);
            if events.is_empty() {
                continue;
            }
            let emails: Vec<String> = recipients.iter().filter_map(|r| r.email.clone()).collect();
            if target == EMAIL && emails.is_empty() {
                continue;
            }
            if !annotated {
                links = store
                    .links(&[p.id])?
                    .remove(&p.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| LinkView {
                        url: l.url,
                        state: if l.open { "open" } else { "closed" },
                        time: clock::rfc3339(l.added_at),
                    })
                    .collect();
                earlier = crate::triage::earlier_links(store.as_mut(), p)?;
                annotated = true;
            }
            let (subject, text) = notify::compose(&notify::Content {
                problem: p,
                events: &events,
                recipients: &recipients,
                links: &links,
                earlier_links: &earlier,
                report_url: report_url.as_deref(),
            });
            let (status, error) = if args.dry_run {
                ("dry-run", None)
            } else {
                let outcome = match (target, &settings.webhook, &smtp) {
                    (WEBHOOK, Some(url), _) => notify::post_webhook(url, &text),
                    (_, _, Some(smtp)) => notify::send_email(smtp, &emails, &subject, &text),
                    _ => Err("no such target".to_owned()),
                };
                let at = clock::to_micros(clock::now());
                for event in &events {
                    store.record_notification(
                        p.id,
                        event,
                        target,
                        outcome.is_ok().then_some(at),
                        outcome.as_ref().err().map(String::as_str),
                    )?;
                }
                match outcome {
                    Ok(()) => ("sent", None),
                    Err(e) => {
                        writeln!(
                            ctx.err,
                            "warning: Problem {}: sending to the {target} failed (retried next run): {}",
                            p.id,
                            safe(e.as_bytes())
                        )
                        .ok();
                        ("failed", Some(e))
                    }
                }
            };
            deliveries.push(Delivery {
                problem: p.id,
                test: lossy(&p.test_name),
                branch: p.branch.clone(),
                target,
                events,
                recipients: recipients.clone(),
                subject,
                text,
                status,
                error,
            });
        }
    }
    if args.dry_run && store.notify_baseline()?.is_none() {
        writeln!(
            ctx.err,
            "warning: no baseline yet: `probtrack notify --mark-all-sent` records the history as announced"
        )
        .ok();
    }
    match args.format {
        OutputFormat::Json => ctx.out.json(&deliveries)?,
        OutputFormat::Csv => ctx.out.csv(&deliveries)?,
        OutputFormat::Table => {
            if deliveries.is_empty() {
                ctx.out.line("nothing to announce")?;
            }
            for d in &deliveries {
                let head = match d.status {
                    "dry-run" => format!("--- to the {} (not sent): {}", d.target, d.subject),
                    "sent" => format!("sent to the {}: {}", d.target, d.subject),
                    _ => format!("FAILED to the {}: {}", d.target, d.subject),
                };
                ctx.out.line(&safe(head.as_bytes()))?;
                if d.status == "dry-run" {
                    for line in d.text.lines() {
                        ctx.out.line(&safe(line.as_bytes()))?;
                    }
                }
            }
        }
    }
    Ok(0)
}
