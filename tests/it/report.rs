//! `report --html`: the site of the sample history, read back with a real HTML parser, and shown in a
//! real headless browser when `chromium` is on PATH (required with `PROBTRACK_REQUIRE_BROWSER=1`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scraper::{Html, Selector};

use crate::harness::{fixture, skip, Repo, Test};
use crate::problems::sample_history;

const HOSTILE: &str = "<script>alert(1)</script>";
/// The builder that ran it: quotes and markup in a name that also names a file.
const HOSTILE_BUILDER: &str = "evil\"<i>builder";

/// A JUnit report of one test whose name, message and details are markup.
fn hostile_report(failing: bool) -> String {
    let outcome = if failing {
        "<failure message=\"&lt;img src=x onerror=alert(2)&gt;\">&lt;/pre&gt;&lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\"</failure>"
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites><testsuite name=\"hostile\" tests=\"1\" \
         failures=\"{}\" errors=\"0\"><testcase classname=\"hostile\" name=\"&lt;script&gt;alert(1)&lt;/script&gt;\" \
         time=\"0.1\">{outcome}</testcase></testsuite></testsuites>\n",
        u8::from(failing)
    )
}

/// The sample history plus the hostile test (passing, then failing: a Problem), and the site.
fn site() -> (Test, PathBuf) {
    let t = Test::new();
    sample_history(&t);
    for (number, failing) in [(1, false), (2, true)] {
        let file = t.path(&format!("hostile-{number}.xml"));
        std::fs::write(&file, hostile_report(failing)).unwrap();
        t.ingest(
            HOSTILE_BUILDER,
            number,
            &["--time", "2024-03-04T10:00:00Z", file.to_str().unwrap()],
        );
    }
    let out = t.ok(&["report", "--html", "out"]);
    let dir = t.path("out");
    let pages = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(out.trim(), format!("wrote {pages} pages to out"));
    (t, dir)
}

fn select(selector: &str) -> Selector {
    Selector::parse(selector).unwrap()
}

fn text(element: scraper::ElementRef<'_>) -> String {
    element.text().collect()
}

/// The text of every row that `selector` finds.
fn rows(html: &Html, selector: &str) -> Vec<String> {
    html.select(&select(selector)).map(text).collect()
}

fn read(dir: &Path, name: &str) -> Html {
    Html::parse_document(&std::fs::read_to_string(dir.join(name)).unwrap())
}

#[test]
fn the_site_shows_problems_flaky_tests_and_builders() {
    let (_t, dir) = site();
    let index = read(&dir, "index.html");
    let problems = rows(&index, "table.problems tr.problem");
    for test in [
        "tests.test_fmt.test_format_thousands",
        "tests.test_fmt.test_format_currency",
    ] {
        assert!(
            problems.iter().any(|r| r.contains(test)),
            "{test} not among the open Problems: {problems:#?}"
        );
    }
    assert!(problems.iter().any(|r| r.contains("Dave Dunn")));
    let flaky = rows(&index, "#flaky-table tbody tr");
    assert!(
        flaky[0].contains("tests.test_network.test_retry_connection"),
        "{flaky:#?}"
    );
    let builders = rows(&index, "#builders-table tbody tr");
    for builder in ["linux-py311", "linux-py312", "macos", HOSTILE_BUILDER] {
        assert!(
            builders.iter().any(|r| r.contains(builder)),
            "{builder}: {builders:#?}"
        );
    }

    // A grid per builder, a page per Problem and per test.
    let names: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in [
        "builder-linux-py311.html",
        "builder-macos.html",
        "problem-6.html",
        "problem-3.html",
    ] {
        assert!(names.contains(name), "no {name} in {names:?}");
    }
    assert!(names.iter().filter(|n| n.starts_with("test-")).count() > 4);
    let macos = read(&dir, "builder-macos.html");
    let grid = rows(&macos, "table.grid tbody tr");
    assert!(grid
        .iter()
        .any(|r| r.contains("tests.test_platform.test_path_separator")));
    // Columns: build numbers, newest first, with short revisions.
    let head = rows(&macos, "table.grid thead th .n");
    assert_eq!(head[0], "60");
    assert!(macos.select(&select("table.grid td .c.fail")).any(|c| c
        .value()
        .attr("title")
        .is_some_and(|t| t.contains("AssertionError"))));
    // Flaky evidence is marked.
    assert!(macos
        .select(&select("table.grid td .c.flake"))
        .next()
        .is_some());

    // A Problem's story: changes with their authors and commit messages.
    let story = names
        .iter()
        .filter(|n| n.starts_with("problem-"))
        .map(|n| text(read(&dir, n).root_element()))
        .find(|t| t.contains("Problem #") && t.contains("tests.test_platform.test_path_separator"))
        .expect("a page for the Problem of test_path_separator");
    for part in [
        "Support Mac path separators",
        "Alice Anders",
        "macOS uses / like other Unixes",
        "AssertionError: assert ':' == '/'",
    ] {
        assert!(story.contains(part), "{part} not in the story:\n{story}");
    }
}

