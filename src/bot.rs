//! `probtrack bot`: sits in chat rooms and answers the questions addressed to it (`since TEST`,
//! `problems`, `flaky`, `show N`, `who`, `help`) from the database, through the same library
//! functions the commands call. It only reads. A [`Room`] is one protocol's transport (IRC:
//! `chat::irc::IrcRoom`); [`run`] serves rooms until it is told to stop.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::analyze::flaky::{Options, THRESHOLD};
use crate::chat::Protocol;
use crate::error::Result;
use crate::flakiness::{self, Ranking, MIN_RUNS};
use crate::settings::Settings;
use crate::store::Store;
use crate::triage::{self, Listing};
use crate::views::problems::ProblemView;

/// How many items a listing answer shows.
const SHOWN: usize = 5;

/// A line addressed to the bot.
#[derive(Clone, Debug)]
pub(crate) struct Question {
    /// Where the answer goes: the channel or room, or the asker for a direct message.
    pub room: String,
    /// Who asked (their nick or handle).
    pub asker: String,
    /// The question, without the bot's name.
    pub text: String,
    /// A direct (private) message rather than one in a room.
    pub direct: bool,
    /// The protocol's id of the message that asked, where it has one (Matrix: the event the
    /// answer replies to).
    pub id: Option<String>,
}

/// One protocol's way into its rooms.
pub(crate) trait Room {
    /// The server, as warnings name it.
    fn name(&self) -> String;
    /// Its protocol: answers name people by their handle there.
    fn protocol(&self) -> Protocol;
    /// Connects and joins the rooms (again, after a lost connection).
    fn connect(&mut self) -> std::result::Result<(), String>;
    /// The next question addressed to the bot, or `None` after `wait`. An `Err` means the
    /// connection is lost: [`Room::connect`] again.
    fn next(&mut self, wait: Duration) -> std::result::Result<Option<Question>, String>;
    /// Answers `to`, a line each (in a room, addressed to the asker). The room makes the text
    /// inert in its protocol: answers quote test names and messages from reports.
    fn reply(&mut self, to: &Question, lines: &[String]) -> std::result::Result<(), String>;
    /// Leaves the rooms and disconnects.
    fn leave(&mut self);
}

/// What the bot answers with.
pub(crate) struct Answers<'a> {
    pub settings: &'a Settings,
    /// The branch its answers are about (`--branch`, else the settings' `default_branch`).
    pub branch: Option<String>,
}

