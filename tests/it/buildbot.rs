//! `import --buildbot`: what a master's answers that go wrong do (an answer that is not JSON or
//! not of Buildbot's shape, a master that requires credentials or is busy), through the real
//! binary against a small HTTP server on 127.0.0.1.
//!
//! A real Buildbot master never sends a broken answer, so these paths need a server that does;
//! it answers in the shapes of Buildbot 4.3's REST API (`/api/v2`), and the log it serves is a
//! real trial output (`fixtures/trial/tree`) in Buildbot's log-chunk form (each line prefixed
//! with its stream, `o`). The import of a real master's history is tested end to end, against
//! Buildbot itself, by `tests/buildbot/run_e2e.sh`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::harness::{fixture, Test};

/// Answers by path (without the query): `(status, body)`, and how many times to answer 503 first.
#[derive(Default)]
struct Master {
    pages: HashMap<String, (u16, String)>,
    busy: usize,
    /// The `Authorization` header it requires, if any.
    require: Option<String>,
    /// Every request's path and `Authorization` header, in order.
    seen: Vec<(String, Option<String>)>,
    /// A path whose answer waits until this is cleared.
    hold: Option<String>,
}

fn serve(master: Master) -> (String, Arc<Mutex<Master>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let master = Arc::new(Mutex::new(master));
    let shared = Arc::clone(&master);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).ok();
                let target = request.split(' ').nth(1).unwrap_or("").to_owned();
                let mut authorization = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("authorization") {
                            authorization = Some(value.trim().to_owned());
                        }
                    }
                }
                let path = target.split('?').next().unwrap_or("").to_owned();
                while shared.lock().unwrap().hold.as_deref() == Some(path.as_str()) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                let (status, body) = {
                    let mut m = shared.lock().unwrap();
                    m.seen.push((target.clone(), authorization.clone()));
                    if m.busy > 0 {
                        m.busy -= 1;
                        (503, "busy".to_owned())
                    } else if m.require.is_some() && m.require != authorization {
                        (401, "{\"error\": \"unauthorized\"}".to_owned())
                    } else {
                        m.pages
                            .get(&path)
                            .cloned()
                            .unwrap_or((404, "{\"error\": \"not found\"}".to_owned()))
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (url, master)
}

const ADA: &str = "Ada Lovelace <ada@example.org>";
const BOB: &str = "Bob Babbage <bob@example.org>";

/// A master with builder `unit` and two builds, each with one Change and a trial step whose log
/// is the real trial output of `fixtures/trial/tree`.
fn history() -> Master {
    let output = std::fs::read_to_string(fixture("trial/tree/output.txt")).unwrap();
    let mut content = String::from("htrial calc\nh in dir /w/unit/build\n");
    for line in output.lines() {
        content.push('o');
        content.push_str(line);
        content.push('\n');
    }
    let lines = output.lines().count() + 2;
    let mut pages = HashMap::new();
    let mut page = |path: &str, body: Value| {
        pages.insert(format!("/api/v2{path}"), (200, body.to_string()));
    };
    page(
        "/builders",
        json!({"builders": [{"builderid": 1, "name": "unit"}], "meta": {"total": 1}}),
    );
    page(
        "/builders/1/builds",
        json!({"builds": [
            {"buildid": 11, "buildrequestid": 11, "number": 1, "started_at": 1_700_000_000,
             "complete_at": 1_700_000_060,
             "results": 2, "properties": {"got_revision": ["a1", "Git"]}},
            {"buildid": 12, "buildrequestid": 12, "number": 2, "started_at": 1_700_000_600,
             "complete_at": 1_700_000_660,
             "results": 2, "properties": {"got_revision": ["b2", "Git"]}},
        ], "meta": {"total": 2}}),
    );
    for (buildid, rev, who) in [(11, "a1", ADA), (12, "b2", BOB)] {
        // Request, buildset and source stamp share the build's id here.
        page(
            &format!("/buildrequests/{buildid}"),
            json!({"buildrequests": [{"buildrequestid": buildid, "buildsetid": buildid}]}),
        );
        page(
            &format!("/buildsets/{buildid}/sourcestamps"),
            json!({"sourcestamps": [{"ssid": buildid, "revision": rev}]}),
        );
        page(
            &format!("/sourcestamps/{buildid}/changes"),
            json!({"changes": [{"changeid": buildid, "revision": rev, "author": who,
                                "when_timestamp": 1_699_999_000, "comments": "a change"}]}),
        );
        page(
            &format!("/builds/{buildid}/steps/trial/logs/stdio"),
            json!({"logs": [{"logid": buildid * 10, "num_lines": lines, "type": "s",
                             "slug": "stdio", "name": "stdio"}]}),
        );
        page(
            &format!("/logs/{}/contents", buildid * 10),
            json!({"logchunks": [{"logid": buildid * 10, "firstline": 0, "content": content}]}),
        );
        page(
            &format!("/builds/{buildid}/test_result_sets"),
            json!({"test_result_sets": []}),
        );
    }
    Master {
        pages,
        ..Master::default()
    }
}

fn import(t: &Test, url: &str) -> std::process::Output {
    t.command(&[
        "import",
        "--buildbot",
        url,
        "--step",
        "trial=trial",
        "--format",
        "json",
    ])
    .output()
    .unwrap()
}

#[test]
fn imports_builds_blamelists_and_logs() {
    let t = Test::new();
    let (url, _master) = serve(history());
    let out = import(&t, &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["imported"], 2);
    let builds = t.json(&["builds"]);
    let got: Vec<_> = builds
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["build"].as_i64().unwrap(),
                b["revision"].clone(),
                b["time"].clone(),
                b["result"].clone(),
                b["changes"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                2,
                json!("b2"),
                json!("2023-11-14T22:23:20Z"),
                json!("failure"),
                json!([{"revision": "b2", "author": BOB}])
            ),
            (
                1,
                json!("a1"),
                json!("2023-11-14T22:13:20Z"),
                json!("failure"),
                json!([{"revision": "a1", "author": ADA}])
            ),
        ]
    );
    // The same results as the trial output ingested from the file.
    let direct = Test::new();
    direct.ok(&[
        "ingest",
        "--builder",
        "unit",
        "--build",
        "1",
        "--parser",
        "trial",
        fixture("trial/tree/output.txt").to_str().unwrap(),
    ]);
    assert_eq!(builds[1]["counts"], direct.json(&["builds"])[0]["counts"]);
}