/// "Recently fixed" is real breakage: a flaky test's intermittent Problems are left out of it, as
/// `problems` leaves them out; the test's own page still lists them, marked.
#[test]
fn recently_fixed_leaves_intermittent_problems_out() {
    let (t, dir) = site();
    let fixed = t.json(&["problems", "--fixed", "--intermittent"]);
    let ids = |intermittent: bool| -> BTreeSet<String> {
        fixed
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["intermittent"] == intermittent)
            .map(|p| p["id"].to_string())
            .collect()
    };
    let (real, flaky) = (ids(false), ids(true));
    assert!(
        !real.is_empty() && !flaky.is_empty(),
        "the sample history has both: {fixed:#}"
    );
    let index = read(&dir, "index.html");
    let shown: BTreeSet<String> = index
        .select(&select("h2#fixed + table tr.problem"))
        .map(|row| row.value().attr("data-id").unwrap().to_owned())
        .collect();
    assert_eq!(shown, real, "Recently fixed shows the real breakage only");

    // The flaky test's page lists its intermittent Problems, each marked.
    let flaky_test = "tests.test_network.test_retry_connection";
    let page = index
        .select(&select("#flaky-table a.test"))
        .find(|a| text(*a) == flaky_test)
        .and_then(|a| a.value().attr("href"))
        .expect("a link to the flaky test's page");
    let page = read(&dir, page);
    for id in &flaky {
        let row = page
            .select(&select(&format!("tr.problem[data-id=\"{id}\"]")))
            .next()
            .unwrap_or_else(|| panic!("Problem {id} on {flaky_test}'s page"));
        assert!(
            row.select(&select(".tag.int")).next().is_some(),
            "Problem {id} is marked intermittent: {}",
            row.html()
        );
    }
}

/// Every file of a site directory, by name, with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A second report into the same directory after one more build rewrites only the pages whose
/// content changed: the others keep their files untouched (their mtime, set far in the past here,
/// stays), and the directory equals a fresh full report byte for byte.
#[test]
fn a_second_report_rewrites_only_the_pages_that_changed() {
    let (t, dir) = site();
    let before = files(&dir);
    let past = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800); // 2000-01-01
    for name in before.keys() {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join(name))
            .unwrap();
        file.set_modified(past).unwrap();
    }
    // Nothing new: nothing is written.
    let out = t.ok(&["report", "--html", "out"]);
    let n = before.len();
    assert_eq!(
        out.trim(),
        format!("wrote 0 of {n} pages to out ({n} unchanged, left as they were)")
    );
    // One more build: macos's last report again, as build 61, a day later.
    let last = fixture("history/macos/60.xml");
    t.ingest(
        "macos",
        61,
        &[
            "--revision",
            "ac26d926ddf75a30357bd9b38d9e7a6ffd9bfa8d",
            "--time",
            "2024-03-04T16:47:56Z",
            last.to_str().unwrap(),
        ],
    );
    let out = t.ok(&["report", "--html", "out"]);
    t.ok(&["report", "--html", "fresh"]);
    let (after, fresh) = (files(&dir), files(&t.path("fresh")));
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "the same pages"
    );
    let mut kept = 0;
    let mut rewritten = Vec::new();
    for (name, bytes) in &fresh {
        assert!(after[name] == *bytes, "{name} is what a full report writes");
        let modified = std::fs::metadata(dir.join(name))
            .unwrap()
            .modified()
            .unwrap();
        if before.get(name) == Some(bytes) {
            assert_eq!(
                modified, past,
                "{name} did not change and was not rewritten"
            );
            kept += 1;
        } else {
            assert_ne!(modified, past, "{name} changed and was rewritten");
            rewritten.push(name.as_str());
        }
    }
    assert!(
        rewritten.contains(&"index.html") && rewritten.contains(&"builder-macos.html"),
        "the new build shows on the overview and its builder's grid: {rewritten:?}"
    );
    assert!(kept > 0, "some pages did not change");
    assert_eq!(
        out.trim(),
        format!(
            "wrote {} of {} pages to out ({kept} unchanged, left as they were)",
            rewritten.len(),
            fresh.len()
        )
    );
}

