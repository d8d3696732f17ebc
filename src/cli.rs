//! The command line: clap definitions, settings resolution, and dispatch. The only module that
//! reads arguments or the environment; each command lives in `cli/<command>.rs` as an `Args` struct
//! and an `exec` that calls the library.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::error::{Error, ErrorKind, Result};
use crate::plugin::Produces;
use crate::report::{Out, OutputFormat};
use crate::session::{Kept, Opened};
use crate::settings::Settings;
use crate::store::{Location, OpenMode};
use crate::views::candidates::Candidates;

mod bot;
mod builders;
mod builds;
mod clusters;
mod completions;
mod copy;
mod coverage;
mod delete_build;
mod flaky;
mod history;
mod import;
mod ingest;
mod link;
mod mark_bad;
mod metrics;
mod notify;
mod parse;
mod parsers;
mod problems;
mod prune;
mod reanalyze;
mod rename;
mod report;
mod show;
mod since;
mod users;

const ABOUT: &str =
    "Find the Problems in your CI history: which tests fail, since when, whose change \
did it, and which tests are flaky";

const AFTER_HELP: &str = "\
Examples:
  probtrack ingest --builder linux --build 42 --revision 3f2a9c1 --git . reports/*.xml
  probtrack builds
  probtrack history tests.test_api.TestLogin.test_expired_token

The database is --db, else $PROBTRACK_DB, else `db` in probtrack.toml, else ./probtrack.db.
Exit codes: 0 success, 1 gate failed, 2 usage error, 3 bad input, 4 database error.";

#[derive(Debug, Parser)]
#[command(name = "probtrack", version, about = ABOUT, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The database: a path, sqlite:PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB [default: probtrack.db]
    #[arg(long, global = true, env = "PROBTRACK_DB", value_name = "PATH")]
    pub db: Option<String>,

    /// The settings file [default: ./probtrack.toml when present]
    #[arg(long, global = true, env = "PROBTRACK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// When to colour output (NO_COLOR turns `auto` off)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The commands, listed once for the two trees clap builds of them: [`Command`]'s to parse, and
/// [`whole`]'s for what clap prints.
macro_rules! commands {
    ($($variant:ident($args:ty),)*) => {
        // Parsed with only the given command's arguments built (`defer`): building every
        // command's was a tenth of a short command's instructions. (Not a doc comment: clap
        // would take it for the program's description.)
        #[derive(Debug, Subcommand)]
        #[command(defer = true)]
        pub(crate) enum Command {
            $($variant($args),)*
        }

        // `Command` built whole (see `whole`).
        #[derive(Subcommand)]
        enum Whole {
            $($variant($args),)*
        }
    };
}

commands! {
    Ingest(Box<ingest::Args>),
    Import(import::Args),
    Parse(parse::Args),
    Parsers(parsers::Args),
    Builds(builds::Args),
    History(history::Args),
    Problems(problems::Args),
    Flaky(flaky::Args),
    Since(since::Args),
    Show(show::Args),
    Users(users::Args),
    Builders(builders::Args),
    Reanalyze(reanalyze::Args),
    Report(report::Args),
    Prune(prune::Args),
    Copy(copy::Args),
    DeleteBuild(delete_build::Args),
    Completions(completions::Args),
    Man(completions::ManArgs),
    Clusters(clusters::Args),
    Notify(notify::Args),
    Bot(bot::Args),
    Link(link::LinkArgs),
    Note(link::NoteArgs),
    MarkBad(mark_bad::MarkArgs),
    UnmarkBad(mark_bad::UnmarkArgs),
    Rename(rename::Args),
    Metrics(metrics::Args),
    Coverage(coverage::Args),
    Metric(metrics::MetricArgs),
    Accept(metrics::AcceptArgs),
}

/// What every command gets: settings, where the database is, and where output goes.
pub(crate) struct Context<'a> {
    pub settings: Settings,
    pub db: Location,
    pub out: Out<'a>,
    /// Where progress and warnings go.
    pub err: &'a mut dyn Write,
    /// The store a [`Session`](crate::session::Session) keeps between commands.
    pub kept: Option<Kept>,
}

impl Context<'_> {
    /// The database, opened (or the one the session keeps open).
    pub(crate) fn open(&self, mode: OpenMode) -> Result<Opened> {
        Opened::open(&self.db, mode, self.kept.as_ref())
    }
}

/// The whole program: parses `args`, runs the command, prints any error, and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let stdout = std::io::stdout();
    let mut stdout = std::io::BufWriter::new(stdout.lock());
    run_in(args, None, None, &mut stdout, &mut std::io::stderr()).0
}

/// [`run`], writing to `stdout` and `stderr`, with the store kept by a
/// [`Session`](crate::session::Session) when there is one, and the session's parser (the
/// command-line definition, built once: building it was a tenth of a short command); also
/// whether the command failed on the database (exit 4), after which the store is not kept.
pub(crate) fn run_in<I, T>(
    args: I,
    kept: Option<&Kept>,
    parser: Option<&mut clap::Command>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> (ExitCode, bool)
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let parsed = match parser {
        Some(command) => parse(command, &args),
        None => parse(&mut Cli::command(), &args),
    }
    // What clap prints (help, the version, a usage error) comes from the whole tree.
    .or_else(|_| parse(&mut whole(), &args));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            let code = u8::try_from(error.exit_code()).unwrap_or(2);
            return (ExitCode::from(code), false);
        }
    };
    let outcome = execute(cli, kept, stdout, stderr).and_then(|code| {
        stdout
            .flush()
            .map_err(|e| Error::usage(format!("cannot write output: {e}")).with_io(e))?;
        Ok(code)
    });
    match outcome {
        Ok(code) => (ExitCode::from(code), false),
        Err(error) if error.broken_pipe => (ExitCode::SUCCESS, false),
        Err(error) => {
            let _ = writeln!(stderr, "{error}");
            let on_database = error.kind == ErrorKind::Database;
            (ExitCode::from(error.kind.exit_code()), on_database)
        }
    }
}

/// `args` parsed by `command` (the parser's tree, or the whole one).
fn parse(command: &mut clap::Command, args: &[OsString]) -> std::result::Result<Cli, clap::Error> {
    let mut matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(command))
}

/// The command-line definition built whole, for what clap prints: help, usage errors,
/// completions and the manual. [`Cli::command`], the parser's, builds a command's arguments only
/// when that command is given: clap would list the commands without their descriptions (a
/// command's `about` is among what is deferred), and give a command the global flags before its
/// own arguments, which completions list in that order.
pub(crate) fn whole() -> clap::Command {
    let built = Whole::augment_subcommands(clap::Command::new("probtrack"));
    let mut built = built.get_subcommands();
    Cli::command().mut_subcommands(|deferred| {
        let command = built.next().expect("the same commands, in the same order");
        debug_assert_eq!(command.get_name(), deferred.get_name());
        // Listed where the parser's tree lists it (after the global flags' places).
        (command.clone()).display_order(deferred.get_display_order())
    })
}

fn execute(
    cli: Cli,
    kept: Option<&Kept>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8> {
    let settings = Settings::load(cli.config.as_deref())?;
    crate::plugin::install(&settings.parsers)?;
    let db = match cli
        .db
        .as_deref()
        .filter(|d| !d.is_empty())
        .or(settings.db.as_deref())
    {
        Some(text) => Location::parse(text)?,
        None => Location::Sqlite(PathBuf::from("probtrack.db")),
    };
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let mut ctx = Context {
        settings,
        db,
        out: Out {
            writer: stdout,
            color,
        },
        err: stderr,
        kept: kept.cloned(),
    };
    match cli.command {
        Command::Ingest(args) => ingest::exec(*args, &mut ctx),
        Command::Import(args) => import::exec(args, &mut ctx),
        Command::Parse(args) => parse::exec(args, &mut ctx),
        Command::Parsers(args) => parsers::exec(args, &mut ctx),
        Command::Builds(args) => builds::exec(args, &mut ctx),
        Command::History(args) => history::exec(args, &mut ctx),
        Command::Problems(args) => problems::exec(args, &mut ctx),
        Command::Flaky(args) => flaky::exec(args, &mut ctx),
        Command::Since(args) => since::exec(args, &mut ctx),
        Command::Show(args) => show::exec(args, &mut ctx),
        Command::Users(args) => users::exec(args, &mut ctx),
        Command::Builders(args) => builders::exec(args, &mut ctx),
        Command::Reanalyze(args) => reanalyze::exec(args, &mut ctx),
        Command::Report(args) => report::exec(args, &mut ctx),
        Command::Prune(args) => prune::exec(args, &mut ctx),
        Command::Copy(args) => copy::exec(args, &mut ctx),
        Command::DeleteBuild(args) => delete_build::exec(args, &mut ctx),
        Command::Completions(args) => completions::exec(args, &mut ctx),
        Command::Man(args) => completions::exec_man(args, &mut ctx),
        Command::Clusters(args) => clusters::exec(args, &mut ctx),
        Command::Notify(args) => notify::exec(args, &mut ctx),
        Command::Bot(args) => bot::exec(args, &mut ctx),
        Command::Link(args) => link::exec_link(args, &mut ctx),
        Command::Note(args) => link::exec_note(args, &mut ctx),
        Command::MarkBad(args) => mark_bad::exec_mark(args, &mut ctx),
        Command::UnmarkBad(args) => mark_bad::exec_unmark(args, &mut ctx),
        Command::Rename(args) => rename::exec(args, &mut ctx),
        Command::Metrics(args) => metrics::exec(args, &mut ctx),
        Command::Coverage(args) => coverage::exec(args, &mut ctx),
        Command::Metric(args) => metrics::exec_metric(args, &mut ctx),
        Command::Accept(args) => metrics::exec_accept(args, &mut ctx),
    }
}

/// `--parser`: `auto` or a registered format's name.
pub(crate) fn parser_arg(name: &str) -> Result<Option<&'static dyn probtrack_parsers::Format>> {
    if name == "auto" {
        return Ok(None);
    }
    probtrack_parsers::registry()
        .iter()
        .find(|f| f.name() == name)
        .copied()
        .or_else(|| crate::plugin::find(name))
        .map(Some)
        .ok_or_else(|| {
            if let Some(plugin) = crate::plugin::named(name) {
                return plugin_elsewhere("--parser", plugin);
            }
            let names: Vec<_> = probtrack_parsers::registry()
                .iter()
                .map(|f| f.name())
                .chain(crate::plugin::of(Produces::Results).map(|p| p.name()))
                .collect();
            Error::usage(format!(
                "--parser `{name}`: unknown; expected auto or one of {}",
                names.join(", ")
            ))
            .hint("`probtrack parsers` lists them")
        })
}

/// The error for `flag NAME` where NAME is a plugin of another kind.
pub(crate) fn plugin_elsewhere(flag: &str, plugin: &crate::plugin::Plugin) -> Error {
    Error::usage(format!(
        "{flag} `{}`: that parser plugin reads {} (`produces = \"{}\"`)",
        plugin.name(),
        match plugin.produces() {
            Produces::Results => "test reports",
            Produces::Metrics => "metric files",
            Produces::Coverage => "coverage reports",
        },
        plugin.produces().as_str()
    ))
    .hint(format!("name it with {}", plugin.produces().flag()))
}

/// `--since`: RFC 3339 or a date (µs).
pub(crate) fn parse_since(text: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_micros());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros())
        .ok_or_else(|| {
            Error::usage(format!(
                "--since `{text}`: expected a date (2024-03-01) or an RFC 3339 time"
            ))
        })
}

/// `outcome`; where it failed on an ambiguous test name, with `--format json`, also prints
/// `{candidates: [...]}` for tools.
pub(crate) fn with_candidates<T>(
    outcome: Result<T>,
    format: OutputFormat,
    out: &mut Out<'_>,
) -> Result<T> {
    outcome.or_else(|error| {
        if let (Some(candidates), OutputFormat::Json) = (&error.candidates, format) {
            out.json(&Candidates { candidates })?;
        }
        Err(error)
    })
}

/// `--format table|json|csv`, on every command that lists or shows data.
#[derive(Debug, clap::Args)]
pub(crate) struct FormatFlag {
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// `--branch NAME`: the branch a listing shows.
#[derive(Debug, clap::Args)]
pub(crate) struct BranchFlag {
    /// The branch [default: `default_branch` from the settings, else builds without a branch]
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,
}

impl BranchFlag {
    /// `--branch`, else the settings' `default_branch`, else builds without a branch (`None`).
    pub(crate) fn resolve(&self, settings: &Settings) -> Option<String> {
        self.branch
            .clone()
            .or_else(|| settings.default_branch.clone())
    }
}

/// `--limit N`. A command with a default sets it with
/// `#[command(mut_arg("limit", |a| a.default_value("20")))]`.
#[derive(Debug, clap::Args)]
pub(crate) struct LimitFlag {
    /// At most this many
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command's definition (a conflict with a flag that does not
    /// exist, two flags of one name, …), which it runs under its debug assertions: the debug
    /// profile keeps clap's, though not other dependencies'.
    #[test]
    #[cfg_attr(
        not(debug_assertions),
        ignore = "clap checks definitions only in a debug build"
    )]
    fn every_command_definition_passes_claps_checks() {
        super::whole().debug_assert();
        super::Cli::command().debug_assert();
    }
}