#[test]
fn an_answer_that_is_not_json_names_the_url_and_stores_nothing_of_that_build() {
    let t = Test::new();
    let mut master = history();
    master.pages.insert(
        "/api/v2/sourcestamps/12/changes".into(),
        (200, "<html>proxy error</html>".into()),
    );
    let (url, shared) = serve(master);
    let out = import(&t, &url);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "unit #2: {url}api/v2/sourcestamps/12/changes: the master's answer is not JSON"
        )),
        "{stderr}"
    );
    // Build 1 is committed, build 2 is not there at all.
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 1, "{builds}");
    assert_eq!(builds[0]["build"], 1);

    // Mended, the next run adds build 2 only.
    shared.lock().unwrap().pages.insert(
        "/api/v2/sourcestamps/12/changes".into(),
        (
            200,
            json!({"changes": [{"revision": "b2", "author": BOB, "when_timestamp": 1}]})
                .to_string(),
        ),
    );
    let out = import(&t, &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["imported"].clone(), summary["skipped"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(t.json(&["builds"]).as_array().unwrap().len(), 2);
}

#[test]
fn an_answer_of_the_wrong_shape_names_the_place() {
    let t = Test::new();
    let mut master = history();
    master.pages.insert(
        "/api/v2/builders/1/builds".into(),
        (
            200,
            json!({"builds": [{"buildid": 11, "number": 1, "started_at": 1},
                              {"buildid": 12, "number": "2", "started_at": 2}]})
            .to_string(),
        ),
    );
    let (url, _master) = serve(master);
    let out = import(&t, &url);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("api/v2/builders/1/builds?complete=true")
            && stderr.contains("`builds[1].number`: expected an integer, found a string"),
        "{stderr}"
    );
    assert!(t.json(&["builds"]).as_array().unwrap().is_empty());
}