#[test]
fn every_link_resolves_and_nothing_comes_from_the_network() {
    let (_t, dir) = site();
    assert!(offline_and_linked(&dir) > 10);
}

/// Checks that no page of the site in `dir` has a script, loads anything from the network, or
/// links to a page that is not there; returns how many pages there are.
fn offline_and_linked(dir: &Path) -> usize {
    let mut pages = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let html = Html::parse_document(&source);
        pages += 1;
        assert!(html.select(&select("script")).next().is_none(), "{name}");
        for style in html.select(&select("style")) {
            let css = text(style);
            assert!(!css.contains("url(") && !css.contains("@import"), "{name}");
        }
        for element in html.select(&select("[href], [src], [srcset], [action]")) {
            for attr in ["href", "src", "srcset", "action"] {
                let Some(target) = element.value().attr(attr) else {
                    continue;
                };
                let lower = target.to_ascii_lowercase();
                assert!(
                    !lower.starts_with("http:")
                        && !lower.starts_with("https:")
                        && !lower.starts_with("//")
                        && !lower.contains(':'),
                    "{name}: {attr}={target}"
                );
                let file = target.split('#').next().unwrap();
                if !file.is_empty() {
                    assert!(
                        dir.join(file).is_file(),
                        "{name}: {attr}={target} points nowhere"
                    );
                }
            }
        }
    }
    pages
}

#[test]
fn report_text_is_escaped() {
    let (_t, dir) = site();
    let index = read(&dir, "index.html");
    let problems = rows(&index, "table.problems tr.problem");
    let test = format!("hostile.{HOSTILE}");
    assert!(
        problems.iter().any(|r| r.contains(&test)),
        "{test} not shown as text: {problems:#?}"
    );
    let test_page = index
        .select(&select("a.test"))
        .find(|a| text(*a) == test)
        .and_then(|a| a.value().attr("href"))
        .expect("a link to the hostile test's page")
        .to_owned();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(!source.contains("<script"), "{}", path.display());
        assert!(!source.contains("<img"), "{}", path.display());
        assert!(!source.contains("<i>builder"), "{}", path.display());
        let html = Html::parse_document(&source);
        assert!(html.select(&select("script, img, i")).next().is_none());
        assert!(!html.select(&select("b")).any(|b| text(b) == "bold"));
        if text(html.root_element()).contains(HOSTILE) {
            checked += 1;
        }
    }
    assert!(checked >= 3, "the hostile name shows on {checked} pages");
    // The test's own page: the name as its heading, the failure message as text.
    let page = read(&dir, &test_page);
    assert_eq!(rows(&page, "h1").concat(), test);
    let body = text(page.root_element());
    assert!(body.contains("<img src=x onerror=alert(2)>"), "{body}");
    // The builder's page has a safe file name and shows the name as text.
    let grid = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("builder-evil"))
        .expect("the hostile builder's page");
    assert!(grid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    assert_eq!(rows(&read(&dir, &grid), "h1").concat(), HOSTILE_BUILDER);
}

/// A file name and source that are markup, of the hostile builder's coverage.
const HOSTILE_FILE: &str = "<img src=x onerror=alert(3)>&'\".c";
const HOSTILE_SOURCE: &str = "int x; // </td></tr><script>alert(4)</script>\n\u{1b}[31m & \"q\"\n";