impl Answers<'_> {
    fn page(&self, id: i64) -> Option<String> {
        let url = self
            .settings
            .notify
            .report_url
            .as_deref()
            .or(self.settings.report_url.as_deref())?;
        Some(format!("{}/problem-{id}.html", url.trim_end_matches('/')))
    }

    /// The answer to `question`, asked over `protocol`, a few short lines.
    pub(crate) fn answer(
        &self,
        store: &mut dyn Store,
        question: &str,
        protocol: Protocol,
    ) -> Vec<String> {
        let question = question.trim();
        let (word, rest) = question.split_once(' ').unwrap_or((question, ""));
        let rest = rest.trim();
        let answer = match word.to_ascii_lowercase().as_str() {
            "since" if !rest.is_empty() => self.since(store, rest),
            "problems" => self.problems(store),
            "flaky" => self.flaky(store),
            "show" => match rest.trim_start_matches('#').parse::<i64>() {
                Ok(id) => self.show(store, id),
                Err(_) => return vec!["show needs a Problem id: show 12".to_owned()],
            },
            "who" => self.who(store, protocol),
            "help" | "" => return help(),
            "since" => return vec!["since needs a test: since test_name".to_owned()],
            _ => {
                return vec![format!(
                    "I don't know `{}`. {}",
                    shorten(word, 40),
                    help()[0]
                )]
            }
        };
        answer.unwrap_or_else(|e| match &e.candidates {
            Some(candidates) => {
                let mut line = format!("`{}` matches several tests: ", shorten(rest, 80));
                line += &candidates
                    .iter()
                    .take(SHOWN)
                    .map(|c| shorten(c, 120))
                    .collect::<Vec<_>>()
                    .join(", ");
                if candidates.len() > SHOWN {
                    line += &format!(" and {} more", candidates.len() - SHOWN);
                }
                vec![line]
            }
            None => vec![shorten(e.message.lines().next().unwrap_or_default(), 300)],
        })
    }

    fn since(&self, store: &mut dyn Store, test: &str) -> Result<Vec<String>> {
        let view = crate::since::since(store, test, self.branch.clone())?;
        let name = shorten(&view.test, 200);
        let mut out = Vec::new();
        if view.failing {
            let b = &view.builders[0];
            let others = view.builders.len() - 1;
            out.push(format!(
                "{name} has failed since {} #{} ({}){}; started by {}",
                b.builder,
                b.since_build,
                b.since_time,
                if others > 0 {
                    format!(" and on {others} more builder(s)")
                } else {
                    String::new()
                },
                authors(&view.started_by)
            ));
        } else if let Some(build) = view.fixed_build {
            out.push(format!(
                "{name} passes: fixed in {} #{build} by {}",
                view.fixed_builder.as_deref().unwrap_or("?"),
                authors(&view.fixed_by)
            ));
        } else {
            out.push(format!("{name} passes"));
        }
        if let Some(id) = view.problem {
            out.push(match self.page(id) {
                Some(url) => format!("Problem {id}: {url}"),
                None => format!("Problem {id}"),
            });
        }
        Ok(out)
    }

    fn problems(&self, store: &mut dyn Store) -> Result<Vec<String>> {
        let open = triage::list(
            store,
            self.settings,
            &Listing {
                open: Some(true),
                intermittent: false,
                branch: self.branch.clone(),
                builder: None,
                user: None,
                kind: None,
                limit: None,
            },
        )?;
        if open.is_empty() {
            return Ok(vec!["no open Problems".to_owned()]);
        }
        let mut out = vec![format!(
            "{} open Problem{}{}:",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            if open.len() > SHOWN {
                format!(", the {SHOWN} most recent")
            } else {
                String::new()
            }
        )];
        out.extend(open.iter().take(SHOWN).map(|p| self.one_line(p)));
        Ok(out)
    }

    fn one_line(&self, p: &ProblemView) -> String {
        let mut line = format!(
            "Problem {}: {} ({}, since {} #{}{})",
            p.id,
            shorten(&p.test, 160),
            p.state,
            p.first_failure.builder,
            p.first_failure.build,
            if p.responsible.is_empty() {
                String::new()
            } else {
                format!("; on the hook: {}", p.responsible.join(", "))
            }
        );
        if let Some(url) = self.page(p.id) {
            line += &format!(" {url}");
        }
        line
    }

    fn flaky(&self, store: &mut dyn Store) -> Result<Vec<String>> {
        let ranked = flakiness::list(
            store,
            self.branch.as_deref(),
            None,
            &Options::default(),
            &Ranking {
                min_runs: MIN_RUNS,
                min_score: THRESHOLD,
                limit: Some(SHOWN),
            },
        )?;
        if ranked.is_empty() {
            return Ok(vec!["no flaky tests".to_owned()]);
        }
        let mut out = vec!["the most flaky tests:".to_owned()];
        out.extend(ranked.iter().map(|f| {
            format!(
                "{} (score {:.2}, {} failures in {} runs)",
                shorten(&f.test, 160),
                f.score,
                f.failures,
                f.runs
            )
        }));
        Ok(out)
    }

    fn show(&self, store: &mut dyn Store, id: i64) -> Result<Vec<String>> {
        let view = crate::story::show(store, self.settings, id)?;
        let p = &view.problem;
        let mut out = vec![self.one_line(p)];
        if let Some(message) = &p.message {
            out.push(format!("message: {}", shorten(message, 200)));
        }
        if !p.started_by.is_empty() {
            out.push(format!("started by {}", authors(&p.started_by)));
        }
        if let Some(fixed) = &p.fixed {
            out.push(format!(
                "fixed in {} #{}{}",
                fixed.builder,
                fixed.build,
                if p.fixed_by.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", authors(&p.fixed_by))
                }
            ));
        }
        Ok(out)
    }

    fn who(&self, store: &mut dyn Store, protocol: Protocol) -> Result<Vec<String>> {
        let users = crate::people::users(store, self.settings, self.branch.clone(), false)?;
        let on_hook: Vec<_> = users
            .iter()
            .filter(|u| !u.open_problems.is_empty())
            .collect();
        if on_hook.is_empty() {
            return Ok(vec!["no one is on the hook: no open Problems".to_owned()]);
        }
        let mut out: Vec<String> = on_hook
            .iter()
            .take(SHOWN)
            .map(|u| {
                format!(
                    "{}{}: Problem{} {}",
                    u.user,
                    u.handles
                        .get(protocol)
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default(),
                    if u.open_problems.len() == 1 { "" } else { "s" },
                    u.open_problems
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        if on_hook.len() > SHOWN {
            out.push(format!("and {} more", on_hook.len() - SHOWN));
        }
        Ok(out)
    }
}

fn help() -> Vec<String> {
    vec![
        "Ask me: since TEST, problems, flaky, show N, who, help.".to_owned(),
        "I read the probtrack database and change nothing.".to_owned(),
    ]
}

fn authors(changes: &[crate::views::ChangeView]) -> String {
    if changes.is_empty() {
        return "no recorded change".to_owned();
    }
    let mut names: Vec<&str> = changes
        .iter()
        .map(|c| c.author.as_deref().map_or("?", crate::report::short_author))
        .collect();
    names.dedup();
    names.join(", ")
}

/// The question in `text` when it starts with `nick` and `:`, `,` or a space (as chat clients
/// address someone in a room).
pub(crate) fn addressed<'t>(text: &'t str, nick: &str) -> Option<&'t str> {
    let head = text.get(..nick.len())?;
    if !head.eq_ignore_ascii_case(nick) {
        return None;
    }
    let rest = &text[nick.len()..];
    let rest = rest
        .strip_prefix([':', ','])
        .or_else(|| rest.starts_with(' ').then_some(rest))?;
    Some(rest.trim())
}

