//! Triage: failure clusters, notify (against a local HTTP and SMTP server), links and notes,
//! known-bad ranges and renamed tests, through the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::harness::Test;

/// One result of a hand-written JUnit report: (identity `class.name`, status, message, body).
type Case<'a> = (&'a str, &'a str, &'a str, &'a str);

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes a JUnit report of `cases` and ingests it as `builder #number` at minute `number`.
#[track_caller]
fn ingest(t: &Test, builder: &str, number: i64, cases: &[Case<'_>], extra: &[&str]) {
    let mut xml = String::from("<testsuite name=\"s\">\n");
    for (id, status, message, body) in cases {
        let (class, name) = id.rsplit_once('.').unwrap();
        xml += &format!("<testcase classname=\"{class}\" name=\"{name}\" time=\"0.1\">");
        match *status {
            "passed" => {}
            tag => {
                xml += &format!(
                    "<{tag} message=\"{}\">{}</{tag}>",
                    xml_escape(message),
                    xml_escape(body)
                )
            }
        }
        xml += "</testcase>\n";
    }
    xml += "</testsuite>\n";
    let file = t.path(&format!("{builder}-{number}.xml"));
    std::fs::write(&file, xml).unwrap();
    let time = format!("2024-03-01T{:02}:{:02}:00Z", number / 60, number % 60);
    let mut args = vec!["--time", &time];
    args.extend(extra);
    args.push(file.to_str().unwrap());
    t.ingest(builder, number, &args);
}

fn problems(t: &Test) -> Vec<Value> {
    t.json(&["problems", "--all", "--intermittent"])
        .as_array()
        .unwrap()
        .clone()
}

fn of<'a>(list: &'a [Value], test: &str) -> Vec<&'a Value> {
    list.iter().filter(|p| p["test"] == test).collect()
}

