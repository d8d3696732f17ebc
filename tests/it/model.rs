//! The reference model against probtrack (issue 19): random histories (`model/history.rs`) are
//! ingested through the library API, in the order they arrived (late, twice, with triage between),
//! and what probtrack stores must equal what the model (`model/rules.rs`, the documented rules
//! recomputed from scratch) says, equal `reanalyze`, equal itself when the same builds arrive in
//! another order, and stay the same through `prune`.
//!
//! `PROBTRACK_MODEL_CASES=N` sets how many histories the property test draws (default 40 on
//! SQLite, 6 on a server backend); `.ci/run` runs a bounded number in release mode on each engine,
//! and a long run is e.g. `PROBTRACK_MODEL_CASES=100000 cargo test --release --test it
//! model::histories`. A failing history is shrunk and printed with its choices: add it below as a
//! named regression test.

mod history;
mod rules;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use probtrack::error::ErrorKind;
use probtrack::ingest::{self, IngestOptions, Input};
use probtrack::settings::Settings;
use probtrack::store::{self, ChangeRecord, Location, OpenMode, Store};
use probtrack::triage::{self, Listing};
use proptest::prelude::*;
use serde_json::Value;

use crate::harness::{backend, Backend, Test};
use history::{History, Op, Status, Step};

/// A fresh database: a copy of an empty one on SQLite (migrating takes longer than a history), or a
/// database of its own on a server.
struct Db {
    store: Box<dyn Store>,
    _server: Option<Test>,
}

/// A temporary directory in memory where there is one (the databases are small and many).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

fn empty_sqlite() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = scratch();
        let path = dir.path().join("empty.db");
        drop(store::open(&Location::Sqlite(path.clone()), OpenMode::Create).unwrap());
        (dir, path)
    });
    path
}