#[test]
fn credentials_come_from_the_environment_and_are_never_shown() {
    let t = Test::new();
    let mut master = history();
    master.require = Some("Bearer s3cret-token".into());
    let (url, shared) = serve(master);
    let out = import(&t, &url);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused the request (401)") && stderr.contains("PROBTRACK_BUILDBOT_TOKEN"),
        "{stderr}"
    );
    let out = t
        .command(&["import", "--buildbot", &url, "--step", "trial=trial"])
        .env("PROBTRACK_BUILDBOT_TOKEN", "s3cret-token")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
    assert!(!t.dump().contains("s3cret"));

    // A password in the URL would be on the command line: refused, and not shown.
    let with_password = url.replacen("://", "://probtrack:pa55word@", 1);
    let stderr = Test::new().fails(
        &[
            "import",
            "--buildbot",
            &with_password,
            "--step",
            "trial=trial",
        ],
        2,
    );
    assert!(stderr.contains("PROBTRACK_BUILDBOT_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("pa55word"), "{stderr}");

    // Basic authentication: user and password.
    let other = Test::new();
    shared.lock().unwrap().require = Some("Basic cHJvYnRyYWNrOnBhc3M6d29yZA==".into());
    let out = other
        .command(&["import", "--buildbot", &url, "--step", "trial=trial"])
        .env("PROBTRACK_BUILDBOT_USER", "probtrack")
        .env("PROBTRACK_BUILDBOT_PASSWORD", "pass:word")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_busy_master_is_asked_again() {
    let t = Test::new();
    let mut master = history();
    master.busy = 2;
    let (url, shared) = serve(master);
    let out = import(&t, &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = &shared.lock().unwrap().seen;
    assert!(
        seen[..3].iter().all(|(path, _)| path == "/api/v2/builders"),
        "{seen:?}"
    );
    assert_eq!(t.json(&["builds"]).as_array().unwrap().len(), 2);
}

#[test]
fn builder_and_step_arguments_are_checked() {
    let t = Test::new();
    let (url, _master) = serve(history());
    let stderr = t.fails(&["import", "--buildbot", &url, "--builder", "nope"], 2);
    assert!(
        stderr.contains("--builder `nope`: the master has no such builder (it has: unit)"),
        "{stderr}"
    );
    let stderr = t.fails(&["import", "--buildbot", &url, "--step", "trial"], 2);
    assert!(stderr.contains("expected NAME=PARSER"), "{stderr}");
    let stderr = t.fails(&["import", "--buildbot", "buildbot.example.org"], 2);
    assert!(stderr.contains("http:// or https://"), "{stderr}");
    let stderr = t.fails(&["import", "some-dir", "--buildbot", &url], 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    // --since leaves the older build out.
    let out = t
        .command(&[
            "import",
            "--buildbot",
            &url,
            "--step",
            "trial=trial",
            "--since",
            "2023-11-14T22:20:00Z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 1);
    assert_eq!(builds[0]["build"], 2);
}

#[test]
fn a_killed_import_keeps_the_builds_it_wrote_and_the_next_run_adds_the_rest() {
    let t = Test::new();
    let mut master = history();
    // Build 2's log does not come until the import is killed.
    master.hold = Some("/api/v2/logs/120/contents".into());
    let (url, shared) = serve(master);
    let mut child = t
        .command(&["import", "--buildbot", &url, "--step", "trial=trial"])
        .spawn()
        .unwrap();
    // Build 1 is committed on its own while build 2 waits (polled, bounded: not a timing).
    let mut written = 0;
    for _ in 0..600 {
        if t.db_exists() {
            written = t.json(&["builds"]).as_array().map_or(0, Vec::len);
            if written > 0 {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(written, 1, "build 1 was not written while build 2 waited");
    child.kill().unwrap();
    child.wait().unwrap();
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 1, "{builds}");
    assert_eq!(builds[0]["build"], 1);
    let whole = builds[0]["counts"].clone();

    shared.lock().unwrap().hold = None;
    let out = import(&t, &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["imported"].clone(), summary["skipped"].clone()),
        (json!(1), json!(1))
    );
    let builds = t.json(&["builds"]);
    assert_eq!(builds.as_array().unwrap().len(), 2);
    assert_eq!(builds[1]["counts"], whole);
    assert_eq!(builds[0]["counts"], whole);
}
