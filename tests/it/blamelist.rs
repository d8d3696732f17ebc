//! Blamelists from a real git repository built in a temporary directory.

use crate::harness::{fixture, Repo, Test};

const ADA: &str = "Ada Lovelace <ada@example.org>";
const BOB: &str = "Bob Brown <bob@example.org>";
const CAROL: &str = "Carol Chen <carol@example.org>";

fn changes(build: &serde_json::Value) -> Vec<(String, String)> {
    build["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["revision"].as_str().unwrap().to_owned(),
                c["author"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn build<'a>(builds: &'a serde_json::Value, builder: &str, number: i64) -> &'a serde_json::Value {
    builds
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["builder"] == builder && b["build"] == number)
        .unwrap_or_else(|| panic!("no build {builder} #{number} in {builds}"))
}

#[test]
fn blamelists_hold_the_commits_since_the_previous_build() {
    let repo = Repo::new();
    let c1 = repo.commit(ADA, "a.txt", "1", "first", 1_700_000_000);
    let c2 = repo.commit(BOB, "a.txt", "2", "second", 1_700_000_100);
    let c3 = repo.commit(CAROL, "b.txt", "3", "third", 1_700_000_200);
    let c4 = repo.commit(ADA, "a.txt", "4", "fourth", 1_700_000_300);
    let t = Test::new();
    let report = fixture("history/linux-py311/103.xml");
    let report = report.to_str().unwrap();
    let git = repo.path().to_str().unwrap();
    // fast builds every commit it sees; slow skips some.
    t.ingest("fast", 1, &["--git", git, "--revision", &c1, report]);
    t.ingest("fast", 2, &["--git", git, "--revision", &c2[..8], report]);
    t.ingest("slow", 10, &["--git", git, "--revision", &c1, report]);
    t.ingest("slow", 11, &["--git", git, "--revision", &c4, report]);
    t.ingest("fast", 3, &["--git", git, "--revision", &c4, report]);
    let builds = t.json(&["builds"]);
    // The first build of a builder gets its own revision's commit.
    assert_eq!(
        changes(build(&builds, "fast", 1)),
        [(c1.clone(), ADA.to_owned())]
    );
    // A short revision is resolved to the full one.
    assert_eq!(build(&builds, "fast", 2)["revision"], c2.as_str());
    assert_eq!(
        changes(build(&builds, "fast", 2)),
        [(c2.clone(), BOB.to_owned())]
    );
    assert_eq!(
        changes(build(&builds, "fast", 3)),
        [(c3.clone(), CAROL.to_owned()), (c4.clone(), ADA.to_owned())]
    );
    // The other builder's previous build is its own, not fast's.
    assert_eq!(
        changes(build(&builds, "slow", 11)),
        [
            (c2.clone(), BOB.to_owned()),
            (c3.clone(), CAROL.to_owned()),
            (c4.clone(), ADA.to_owned())
        ]
    );
}

#[test]
fn a_revision_that_does_not_descend_from_the_previous_one_stands_alone() {
    let repo = Repo::new();
    let base = repo.commit(ADA, "a.txt", "1", "base", 1_700_000_000);
    let main = repo.commit(BOB, "a.txt", "2", "on main", 1_700_000_100);
    repo.git(&["checkout", "-q", "-b", "side", &base]);
    let side = repo.commit(CAROL, "c.txt", "3", "on side", 1_700_000_200);
    let t = Test::new();
    let report = fixture("history/linux-py311/103.xml");
    let git = repo.path().to_str().unwrap();
    t.ingest(
        "b",
        1,
        &["--git", git, "--revision", &main, report.to_str().unwrap()],
    );
    t.ingest(
        "b",
        2,
        &["--git", git, "--revision", &side, report.to_str().unwrap()],
    );
    let builds = t.json(&["builds"]);
    assert_eq!(changes(build(&builds, "b", 2)), [(side, CAROL.to_owned())]);
}

#[test]
fn merges_bring_every_parent_in() {
    let repo = Repo::new();
    let base = repo.commit(ADA, "a.txt", "1", "base", 1_700_000_000);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let feature = repo.commit(CAROL, "f.txt", "f", "feature work", 1_700_000_100);
    repo.git(&["checkout", "-q", "main"]);
    let fix = repo.commit(BOB, "a.txt", "2", "main work", 1_700_000_200);
    repo.git(&[
        "-c",
        "user.name=Ada Lovelace",
        "-c",
        "user.email=ada@example.org",
        "merge",
        "-q",
        "--no-edit",
        "feature",
    ]);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    let t = Test::new();
    let report = fixture("history/linux-py311/103.xml");
    let git = repo.path().to_str().unwrap();
    t.ingest(
        "b",
        1,
        &["--git", git, "--revision", &base, report.to_str().unwrap()],
    );
    t.ingest(
        "b",
        2,
        &["--git", git, "--revision", &merge, report.to_str().unwrap()],
    );
    let revisions: Vec<String> = changes(build(&t.json(&["builds"]), "b", 2))
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    for rev in [&feature, &fix, &merge] {
        assert!(revisions.contains(rev), "{rev} missing from {revisions:?}");
    }
    assert_eq!(revisions.len(), 3);
}

#[test]
fn an_unknown_revision_is_bad_input_and_changes_nothing() {
    let repo = Repo::new();
    repo.commit(ADA, "a.txt", "1", "base", 1_700_000_000);
    let t = Test::new();
    let report = fixture("history/linux-py311/103.xml");
    let stderr = t.fails(
        &[
            "ingest",
            "--builder",
            "b",
            "--build",
            "1",
            "--git",
            repo.path().to_str().unwrap(),
            "--revision",
            "deadbeef",
            report.to_str().unwrap(),
        ],
        3,
    );
    assert!(stderr.contains("deadbeef"), "{stderr}");
    assert!(
        t.dump().lines().all(|l| l.starts_with("==")),
        "nothing written"
    );
}