/// Coverage of two builds of the fixtures' C program (gcovr's reports of `calc.c`, then of the
/// changed `v2/calc.c`) on `linux`, each at its commit of a git repository, and one build of a
/// hostile file on the hostile builder; the site written with `--git`.
fn coverage_site() -> (Test, Repo, PathBuf) {
    let t = Test::new();
    let repo = Repo::new();
    let src = |p: &str| std::fs::read_to_string(fixture(&format!("coverage/src/{p}"))).unwrap();
    let c1 = repo.commit(
        "Ann Alder <ann@example.org>",
        "calc.c",
        &src("calc.c"),
        "calc",
        1_700_000_000,
    );
    let c2 = repo.commit(
        "Bob Birch <bob@example.org>",
        "calc.c",
        &src("v2/calc.c"),
        "classify huge numbers",
        1_700_000_100,
    );
    let c3 = repo.commit(
        "Eve <eve@example.org>",
        HOSTILE_FILE,
        HOSTILE_SOURCE,
        "hostile",
        1_700_000_200,
    );
    let git = repo.path().to_str().unwrap().to_owned();
    for (number, rev, report, root) in [
        (1, &c1, "coverage/gcovr.cobertura.xml", "/build/calc"),
        (
            2,
            &c2,
            "coverage/gcovr-v2.cobertura.xml",
            "/build/calc/v2build",
        ),
    ] {
        t.ingest(
            "linux",
            number,
            &[
                "--git",
                &git,
                "--revision",
                rev,
                "--source-root",
                root,
                fixture(report).to_str().unwrap(),
            ],
        );
    }
    let lcov = t.path("hostile.info");
    std::fs::write(
        &lcov,
        format!("TN:\nSF:/build/evil/{HOSTILE_FILE}\nDA:1,1\nDA:2,0\nend_of_record\n"),
    )
    .unwrap();
    t.ingest(
        HOSTILE_BUILDER,
        1,
        &[
            "--git",
            &git,
            "--revision",
            &c3,
            "--source-root",
            "/build/evil",
            "--coverage",
            lcov.to_str().unwrap(),
        ],
    );
    t.ok(&["report", "--html", "out", "--git", &git]);
    let dir = t.path("out");
    (t, repo, dir)
}

/// The page a link with text `label` in the body of `page` goes to.
fn follow(dir: &Path, page: &str, label: &str) -> String {
    read(dir, page)
        .select(&select("main a"))
        .find(|a| text(*a) == label)
        .and_then(|a| a.value().attr("href"))
        .unwrap_or_else(|| panic!("no link {label:?} on {page}"))
        .to_owned()
}

#[test]
fn coverage_pages_show_each_file_and_every_line_marked() {
    let (t, repo, dir) = coverage_site();
    let table = follow(&dir, "coverage.html", "linux");
    assert_eq!(table, "coverage-linux.html");
    // The file table, and the same table in every other order, linked from its headers.
    let page = read(&dir, &table);
    let files = rows(&page, "table.cov tbody tr");
    assert_eq!(files.len(), 1, "{files:#?}");
    assert!(files[0].starts_with("calc.c"), "{files:#?}");
    for header in ["Missed", "Covered", "Change"] {
        let other = follow(&dir, &table, header);
        assert!(rows(&read(&dir, &other), "table.cov tbody tr")[0].starts_with("calc.c"));
        assert_eq!(follow(&dir, &other, "File"), table);
    }

    // The file's page: its source at build 2's revision, each line marked as `coverage FILE`
    // classifies it.
    let file = read(&dir, &follow(&dir, &table, "calc.c"));
    let source = rows(&file, "table.srcview td.src").join("\n");
    let v2 = std::fs::read_to_string(fixture("coverage/src/v2/calc.c")).unwrap();
    assert_eq!(source.trim_end(), v2.trim_end());
    let git = repo.path().to_str().unwrap();
    let lines = t.json(&["coverage", "calc.c", "--builder", "linux", "--git", git]);
    assert_eq!(lines["diff"], true, "{lines:#}");
    let mut seen = BTreeSet::new();
    for line in lines["lines"].as_array().unwrap() {
        let n = line["line"].as_u64().unwrap();
        let row = file
            .select(&select(&format!("tr#L{n}")))
            .next()
            .unwrap_or_else(|| panic!("no row for line {n}"));
        let class = row.value().attr("class").unwrap_or_default();
        let expected = match (
            line["class"].as_str(),
            line["covered"].as_bool(),
            line["partial"].as_bool(),
        ) {
            (Some("LBC"), _, _) => "lost",
            (Some("UNC"), _, _) => "new",
            (_, Some(false), _) => "unc",
            (_, _, Some(true)) => "part",
            _ => "cov",
        };
        assert_eq!(class, expected, "line {n}: {line}");
        assert!(
            text(row).contains(line["class"].as_str().unwrap()),
            "line {n}"
        );
        // Its hits, as `coverage FILE` gives them (`0`, `1`, `2-3`).
        let hits = match (line["hits"].as_u64(), line["hits_max"].as_u64()) {
            (Some(h), Some(m)) if h == m => h.to_string(),
            (Some(h), Some(m)) => format!("{h}-{m}"),
            _ => panic!("line {n} has no hits: {line}"),
        };
        let cells: Vec<String> = row
            .select(&select("td"))
            .map(|td| td.text().collect::<String>())
            .collect();
        assert_eq!(cells[1], hits, "line {n}: {line}");
        seen.insert(class.to_owned());
    }
    for class in ["cov", "unc", "lost", "new"] {
        assert!(seen.contains(class), "no line marked {class}: {seen:?}");
    }
    // Lines that are not executable are shown unmarked.
    assert!(file
        .select(&select("table.srcview tbody tr:not([class])"))
        .next()
        .is_some());
    assert!(offline_and_linked(&dir) > 8);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let len = entry.unwrap().metadata().unwrap().len();
        assert!(len <= 2_000_000);
    }
}