/// A broken database fixture: five tests fail with one cause on two builders (numbers, addresses,
/// temporary paths and durations differ), plus two unrelated failures.
fn cluster_history(t: &Test) {
    let fixture = |test: &'static str, n: i64| -> (String, String, String) {
        (
            test.to_owned(),
            format!("OSError: database fixture unreachable at 10.0.0.{n}:5432 after {n}.5s (/tmp/pytest-{n}/db)"),
            format!(
                "conftest.py:{}: in db\n    return connect()\nlib/db.py:40: OSError",
                10 + n
            ),
        )
    };
    let tests = ["t.a.one", "t.a.two", "t.b.three", "t.b.four", "t.c.five"];
    for (builder, number) in [("linux", 1), ("mac", 1)] {
        let cases: Vec<Case<'_>> = tests.iter().map(|id| (*id, "passed", "", "")).collect();
        ingest(t, builder, number, &cases, &[]);
    }
    for (builder, number) in [("linux", 2), ("mac", 2), ("linux", 3)] {
        let owned: Vec<(String, String, String)> = tests
            .iter()
            .enumerate()
            .map(|(i, id)| fixture(id, number * 10 + i as i64))
            .collect();
        let mut cases: Vec<Case<'_>> = owned
            .iter()
            .map(|(id, m, b)| (id.as_str(), "error", m.as_str(), b.as_str()))
            .collect();
        if builder == "linux" && number == 3 {
            // Unrelated: an assertion in one test, and the same message from elsewhere in another.
            cases.push((
                "t.d.assert",
                "failure",
                "AssertionError: assert 3 == 4",
                "tests/test_d.py:7: AssertionError",
            ));
            cases.push((
                "t.e.other",
                "failure",
                "OSError: database fixture unreachable at 10.0.0.1:5432 after 1s (/tmp/x)",
                "tests/test_e.py:3: in test_other\nlib/other.py:9: OSError",
            ));
        } else {
            cases.push(("t.d.assert", "passed", "", ""));
            cases.push(("t.e.other", "passed", "", ""));
        }
        ingest(t, builder, number, &cases, &[]);
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn clusters_group_one_cause_across_tests_and_builders() {
    let t = Test::new();
    cluster_history(&t);
    let clusters = t.json(&["clusters"]);
    let list = clusters.as_array().unwrap();
    let groups: Vec<(Vec<String>, u64, Vec<String>)> = list
        .iter()
        .map(|c| {
            (
                strings(&c["tests"]),
                c["failures"].as_u64().unwrap(),
                strings(&c["builders"]),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                ["t.a.one", "t.a.two", "t.b.three", "t.b.four", "t.c.five"]
                    .map(String::from)
                    .to_vec(),
                15,
                vec!["linux".to_owned(), "mac".to_owned()]
            ),
            (vec!["t.d.assert".to_owned()], 1, vec!["linux".to_owned()]),
            (vec!["t.e.other".to_owned()], 1, vec!["linux".to_owned()]),
        ],
        "{clusters:#}"
    );
    let big = &list[0];
    assert_eq!(big["first_seen"]["builder"], "linux");
    assert_eq!(big["first_seen"]["build"], 2);
    assert_eq!(big["last_seen"]["build"], 3);
    let signature = big["signature"].as_str().unwrap();
    assert!(
        signature.starts_with(
            "OSError: database fixture unreachable at <n>.<n>:<n> after <duration> (<tmp>)"
        ),
        "{signature}"
    );
    assert!(signature.contains("conftest.py:<n>: in db"), "{signature}");
    // Every Problem of the fixture's tests names that cluster; the others their own.
    let id = big["id"].as_str().unwrap();
    for p in problems(&t) {
        let expected = if p["test"].as_str().unwrap().starts_with("t.d") {
            list[1]["id"].clone()
        } else if p["test"].as_str().unwrap().starts_with("t.e") {
            list[2]["id"].clone()
        } else {
            Value::from(id)
        };
        assert_eq!(p["cluster"], expected, "{p:#}");
    }
    let show = t.ok(&["show", "1"]);
    assert!(show.contains(&format!("Cluster: {id}")), "{show}");
    // --since, --open, table and CSV.
    assert_eq!(
        t.json(&["clusters", "--since", "2030-01-01"]),
        serde_json::json!([])
    );
    assert_eq!(t.json(&["clusters", "--open"]).as_array().unwrap().len(), 3);
    let table = t.ok(&["clusters"]);
    assert!(table.contains(id), "{table}");
    let csv = t.ok(&["clusters", "--format", "csv"]);
    assert!(
        csv.lines().next().unwrap().contains("first_seen.builder"),
        "{csv}"
    );
    let records = csv::Reader::from_reader(csv.as_bytes()).records().count();
    assert_eq!(records, 3, "{csv}");
}

#[test]
fn links_and_notes_show_everywhere() {
    let t = Test::new();
    // t.k fails in 2, passes in 3 (fixed), fails again in 4.
    for (n, status) in [(1, "passed"), (2, "failure"), (3, "passed"), (4, "failure")] {
        ingest(&t, "ci", n, &[("t.k", status, "KeyError: 'x'", "")], &[]);
    }
    let list = problems(&t);
    let ks = of(&list, "t.k");
    assert_eq!(ks.len(), 2, "{list:#?}");
    let (new, old) = (ks[0]["id"].as_i64().unwrap(), ks[1]["id"].as_i64().unwrap());
    assert!(new != old);
    let old_s = old.to_string();
    t.ok(&["link", &old_s, "https://bugs.example.org/7"]);
    t.ok(&["note", &old_s, "DNS flaked in the lab", "--author", "dave"]);
    // Unknown Problem: exit 3; usage errors: exit 2.
    t.fails(&["link", "999", "https://bugs.example.org/1"], 3);
    t.fails(&["note", "999", "x"], 3);
    t.fails(&["link", &old_s], 2);

    let list = problems(&t);
    let p_old = list.iter().find(|p| p["id"] == old).unwrap();
    assert_eq!(p_old["links"][0]["url"], "https://bugs.example.org/7");
    assert_eq!(p_old["links"][0]["state"], "open");
    assert_eq!(p_old["notes"][0]["text"], "DNS flaked in the lab");
    assert_eq!(p_old["notes"][0]["author"], "dave");
    // The test fails again while the earlier Problem's bug is open: the new Problem says so.
    let p_new = list.iter().find(|p| p["id"] == new).unwrap();
    assert_eq!(p_new["earlier_links"][0]["problem"], old);
    assert_eq!(
        p_new["earlier_links"][0]["url"],
        "https://bugs.example.org/7"
    );
    let show = t.json(&["show", &old_s]);
    assert_eq!(show["links"][0]["url"], "https://bugs.example.org/7");
    assert_eq!(show["notes"][0]["text"], "DNS flaked in the lab");
    let table = t.ok(&["show", &old_s]);
    assert!(
        table.contains("Link: https://bugs.example.org/7 (open)"),
        "{table}"
    );
    assert!(table.contains("DNS flaked in the lab"), "{table}");
    let table = t.ok(&["show", &new.to_string()]);
    assert!(
        table.contains("link is open: https://bugs.example.org/7"),
        "{table}"
    );
    let listing = t.ok(&["problems", "--all", "--intermittent"]);
    assert!(listing.contains("https://bugs.example.org/7"), "{listing}");
    let csv = t.ok(&["problems", "--all", "--intermittent", "--format", "csv"]);
    assert!(csv.contains("https://bugs.example.org/7"), "{csv}");
    assert!(csv.contains("DNS flaked in the lab"), "{csv}");
    // The HTML report.
    t.ok(&["report", "--html", "site"]);
    let page = std::fs::read_to_string(t.path(&format!("site/problem-{old}.html"))).unwrap();
    assert!(
        page.contains("<a href=\"https://bugs.example.org/7\">"),
        "{page}"
    );
    assert!(page.contains("DNS flaked in the lab"), "{page}");
    let page = std::fs::read_to_string(t.path(&format!("site/problem-{new}.html"))).unwrap();
    assert!(page.contains("bug is open"), "{page}");
    // A closed link no longer marks a new failure; a removed one is gone.
    t.ok(&["link", &old_s, "https://bugs.example.org/7", "--closed"]);
    let list = problems(&t);
    let p_new = list.iter().find(|p| p["id"] == new).unwrap();
    assert_eq!(p_new["earlier_links"], serde_json::json!([]));
    t.ok(&["link", &old_s, "https://bugs.example.org/7", "--remove"]);
    assert_eq!(t.json(&["show", &old_s])["links"], serde_json::json!([]));
}

/// On builder `a` (builds 1–7): t.x fails only in the outage (3 and 5), t.z breaks in 3 and stays
/// broken, t.y breaks in 6. Builder `b` passes everything.
fn outage_history(t: &Test) {
    let pattern = [("t.x", "PPFPFPP"), ("t.z", "PPFFFFF"), ("t.y", "PPPPPFF")];
    for n in 1..=7i64 {
        let cases: Vec<Case<'_>> = pattern
            .iter()
            .map(|(id, p)| {
                let c = p.as_bytes()[n as usize - 1];
                if c == b'F' {
                    (*id, "failure", "boom", "")
                } else {
                    (*id, "passed", "", "")
                }
            })
            .collect();
        ingest(t, "a", n, &cases, &[]);
        let passing: Vec<Case<'_>> = pattern
            .iter()
            .map(|(id, _)| (*id, "passed", "", ""))
            .collect();
        ingest(t, "b", n, &passing, &[]);
    }
}

fn summary(list: &[Value]) -> Vec<(i64, String, i64, u64)> {
    let mut out: Vec<_> = list
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().unwrap(),
                p["test"].as_str().unwrap().to_owned(),
                p["first_failure"]["build"].as_i64().unwrap(),
                p["failures"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_bad_range_removes_exactly_the_problems_it_explains() {
    let t = Test::new();
    outage_history(&t);
    let before = problems(&t);
    assert_eq!(of(&before, "t.x").len(), 2, "{before:#?}");
    let z = of(&before, "t.z")[0]["id"].as_i64().unwrap();
    let y = of(&before, "t.y")[0].clone();
    let flaky_before = t.json(&["flaky", "--min-runs", "1", "--min-score", "0"]);
    assert!(flaky_before.to_string().contains("t.x"), "{flaky_before}");
    // What hangs on a Problem that the range will explain away.
    let mut x_ids: Vec<i64> = of(&before, "t.x")
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    x_ids.sort_unstable();
    let x = x_ids[0].to_string();
    t.ok(&["link", &x, "https://bugs.example.org/7"]);
    t.ok(&["note", &x, "the NFS server again?"]);

    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "3",
        "--to",
        "5",
        "--reason",
        "NFS outage",
    ]);
    let after = problems(&t);
    // t.x's Problems are gone; t.z keeps its id and now starts after the outage; t.y is as it was.
    assert!(of(&after, "t.x").is_empty(), "{after:#?}");
    let stderr = t.fails(&["show", &x], 3);
    assert!(stderr.contains("known-bad range"), "{stderr}");
    let zs = of(&after, "t.z");
    assert_eq!(zs.len(), 1);
    assert_eq!(zs[0]["id"], z);
    assert_eq!(zs[0]["first_failure"]["build"], 6);
    assert_eq!(zs[0]["failures"], 2);
    assert_eq!(of(&after, "t.y")[0], &y);
    assert_eq!(after.len(), 2);
    // No flakiness from the outage.
    let flaky = t.json(&["flaky", "--min-runs", "1", "--min-score", "0"]);
    assert!(!flaky.to_string().contains("t.x"), "{flaky}");
    // The range is listed; reanalyze agrees with the incremental result.
    let ranges = t.json(&["mark-bad", "--list"]);
    assert_eq!(ranges[0]["reason"], "NFS outage");
    assert_eq!(ranges[0]["to"], 5);
    t.ok(&["reanalyze"]);
    assert_eq!(summary(&problems(&t)), summary(&after));
    // A later build inside an open-ended range gives no evidence either.
    t.ok(&[
        "mark-bad",
        "--builder",
        "a",
        "--from",
        "8",
        "--reason",
        "image broken",
    ]);
    ingest(
        &t,
        "a",
        8,
        &[
            ("t.x", "failure", "boom", ""),
            ("t.z", "passed", "", ""),
            ("t.y", "failure", "boom", ""),
        ],
        &[],
    );
    let later = problems(&t);
    assert!(of(&later, "t.x").is_empty(), "{later:#?}");
    assert_eq!(of(&later, "t.z")[0]["state"], "open");
    t.ok(&["unmark-bad", "--builder", "a", "--from", "8"]);
    assert_eq!(of(&problems(&t), "t.z")[0]["state"], "fixed");
    t.fails(&["unmark-bad", "--builder", "a", "--from", "8"], 3);
    t.fails(
        &[
            "mark-bad",
            "--builder",
            "nope",
            "--from",
            "1",
            "--reason",
            "x",
        ],
        3,
    );
    // Unmarking brings the outage's Problems back, and t.z its first failure, with its id.
    t.ok(&["unmark-bad", "--builder", "a", "--from", "3"]);
    let back = problems(&t);
    // (t.x's failure in build 8 counts again since that range went too.)
    assert_eq!(of(&back, "t.x").len(), 3, "{back:#?}");
    let zs = of(&back, "t.z");
    assert_eq!(zs[0]["id"], z);
    assert_eq!(zs[0]["first_failure"]["build"], 3);
    // t.x's Problems came back with their ids, and with the link and the note.
    let back_ids: Vec<i64> = of(&back, "t.x")
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    for id in &x_ids {
        assert!(back_ids.contains(id), "{id} in {back_ids:?}");
    }
    let shown = t.json(&["show", &x]);
    assert_eq!(shown["links"][0]["url"], "https://bugs.example.org/7");
    assert_eq!(shown["notes"][0]["text"], "the NFS server again?");
    t.ok(&["reanalyze"]);
    assert_eq!(summary(&problems(&t)), summary(&back));
}

#[test]
fn a_renamed_test_keeps_its_history() {
    let t = Test::new();
    // t.old passes in 1, fails in 2-3; renamed, it fails in 4-5 as t.new and passes in 6-7.
    for (n, id, status) in [
        (1, "t.old", "passed"),
        (2, "t.old", "failure"),
        (3, "t.old", "failure"),
        (4, "t.new", "failure"),
        (5, "t.new", "failure"),
        (6, "t.new", "passed"),
        (7, "t.new", "passed"),
    ] {
        ingest(
            &t,
            "ci",
            n,
            &[(id, status, "boom", ""), ("t.keep", "passed", "", "")],
            &[],
        );
    }
    let before = problems(&t);
    let old_id = of(&before, "t.old")[0]["id"].clone();
    assert_eq!(of(&before, "t.new")[0]["first_failure"]["build"], 4);

    t.ok(&["rename", "t.old", "t.new"]);
    let after = problems(&t);
    assert!(of(&after, "t.old").is_empty(), "{after:#?}");
    let news = of(&after, "t.new");
    assert_eq!(news.len(), 1, "{after:#?}");
    let p = news[0];
    assert_eq!(p["id"], old_id, "the Problem keeps its id");
    assert_eq!(p["first_failure"]["build"], 2);
    assert_eq!(p["failures"], 4);
    assert_eq!(p["state"], "fixed");
    assert_eq!(p["fixed"]["build"], 6);
    // since sees the whole story; reanalyze agrees; a result under the old name still counts.
    let since = t.json(&["since", "t.new"]);
    assert_eq!(since["problem"], old_id);
    // history shows the builds under both names, newest first.
    let history = t.json(&["history", "t.new"]);
    let statuses: Vec<(i64, String)> = history["builders"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["build"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(i64, String)> = [
        (7, "passed"),
        (6, "passed"),
        (5, "failed"),
        (4, "failed"),
        (3, "failed"),
        (2, "failed"),
        (1, "passed"),
    ]
    .iter()
    .map(|(n, s)| (*n, (*s).to_owned()))
    .collect();
    assert_eq!(statuses, expected);
    assert_eq!(history["builders"][0]["results"][4]["message"], "boom");
    t.ok(&["reanalyze"]);
    assert_eq!(summary(&problems(&t)), summary(&after));
    t.fails(&["rename", "t.nothing-like-this", "t.x"], 3);
    t.fails(&["rename", "t.new", "t.old"], 3);
}

/// A tiny HTTP server on 127.0.0.1: answers 500 to the first `fail` requests, then 200; keeps the
/// bodies.
fn http_server(fail: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/probtrack", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&bodies);
    std::thread::spawn(move || {
        let mut served = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).ok();
            kept.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            served += 1;
            let status = if served <= fail {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (url, bodies)
}

/// A message the SMTP server took: its recipients and its data.
pub(crate) type Mail = (Vec<String>, String);

/// A tiny SMTP server on 127.0.0.1: enough of the protocol to take messages (220/250/354/221).
/// Keeps each message's recipients and data.
pub(crate) fn smtp_server() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&mails);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 localhost ESMTP test\r\n");
            let mut rcpt = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("RCPT TO:") {
                    rcpt.push(line[8..].trim().to_owned());
                    let _ = stream.write_all(b"250 OK\r\n");
                } else if upper.starts_with("DATA") {
                    let _ = stream.write_all(b"354 go on\r\n");
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        if reader.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                            break;
                        }
                        data += &l;
                    }
                    kept.lock().unwrap().push((std::mem::take(&mut rcpt), data));
                    let _ = stream.write_all(b"250 queued\r\n");
                } else if upper.starts_with("QUIT") {
                    let _ = stream.write_all(b"221 bye\r\n");
                    break;
                } else if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    let _ = stream.write_all(b"250 localhost\r\n");
                } else {
                    let _ = stream.write_all(b"250 OK\r\n");
                }
            }
        }
    });
    (port, mails)
}