/// At most `max` characters, with `…` where cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    text.chars().take(max - 1).collect::<String>() + "…"
}

/// How many answers one asker gets in any minute unless `[bot] answers_per_asker` says: another
/// bot that answers the answers (or someone who repeats a question) takes only that much of the
/// budget.
const PER_ASKER: u32 = 3;

/// At most `per_minute` answers in any minute, over all rooms, and at most `per_asker` to one
/// asker.
struct RateLimit {
    per_minute: u32,
    per_asker: u32,
    /// When each answer was given, and to whom (`protocol:asker`).
    given: Vec<(Instant, String)>,
}

impl RateLimit {
    fn allow(&mut self, asker: &str) -> bool {
        let now = Instant::now();
        self.given
            .retain(|(t, _)| now.duration_since(*t) < Duration::from_secs(60));
        if self.given.len() >= self.per_minute as usize
            || self.given.iter().filter(|(_, a)| a == asker).count() >= self.per_asker as usize
        {
            return false;
        }
        self.given.push((now, asker.to_owned()));
        true
    }
}

/// What a room is told when the database cannot be opened (the why goes to stderr).
const UNAVAILABLE: &str = "the database is unavailable right now; try again later";

/// Serves `rooms` until `stop` is set (SIGTERM): answers each question with a store from
/// `open` (opened per question, so that a restarted database server is no matter), reconnects a
/// room that lost its connection (waiting longer each time, up to a minute), and logs what it
/// does on `log`.
pub(crate) fn run(
    rooms: &mut [Box<dyn Room>],
    answers: &Answers<'_>,
    open: &dyn Fn() -> Result<Box<dyn Store>>,
    stop: &AtomicBool,
    log: &mut dyn Write,
) -> Result<()> {
    let mut limit = RateLimit {
        per_minute: answers.settings.bot.answers_per_minute.unwrap_or(10).max(1),
        per_asker: answers
            .settings
            .bot
            .answers_per_asker
            .unwrap_or(PER_ASKER)
            .max(1),
        given: Vec::new(),
    };
    let mut down: Vec<Option<(Instant, Duration)>> = rooms.iter().map(|_| None).collect();
    for (room, down) in rooms.iter_mut().zip(&mut down) {
        match room.connect() {
            Ok(()) => writeln!(log, "bot: in {}", room.name()).ok(),
            Err(e) => {
                *down = Some((
                    Instant::now() + Duration::from_secs(5),
                    Duration::from_secs(5),
                ));
                writeln!(log, "warning: bot: {e} (trying again)").ok()
            }
        };
    }
    let wait = Duration::from_millis(if rooms.len() > 1 { 200 } else { 500 });
    while !stop.load(Ordering::SeqCst) {
        for (room, down) in rooms.iter_mut().zip(&mut down) {
            if let Some((at, backoff)) = *down {
                if Instant::now() < at {
                    std::thread::sleep(wait);
                    continue;
                }
                match room.connect() {
                    Ok(()) => {
                        *down = None;
                        writeln!(log, "bot: in {} again", room.name()).ok();
                    }
                    Err(e) => {
                        let backoff = (backoff * 2).min(Duration::from_secs(60));
                        *down = Some((Instant::now() + backoff, backoff));
                        writeln!(log, "warning: bot: {e} (trying again)").ok();
                    }
                }
                continue;
            }
            let question = match room.next(wait) {
                Ok(Some(q)) => q,
                Ok(None) => continue,
                Err(e) => {
                    writeln!(log, "warning: bot: {e} (reconnecting)").ok();
                    *down = Some((
                        Instant::now() + Duration::from_secs(5),
                        Duration::from_secs(5),
                    ));
                    continue;
                }
            };
            let asker = format!("{}:{}", room.protocol().name(), question.asker);
            if !limit.allow(&asker) {
                writeln!(
                    log,
                    "bot: too many questions: {} not answered",
                    crate::report::safe(question.asker.as_bytes())
                )
                .ok();
                continue;
            }
            let lines = match open() {
                Ok(mut store) => answers.answer(store.as_mut(), &question.text, room.protocol()),
                Err(e) => {
                    // The detail (a host, a port, a database name) is for the operator only.
                    writeln!(
                        log,
                        "warning: bot: the database is unavailable: {}",
                        crate::report::safe(e.message.as_bytes())
                    )
                    .ok();
                    vec![UNAVAILABLE.to_owned()]
                }
            };
            writeln!(
                log,
                "bot: {} asked `{}`",
                crate::report::safe(question.asker.as_bytes()),
                crate::report::safe(question.text.as_bytes())
            )
            .ok();
            if let Err(e) = room.reply(&question, &lines) {
                writeln!(log, "warning: bot: {e} (reconnecting)").ok();
                *down = Some((
                    Instant::now() + Duration::from_secs(5),
                    Duration::from_secs(5),
                ));
            }
        }
    }
    for room in rooms.iter_mut() {
        room.leave();
    }
    writeln!(log, "bot: stopped").ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::addressed;

    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    /// A room that asks one question, keeps what it is told, and stops the bot then.
    struct OneQuestion {
        asked: bool,
        told: Arc<Mutex<Vec<String>>>,
        stop: Arc<AtomicBool>,
    }

    impl super::Room for OneQuestion {
        fn name(&self) -> String {
            "test room".to_owned()
        }
        fn protocol(&self) -> crate::chat::Protocol {
            crate::chat::Protocol::Irc
        }
        fn connect(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn next(&mut self, _: std::time::Duration) -> Result<Option<super::Question>, String> {
            let first = !std::mem::replace(&mut self.asked, true);
            Ok(first.then(|| super::Question {
                room: "#ci".to_owned(),
                asker: "ann".to_owned(),
                text: "problems".to_owned(),
                direct: false,
                id: None,
            }))
        }
        fn reply(&mut self, _: &super::Question, lines: &[String]) -> Result<(), String> {
            self.told.lock().unwrap().extend(lines.iter().cloned());
            self.stop.store(true, Ordering::SeqCst);
            Ok(())
        }
        fn leave(&mut self) {}
    }

    #[test]
    fn the_room_is_not_told_where_the_database_is() {
        let stop = Arc::new(AtomicBool::new(false));
        let told = Arc::new(Mutex::new(Vec::new()));
        let mut rooms: Vec<Box<dyn super::Room>> = vec![Box::new(OneQuestion {
            asked: false,
            told: Arc::clone(&told),
            stop: Arc::clone(&stop),
        })];
        let settings = crate::settings::Settings::default();
        let answers = super::Answers {
            settings: &settings,
            branch: None,
        };
        let detail = "cannot connect to postgres://ci@db.internal:5433/probtrack_prod";
        let open = || -> crate::error::Result<Box<dyn crate::store::Store>> {
            Err(crate::error::Error::database(detail))
        };
        let mut log = Vec::new();
        super::run(&mut rooms, &answers, &open, &stop, &mut log).unwrap();
        let log = String::from_utf8(log).unwrap();
        // The operator sees why; the room only that it failed.
        assert!(log.contains(detail), "{log}");
        let told = told.lock().unwrap().join("\n");
        assert_eq!(told, super::UNAVAILABLE);
        for secret in ["db.internal", "5433", "probtrack_prod", "ci@"] {
            assert!(!told.contains(secret), "{told}");
        }
    }

    #[test]
    fn one_asker_gets_a_few_answers_a_minute_and_the_rest_their_share() {
        let mut limit = super::RateLimit {
            per_minute: 10,
            per_asker: super::PER_ASKER,
            given: Vec::new(),
        };
        let other_bot: Vec<bool> = (0..5).map(|_| limit.allow("xmpp:bot2@x")).collect();
        assert_eq!(other_bot, [true, true, true, false, false]);
        // The same name on another protocol is another asker.
        assert!(limit.allow("irc:bot2@x"));
        let others: Vec<bool> = (0..10).map(|i| limit.allow(&format!("irc:p{i}"))).collect();
        assert_eq!(others.iter().filter(|a| **a).count(), 6);
    }

    #[test]
    fn a_question_is_addressed_by_the_nick_and_a_separator() {
        assert_eq!(
            addressed("probtrack: since t.x", "probtrack"),
            Some("since t.x")
        );
        assert_eq!(addressed("ProbTrack, help", "probtrack"), Some("help"));
        assert_eq!(addressed("probtrack help", "probtrack"), Some("help"));
        assert_eq!(addressed("probtracker help", "probtrack"), None);
        assert_eq!(addressed("pröb", "pr"), None);
    }
}