fn fresh_db(dir: &Path, name: &str) -> Db {
    match backend() {
        Backend::Sqlite => {
            let path = dir.join(name);
            std::fs::copy(empty_sqlite(), &path).unwrap();
            Db {
                store: store::open(&Location::Sqlite(path), OpenMode::Existing).unwrap(),
                _server: None,
            }
        }
        _ => {
            let test = Test::new();
            Db {
                store: store::open(&test.location(), OpenMode::Create).unwrap(),
                _server: Some(test),
            }
        }
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Each build's JUnit report (the minimal shape every producer writes, as `generate.rs`).
fn write_reports(dir: &Path, h: &History) -> Vec<PathBuf> {
    h.builds
        .iter()
        .map(|b| {
            let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuite name=\"pkg\">\n");
            for (name, status, message) in &b.results {
                let (classname, short) = name.rsplit_once('.').unwrap();
                let m = xml_escape(message);
                let child = match status {
                    Status::Passed => String::new(),
                    Status::Failed => format!("<failure message=\"{m}\">{m}</failure>"),
                    Status::Error => format!("<error message=\"{m}\">{m}</error>"),
                    Status::Skipped => "<skipped/>".to_owned(),
                    Status::Flaky => format!("<flakyFailure message=\"{m}\"/>"),
                    Status::ExpectedFailure => "<skipped type=\"pytest.xfail\"/>".to_owned(),
                };
                writeln!(
                    xml,
                    "  <testcase classname=\"{classname}\" name=\"{short}\" time=\"0.1\">{child}</testcase>"
                )
                .unwrap();
            }
            xml.push_str("</testsuite>\n");
            let path = dir.join(format!("{}-{}.xml", b.builder, b.number));
            std::fs::write(&path, xml).unwrap();
            path
        })
        .collect()
}

fn ingest_build(store: &mut dyn Store, h: &History, reports: &[PathBuf], i: usize) {
    let b = &h.builds[i];
    let options = IngestOptions {
        builder: b.builder.clone(),
        number: b.number,
        revision: Some(h.commits[b.revision].sha.clone()),
        time: Some(chrono::DateTime::from_timestamp(b.time, 0).unwrap()),
        branch: b.branch.clone(),
        changes: b
            .changes
            .iter()
            .map(|&c| ChangeRecord {
                revision: h.commits[c].sha.clone(),
                author: Some(h.commits[c].author.to_owned()),
                time: Some(h.commits[c].time * 1_000_000),
                comments: None,
                parents: None,
            })
            .collect(),
        ..IngestOptions::default()
    };
    let source = ingest::prepare(&Input::File(reports[i].clone())).unwrap();
    ingest::ingest(store, &options, &[source]).unwrap();
}

/// Applies a triage operation; false when what it names is not there yet (no build of the
/// builder, no such test or range): the command refuses it, and it waits.
fn apply(store: &mut dyn Store, op: &Op) -> bool {
    let done = match op {
        Op::Retire(b) => probtrack::builders::retire(store, b, true),
        Op::Unretire(b) => probtrack::builders::retire(store, b, false),
        Op::MarkBad { builder, from, to } => {
            probtrack::known_bad::mark(store, builder, *from, *to, "outage").map(|_| ())
        }
        Op::UnmarkBad { builder, from } => {
            match probtrack::known_bad::unmark(store, builder, *from) {
                Ok((0, _)) => return false,
                other => other.map(|_| ()),
            }
        }
        Op::Rename { old, new } => probtrack::rename::rename(store, old, new).map(|_| ()),
    };
    match done {
        Ok(()) => true,
        // An unknown name (or, before the old name arrived, `test_0` found as a part of
        // `test_0_new`: "the old and the new name are the same").
        Err(e) if matches!(e.kind, ErrorKind::BadInput | ErrorKind::Usage) => false,
        Err(e) => panic!("{op:?}: {e}"),
    }
}

/// Ingests the steps in order; an operation whose builder, test or range is not there yet waits
/// (with those after it) until it is. Returns the operations applied, in order.
fn arrive(store: &mut dyn Store, h: &History, reports: &[PathBuf], steps: &[Step]) -> Vec<Op> {
    let mut applied = Vec::new();
    let mut waiting: Vec<Op> = Vec::new();
    let flush = |store: &mut dyn Store, waiting: &mut Vec<Op>, applied: &mut Vec<Op>| {
        while let Some(op) = waiting.first() {
            if !apply(store, op) {
                break;
            }
            applied.push(waiting.remove(0));
        }
    };
    for step in steps {
        match step {
            Step::Ingest(i) => {
                ingest_build(store, h, reports, *i);
            }
            Step::Op(op) => waiting.push(op.clone()),
        }
        flush(store, &mut waiting, &mut applied);
    }
    applied
}

/// The final state the model judges: the builds, and what the applied operations left.
fn final_state<'a>(h: &'a History, applied: &[Op]) -> rules::Final<'a> {
    let mut retired = BTreeSet::new();
    let mut bad: Vec<(String, i64, Option<i64>)> = Vec::new();
    let mut renames = Vec::new();
    for op in applied {
        match op {
            Op::Retire(b) => {
                retired.insert(b.clone());
            }
            Op::Unretire(b) => {
                retired.remove(b);
            }
            Op::MarkBad { builder, from, to } => bad.push((builder.clone(), *from, *to)),
            Op::UnmarkBad { builder, from } => bad.retain(|r| !(r.0 == *builder && r.1 == *from)),
            Op::Rename { old, new } => renames.push((old.clone(), new.clone())),
        }
    }
    rules::Final {
        commits: &h.commits,
        builds: h.builds.iter().collect(),
        retired,
        bad,
        renames,
    }
}

/// Every Problem probtrack lists (`problems --all --intermittent`), on every branch.
fn listing(store: &mut dyn Store) -> Vec<Value> {
    let mut out = Vec::new();
    for branch in [None, Some("stable".to_owned())] {
        let views = triage::list(
            store,
            &Settings::default(),
            &Listing {
                open: None,
                intermittent: true,
                branch,
                ..Listing::default()
            },
        )
        .unwrap();
        out.extend(views.iter().map(|v| serde_json::to_value(v).unwrap()));
    }
    out
}