#[test]
fn notify_announces_each_change_once_and_retries_a_failed_send() {
    let t = Test::new();
    let (url, bodies) = http_server(1);
    let (port, mails) = smtp_server();
    std::fs::write(
        t.path("probtrack.toml"),
        format!(
            "[[users]]\nname = \"Ann Archer\"\nemails = [\"ann@example.org\"]\nchat = \"@ann\"\n\n\
             [notify]\nwebhook = \"{url}\"\nsmtp_server = \"127.0.0.1\"\nsmtp_port = {port}\n\
             smtp_security = \"none\"\nsmtp_from = \"probtrack <ci@example.org>\"\n\
             report_url = \"https://ci.example.org/probtrack/\"\n"
        ),
    )
    .unwrap();
    // An old Problem, before notify was set up.
    ingest(
        &t,
        "ci",
        1,
        &[("t.old", "passed", "", ""), ("t.new", "passed", "", "")],
        &[],
    );
    ingest(
        &t,
        "ci",
        2,
        &[
            ("t.old", "failure", "boom", ""),
            ("t.new", "passed", "", ""),
        ],
        &["--change", "c2:Dave Dunn <dave@example.org>"],
    );
    // No baseline: asks for it (exit 2) and sends nothing; a dry run shows what would go.
    let stderr = t.fails(&["notify"], 2);
    assert!(stderr.contains("--mark-all-sent"), "{stderr}");
    let dry = t.ok(&["notify", "--dry-run"]);
    assert!(dry.contains("t.old broke"), "{dry}");
    assert!(bodies.lock().unwrap().is_empty());
    let marked = t.json(&["notify", "--mark-all-sent"]);
    assert_eq!(marked["marked"], 1);
    assert_eq!(t.json(&["notify"]), serde_json::json!([]));

    // A new Problem: the webhook fails once (retried next run); the e-mail goes at once.
    ingest(
        &t,
        "ci",
        3,
        &[
            ("t.old", "failure", "boom", ""),
            ("t.new", "failure", "ValueError: bad", ""),
        ],
        &["--change", "c3:Ann A <ann@example.org>"],
    );
    let dry = t.json(&["notify", "--dry-run"]);
    assert_eq!(dry.as_array().unwrap().len(), 2, "{dry:#}");
    assert!(mails.lock().unwrap().is_empty(), "a dry run sends nothing");
    let out = t.run(&["notify", "--format", "json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retried next run"), "{stderr}");
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<(String, String)> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["target"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("webhook".to_owned(), "failed".to_owned()),
            ("email".to_owned(), "sent".to_owned())
        ]
    );
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, ["<ann@example.org>"]);
        assert!(mails[0].1.contains("t.new"), "{}", mails[0].1);
        assert!(mails[0].1.contains("Ann Archer"), "{}", mails[0].1);
    }
    // The next run sends only the webhook message that failed.
    let second = t.json(&["notify"]);
    assert_eq!(second.as_array().unwrap().len(), 1, "{second:#}");
    assert_eq!(second[0]["target"], "webhook");
    assert_eq!(second[0]["status"], "sent");
    {
        let bodies = bodies.lock().unwrap();
        assert_eq!(bodies.len(), 2);
        let hook: Value = serde_json::from_str(&bodies[1]).unwrap();
        let text = hook["text"].as_str().unwrap();
        for part in [
            "t.new broke",
            "Failing since ci #3",
            "on ci",
            // Slack's markup characters escaped, `@` kept from mentioning (a word joiner after it).
            "c3 by Ann A &lt;ann@\u{2060}example.org&gt;",
            "Ann Archer (@ann)",
            "ValueError: bad",
            "https://ci.example.org/probtrack/problem-",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }
    assert_eq!(mails.lock().unwrap().len(), 1);
    // Nothing twice.
    assert_eq!(t.json(&["notify"]), serde_json::json!([]));
    assert_eq!(bodies.lock().unwrap().len(), 2);

    // Fixed: announced once to both.
    ingest(
        &t,
        "ci",
        4,
        &[
            ("t.old", "failure", "boom", ""),
            ("t.new", "passed", "", ""),
        ],
        &[],
    );
    let fixed = t.json(&["notify"]);
    let events: Vec<&Value> = fixed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["events"])
        .collect();
    assert_eq!(
        events,
        [&serde_json::json!(["fixed"]), &serde_json::json!(["fixed"])]
    );
    assert!(fixed[0]["text"].as_str().unwrap().contains("was fixed"));
    assert_eq!(t.json(&["notify"]), serde_json::json!([]));
    assert_eq!(mails.lock().unwrap().len(), 2);
}