#[test]
fn coverage_pages_escape_file_names_and_source() {
    let (_t, _repo, dir) = coverage_site();
    let table = follow(&dir, "coverage.html", HOSTILE_BUILDER);
    let page = follow(&dir, &table, HOSTILE_FILE);
    assert!(
        page.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "{page}"
    );
    let file = read(&dir, &page);
    assert_eq!(rows(&file, "h1").concat(), HOSTILE_FILE);
    let source = rows(&file, "table.srcview td.src");
    assert!(
        source[0].contains("</td></tr><script>alert(4)</script>"),
        "{source:?}"
    );
    assert!(source[1].contains("\\u{1b}[31m & \"q\""), "{source:?}");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(!html.contains("<script"), "{}", path.display());
        assert!(!html.contains("<img"), "{}", path.display());
        assert!(!html.contains('\u{1b}'), "{}", path.display());
        assert!(!html.contains("<i>builder"), "{}", path.display());
    }
}

#[test]
fn a_browser_renders_a_coverage_page() {
    let Some(chromium) = find_on_path("chromium") else {
        skip(
            Some("PROBTRACK_REQUIRE_BROWSER"),
            "chromium is not on PATH: the coverage pages were checked statically only \
             (apt-get install chromium to render them in a browser)",
        );
        return;
    };
    let (t, _repo, dir) = coverage_site();
    let page = follow(&dir, "coverage-linux.html", "calc.c");
    let mut cmd = Command::new(&chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--dump-dom",
    ])
    .arg(format!(
        "--user-data-dir={}",
        t.path("chromium-profile").display()
    ))
    .arg(format!("file://{}", dir.join(&page).display()));
    let dom = Html::parse_document(&run_with_timeout(cmd, Duration::from_secs(120)));
    assert!(dom
        .select(&select("table.srcview tr.lost"))
        .next()
        .is_some());
    assert!(dom.select(&select("table.srcview tr.new")).next().is_some());
    assert!(dom.select(&select("script")).next().is_none());
}

#[test]
fn a_browser_renders_the_overview() {
    let Some(chromium) = find_on_path("chromium") else {
        skip(
            Some("PROBTRACK_REQUIRE_BROWSER"),
            "chromium is not on PATH: the report was checked statically only \
             (apt-get install chromium to render it in a browser)",
        );
        return;
    };
    let (t, dir) = site();
    let url = format!("file://{}", dir.join("index.html").display());
    let profile = t.path("chromium-profile");
    let run = |extra: &[&str]| -> String {
        let mut cmd = Command::new(&chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url);
        run_with_timeout(cmd, Duration::from_secs(120))
    };
    let dom = Html::parse_document(&run(&["--dump-dom"]));
    let problems = rows(&dom, "table.problems tr.problem");
    assert!(
        problems
            .iter()
            .any(|r| r.contains("tests.test_fmt.test_format_thousands")),
        "the rendered DOM lacks the Problems: {problems:#?}"
    );
    assert!(dom.select(&select("script")).next().is_none());

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    run(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1400,1000",
    ]);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs `cmd`, killing it after `limit`; returns its standard output.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
        text
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}