fn as_model(v: &Value) -> rules::Problem {
    let at = |x: &Value| {
        (
            x["builder"].as_str().unwrap().to_owned(),
            x["build"].as_i64().unwrap(),
        )
    };
    let changes = |x: &Value| {
        x.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["revision"].as_str().unwrap().to_owned(),
                    c["author"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    rules::Problem {
        branch: v["branch"].as_str().map(str::to_owned),
        test: v["test"].as_str().unwrap().to_owned(),
        first_failure: at(&v["first_failure"]),
        last_failure: at(&v["last_failure"]),
        state: match v["state"].as_str().unwrap() {
            "open" => "open",
            "fixed" => "fixed",
            "retired" => "retired",
            other => panic!("state {other}"),
        },
        kind: if v["kind"] == "test" {
            "test"
        } else {
            "compile"
        },
        builders: v["builders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().unwrap().to_owned())
            .collect(),
        fixed: (!v["fixed"].is_null()).then(|| at(&v["fixed"])),
        failures: v["failures"].as_u64().unwrap(),
        started_by: changes(&v["started_by"]),
        fixed_by: changes(&v["fixed_by"]),
        intermittent: v["intermittent"].as_bool().unwrap(),
    }
}

/// The listing without ids, in a fixed order (ids depend on arrival: new Problems take the next).
fn without_ids(list: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("id");
            v.to_string()
        })
        .collect();
    out.sort();
    out
}

/// What a history is, for a failure message.
fn describe(h: &History, steps: &[Step], applied: &[Op]) -> String {
    let mut s = String::new();
    for (i, c) in h.commits.iter().enumerate() {
        writeln!(
            s,
            "commit {i} {} t={} parents={:?} {} {:?}",
            &c.sha[32..],
            c.time,
            c.parents,
            c.author,
            c.effect
        )
        .unwrap();
    }
    for (i, b) in h.builds.iter().enumerate() {
        let results: Vec<String> = b
            .results
            .iter()
            .map(|r| format!("{}={:?}", r.0.trim_start_matches("pkg.mod."), r.1))
            .collect();
        writeln!(
            s,
            "build {i}: {} {} {:?} t={} rev={} changes={:?} {}",
            b.builder,
            b.number,
            b.branch,
            b.time,
            b.revision,
            b.changes,
            results.join(" ")
        )
        .unwrap();
    }
    writeln!(s, "arrival: {steps:?}").unwrap();
    writeln!(s, "applied: {applied:?}").unwrap();
    writeln!(s, "prune before: {:?}", h.prune_before).unwrap();
    s
}

fn compare(what: &str, want: &[rules::Problem], got: &[Value]) -> Result<(), String> {
    let mut got: Vec<rules::Problem> = got.iter().map(as_model).collect();
    got.sort();
    if got == want {
        return Ok(());
    }
    let mut s = format!("{what}:\n");
    for p in want.iter().filter(|p| !got.contains(p)) {
        writeln!(s, "  model only:      {p:?}").unwrap();
    }
    for p in got.iter().filter(|p| !want.contains(p)) {
        writeln!(s, "  probtrack only:  {p:?}").unwrap();
    }
    Err(s)
}

/// One history through every check; the error says what differed, and the history.
pub fn check(choices: &[u32]) -> Result<(), String> {
    let h = history::generate(choices);
    let dir = scratch();
    let reports = write_reports(dir.path(), &h);
    let fail = |e: String, steps: &[Step], applied: &[Op]| {
        let used = choices.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        Err(format!(
            "{e}\n{}choices: {:?}",
            describe(&h, steps, applied),
            &choices[..used]
        ))
    };

    // As it arrived.
    let mut a = fresh_db(dir.path(), "a.db");
    let applied = arrive(a.store.as_mut(), &h, &reports, &h.arrival);
    let want = rules::problems(&final_state(&h, &applied));
    let incremental = listing(a.store.as_mut());
    if let Err(e) = compare("incremental ingest vs the model", &want, &incremental) {
        return fail(e, &h.arrival, &applied);
    }
    // reanalyze.
    probtrack::problems::reanalyze_all(a.store.as_mut()).unwrap();
    let again = listing(a.store.as_mut());
    if again != incremental {
        return fail(
            format!(
                "reanalyze changed the Problems:\n  before {incremental:#?}\n  after {again:#?}"
            ),
            &h.arrival,
            &applied,
        );
    }
    // The same builds in another order (a shuffle drawn from the history), the same triage after.
    let mut order: Vec<usize> = (0..h.builds.len()).collect();
    let mut seed = choices.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |s, &c| {
        (s ^ c as u64).wrapping_mul(0x100_0000_01b3)
    }) | 1;
    for i in (1..order.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let mut other: Vec<Step> = order.into_iter().map(Step::Ingest).collect();
    other.extend(applied.iter().cloned().map(Step::Op));
    let mut b = fresh_db(dir.path(), "b.db");
    let applied_b = arrive(b.store.as_mut(), &h, &reports, &other);
    if applied_b != applied {
        return fail(
            format!("another order applied {applied_b:?}"),
            &other,
            &applied,
        );
    }
    let shuffled = listing(b.store.as_mut());
    if without_ids(&shuffled) != without_ids(&incremental) {
        let e = compare("another arrival order vs the model", &want, &shuffled)
            .err()
            .unwrap_or_default();
        return fail(
            format!(
                "another arrival order gives other Problems:\n{e}\n  first {:#?}\n  other {:#?}",
                without_ids(&incremental),
                without_ids(&shuffled)
            ),
            &other,
            &applied,
        );
    }
    // prune keeps every Problem as it was, and so does reanalyze after it.
    if let Some(before) = h.prune_before {
        let age = chrono::Utc::now().timestamp() - before;
        probtrack::prune::prune(a.store.as_mut(), age, false).unwrap();
        let pruned = listing(a.store.as_mut());
        if pruned != incremental {
            return fail(
                format!(
                    "prune changed the Problems:\n  before {incremental:#?}\n  after {pruned:#?}"
                ),
                &h.arrival,
                &applied,
            );
        }
        probtrack::problems::reanalyze_all(a.store.as_mut()).unwrap();
        let after = listing(a.store.as_mut());
        if after != incremental {
            return fail(
                format!("reanalyze after prune changed the Problems:\n  before {incremental:#?}\n  after {after:#?}"),
                &h.arrival,
                &applied,
            );
        }
    }
    Ok(())
}

fn cases() -> u32 {
    match std::env::var("PROBTRACK_MODEL_CASES") {
        Ok(n) => n.parse().expect("PROBTRACK_MODEL_CASES: a number"),
        Err(_) if backend() == Backend::Sqlite => 40,
        Err(_) => 6,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 4000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn histories(choices in proptest::collection::vec(0u32..1000, 0..400)) {
        if let Err(e) = check(&choices) {
            prop_assert!(false, "{}", e);
        }
    }
}

// Regression tests: shrunk histories on which probtrack and the model once disagreed.

/// Builders a and b passed again at the same second (a 6 and b 14): probtrack named the pass of the
/// builder whose streak came first, not the last by (time, builder, number), as first and last
/// failures are ordered.
#[test]
fn the_fix_of_two_passes_at_the_same_second_is_the_last_by_builder() {
    check(&[
        218, 1, 213, 670, 0, 0, 184, 0, 100, 160, 100, 0, 0, 238, 0, 0, 0, 70, 0, 0, 0, 0, 0, 0, 0,
        925, 0, 0, 499, 124, 100, 0, 0, 0, 498, 0, 0, 100, 0, 0, 0, 0, 0, 0, 70, 327, 470, 200, 0,
        0, 0, 0, 0, 0, 0, 500, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 81, 0, 0, 0, 0, 210, 0, 0, 70, 470, 295, 0, 0, 346, 152, 46,
        0, 485, 0, 0, 0, 0, 67, 0, 770, 0, 0, 0, 0, 357, 0, 0, 0, 15, 0, 0, 0, 0, 69, 0, 0, 0, 0,
        0, 0, 460,
    ])
    .unwrap();
}