/// Text from reports cannot ping a Slack or Mattermost channel, nor make a link, through the
/// webhook: `<`, `>` and `&` are escaped as Slack asks, and every `@` of it is kept from
/// mentioning.
#[test]
fn webhook_messages_keep_hostile_text_from_pinging_or_linking() {
    let t = Test::new();
    let (url, bodies) = http_server(0);
    // The URL from the environment (it holds Slack's token), over the settings' `webhook`.
    std::fs::write(
        t.path("probtrack.toml"),
        "[notify]\nwebhook = \"http://127.0.0.1:9/not-this-one\"\n",
    )
    .unwrap();
    ingest(&t, "ci", 1, &[("t.x", "passed", "", "")], &[]);
    t.ok(&["notify", "--mark-all-sent"]);
    let hostile = "<!channel> <!here> <https://evil.example|Details> @all @here @channel & co";
    ingest(
        &t,
        "ci",
        2,
        &[("t.x", "failure", hostile, "")],
        &["--change", "c2:Eve <!everyone> @here <eve@example.org>"],
    );
    let out = (t.command(&["notify", "--format", "json"]))
        .env("PROBTRACK_WEBHOOK_URL", &url)
        .output()
        .unwrap();
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sent[0]["status"], "sent", "{sent:#} {out:?}");
    let bodies = bodies.lock().unwrap();
    let hook: Value = serde_json::from_str(&bodies[0]).unwrap();
    let text = hook["text"].as_str().unwrap();
    for bad in ["<!", "<https", "@all", "@here", "@channel", "@everyone"] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
    for shown in [
        "&lt;!channel&gt;",
        "&lt;https://evil.example|Details&gt;",
        "@\u{2060}here",
        "&amp; co",
        "Eve &lt;!everyone&gt;",
    ] {
        assert!(text.contains(shown), "{shown} not in {text}");
    }
}
