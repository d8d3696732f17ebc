use std::io::{BufReader, Read};

use super::*;
use crate::collect::{collect, Collected};

fn parse(input: &[u8]) -> Collected {
    collect(&Trial, &mut &input[..], &ParseOptions::new("log.txt")).expect("trial never fails")
}

fn fixture(variant: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/trial/{variant}/output.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// `status id` lines, in order.
fn outline(collected: &Collected) -> String {
    collected
        .results
        .iter()
        .map(|r| format!("{} {}\n", r.status, r.test))
        .collect()
}

/// Counts per status in [`Status::ALL`] order: passed, failed, error, skipped, expected_failure,
/// unexpected_success, flaky.
fn counts(collected: &Collected) -> [usize; 7] {
    let mut counts = [0; 7];
    for result in &collected.results {
        counts[usize::from(result.status.code())] += 1;
    }
    counts
}

#[track_caller]
fn check(input: &str, expected: &str) {
    let collected = parse(input.as_bytes());
    assert_eq!(outline(&collected), expected);
    assert_eq!(collected.warnings, Vec::<String>::new());
}

#[track_caller]
fn check_warns(input: &str, expected: &str, warning: &str) {
    let collected = parse(input.as_bytes());
    assert_eq!(outline(&collected), expected);
    assert!(
        collected.warnings.iter().any(|w| w.contains(warning)),
        "no warning containing {warning:?} in {:?}",
        collected.warnings
    );
}

fn result<'a>(collected: &'a Collected, id: &str) -> &'a TestResult {
    collected
        .results
        .iter()
        .find(|r| r.test == id)
        .unwrap_or_else(|| panic!("no result for {id}: {}", outline(collected)))
}

fn message(collected: &Collected, id: &str) -> String {
    result(collected, id)
        .message
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default()
}

const SAMPLE: &str = "probtrack_sample.test.test_basic.ArithmeticTests";
/// What the fixtures' summary line says: 7 OK, 3 FAIL, 9 ERROR, 4 SKIPPED, 2 TODO, 1 SUCCESS!?!.
const SAMPLE_COUNTS: [usize; 7] = [7, 3, 9, 4, 2, 1, 0];

#[track_caller]
fn check_sample(variant: &str) -> Collected {
    let collected = parse(&fixture(variant));
    assert_eq!(collected.warnings, Vec::<String>::new(), "{variant}");
    assert_eq!(counts(&collected), SAMPLE_COUNTS, "{variant}");
    assert_eq!(
        result(&collected, "probtrack_sample.test.test_import_broken").status,
        Status::Error
    );
    assert_eq!(
        message(&collected, &format!("{SAMPLE}.test_add_wrong")),
        "twisted.trial.unittest.FailTest: 4 != 5 : 2 + 2 should be 5 in this test"
    );
    assert_eq!(
        message(
            &collected,
            "probtrack_sample.test.test_basic.UnicodeTests.test_ünïcödé_name"
        ),
        "twisted.trial.unittest.FailTest: 'café' != 'cafe'"
    );
    assert_eq!(
        result(
            &collected,
            "probtrack_sample.test.test_basic.UnicodeTests.test_unicode_passes_日本"
        )
        .status,
        Status::Passed
    );
    assert_eq!(
        message(
            &collected,
            "probtrack_sample.test.test_fixtures.TearDownFails.test_body_passes"
        ),
        "builtins.OSError: tearDown could not remove temp dir"
    );
    assert_eq!(
        message(
            &collected,
            "probtrack_sample.test.test_async.AsyncTests.test_logged_error"
        ),
        "builtins.TypeError: unhandled error in Deferred"
    );
    assert_eq!(
        message(
            &collected,
            "probtrack_sample.test.test_basic.WholeClassSkipped.test_two"
        ),
        "the whole class is skipped"
    );
    assert_eq!(
        message(
            &collected,
            "probtrack_sample.test.test_todo.TodoTests.test_expected_failure"
        ),
        "twisted.trial.unittest.FailTest: 1 != 2"
    );
    assert_eq!(
        message(
            &collected,
            "probtrack_sample.test.test_todo.TodoTests.test_unexpected_success"
        ),
        "Reason: 'we thought this was broken'"
    );
    let text = result(&collected, &format!("{SAMPLE}.test_error_key")).details["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(text.starts_with("[ERROR]\nTraceback (most recent call last):\n"));
    assert!(text.ends_with("builtins.KeyError: 'missing'"), "{text}");
    collected
}

#[test]
fn tree_reporter_fixture() {
    let collected = check_sample("tree");
    assert_eq!(
        outline(&collected).lines().take(3).collect::<Vec<_>>(),
        [
            "error probtrack_sample.test.test_async.AsyncTests.test_deferred_fails",
            "passed probtrack_sample.test.test_async.AsyncTests.test_deferred_succeeds",
            "error probtrack_sample.test.test_async.AsyncTests.test_deferred_times_out",
        ]
    );
    assert!(collected.results.iter().all(|r| r.duration.is_none()));
}

#[test]
fn tree_reporter_on_a_terminal_fixture() {
    // ANSI colours and CR LF line ends.
    let tty = check_sample("tree-tty");
    let plain = parse(&fixture("tree"));
    assert_eq!(outline(&tty), outline(&plain));
}

#[test]
fn bwverbose_reporter_fixture() {
    let collected = check_sample("bwverbose");
    assert_eq!(outline(&collected), outline(&parse(&fixture("tree"))));
}

#[test]
fn timing_reporter_fixture_gives_durations() {
    let collected = check_sample("timing");
    let timed = result(
        &collected,
        "probtrack_sample.test.test_async.AsyncTests.test_deferred_times_out",
    );
    // `timeout = 0.1`: the test ran at least that long.
    assert!(
        timed.duration.is_some_and(|d| (0.1..1.0).contains(&d)),
        "{timed:?}"
    );
    assert!(collected.results.iter().all(|r| r.duration.is_some()));
}

#[test]
fn a_timing_line_that_is_no_duration_gives_none() {
    // The timing fixture with three of its `(N secs)` lines made hostile.
    let text = String::from_utf8(fixture("timing")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    for (line, bad) in [(1, "(nan secs)"), (3, "(inf secs)"), (5, "(-0.5 secs)")] {
        assert!(lines[line].ends_with(" secs)"), "{}", lines[line]);
        lines[line] = bad;
    }
    let collected = parse(lines.join("\n").as_bytes());
    assert_eq!(
        collected.results.len(),
        check_sample("timing").results.len()
    );
    let mut none: Vec<String> = collected
        .results
        .iter()
        .filter(|r| r.duration.is_none())
        .map(|r| r.test.to_string())
        .collect();
    none.sort();
    assert_eq!(
        none,
        [
            "probtrack_sample.test.test_async.AsyncTests.test_deferred_fails",
            "probtrack_sample.test.test_async.AsyncTests.test_deferred_succeeds",
            "probtrack_sample.test.test_async.AsyncTests.test_deferred_times_out",
        ]
    );
}

#[test]
fn text_reporter_fixture_names_only_what_did_not_pass() {
    let collected = parse(&fixture("text"));
    let mut expected = SAMPLE_COUNTS;
    expected[0] = 0;
    assert_eq!(counts(&collected), expected);
    assert_eq!(
        collected.warnings,
        [
            "log.txt: this trial output names only the tests that did not pass; 7 successes are \
          not reported (use trial's default or bwverbose reporter to have them)"
        ]
    );
    assert_eq!(
        message(&collected, &format!("{SAMPLE}.test_fail_explicitly")),
        "twisted.trial.unittest.FailTest: explicit failure with a message"
    );
}

#[test]
fn summary_reporter_fixture_names_no_tests() {
    let collected = parse(&fixture("summary"));
    assert!(collected.results.is_empty());
    assert_eq!(
        collected.warnings,
        [
            "log.txt: trial's summary reporter names no tests: 26 ran (9 errors, 3 failures, \
          4 skips); no results can be reported"
        ]
    );
}

#[test]
fn distributed_run_fixture() {
    let collected = parse(&fixture("j4-without-todo"));
    assert_eq!(collected.warnings, Vec::<String>::new());
    // FAILED (skips=4, failures=3, errors=9, successes=7)
    assert_eq!(counts(&collected), [7, 3, 9, 4, 0, 0, 0]);
}

#[test]
fn distributed_runs_that_crash_before_the_summary() {
    // trial -j 4 crashes while printing the unexpected success's block: the results are all
    // there, the summary is not, and the crash's traceback is not taken for a block's text.
    for variant in ["j4", "j4-bwverbose"] {
        let collected = parse(&fixture(variant));
        assert_eq!(counts(&collected), SAMPLE_COUNTS, "{variant}");
        assert_eq!(
            collected.warnings,
            [
                "log.txt: trial output has no final PASSED/FAILED line (the run may have been cut \
              short); its counts were not checked"
            ],
            "{variant}"
        );
        let timed_out = result(
            &collected,
            "probtrack_sample.test.test_async.AsyncTests.test_deferred_times_out",
        );
        let text = timed_out.details["text"].as_str().unwrap_or_default();
        assert!(!text.contains("AttributeError"), "{variant}: {text}");
        assert!(timed_out
            .message
            .as_ref()
            .is_some_and(|m| m.starts_with(b"twisted.internet.defer.TimeoutError: ")));
    }
}

#[test]
fn twisted_own_test_modules() {
    for (variant, passed, skipped) in [
        ("twisted-test_defer", 181, 0),
        ("twisted-test_failure", 48, 0),
        ("twisted-test_process", 215, 42),
    ] {
        let collected = parse(&fixture(variant));
        assert_eq!(collected.warnings, Vec::<String>::new(), "{variant}");
        assert_eq!(
            counts(&collected),
            [passed, 0, 0, skipped, 0, 0, 0],
            "{variant}"
        );
    }
}

#[test]
fn fixtures_sniff_high() {
    for variant in [
        "tree",
        "tree-tty",
        "bwverbose",
        "timing",
        "text",
        "j4",
        "j4-bwverbose",
        "j4-without-todo",
        "twisted-test_defer",
    ] {
        let head = fixture(variant);
        let head = &head[..head.len().min(crate::SNIFF_LEN)];
        assert_eq!(Trial.sniff(head), Confidence::HIGH, "{variant}");
    }
}

#[test]
fn an_error_after_a_pass_or_failure_wins() {
    // Tree reporter: trial prints the extra outcome on a line of its own.
    let tree = "\
expkg.test_edge
  FailThenTearDown
    test_fails ...                                                       [FAIL]
                                                     [ERROR]
    test_todo_then_teardown ...                                          [TODO]
                                        [ERROR]
    test_ok ...                                                            [OK]
";
    let expected = "\
error expkg.test_edge.FailThenTearDown.test_fails
error expkg.test_edge.FailThenTearDown.test_todo_then_teardown
passed expkg.test_edge.FailThenTearDown.test_ok
";
    check_warns(tree, expected, "no final PASSED/FAILED line");
    // bwverbose: glued together.
    let bw = "\
expkg.test_edge.FailThenTearDown.test_fails ... [FAILURE][ERROR]
expkg.test_edge.FailThenTearDown.test_todo_then_teardown ... [TODO][ERROR]
expkg.test_edge.FailThenTearDown.test_ok ... [OK]
-------------------------------------------------------------------------------
Ran 3 tests in 0.005s

FAILED (expectedFailures=1, failures=1, errors=2, successes=1)
";
    check(bw, expected);
}

/// Real output (Twisted 26.10.0) of a tree run with a dirty reactor, a tearDown error after a
/// failure, tests that print, and a top-level module that fails to import.
const EDGE_TREE: &str = "\
expkg.test_edge
  Dirty
    test_dirty_but_fails ...                                             [FAIL]
                                           [ERROR]
    test_dirty_reactor ...                                              [ERROR]
  FailThenTearDown
    test_fails ...                                                       [FAIL]
                                                     [ERROR]
  Prints
    test_after ...                                                         [OK]
    test_prints_newline ... hello from test
                                               [OK]
    test_prints_no_newline ... partial                                            [OK]
toplevel_broken ...                                                     [ERROR]
test_toplevel
  T
    test_x ...                                                             [OK]

===============================================================================
[FAIL]
Traceback (most recent call last):
  File \"/tmp/trialexp/src/expkg/test_edge.py\", line 12, in test_dirty_but_fails
    self.fail(\"boom\")
twisted.trial.unittest.FailTest: boom

expkg.test_edge.Dirty.test_dirty_but_fails
===============================================================================
[FAIL]
Traceback (most recent call last):
  File \"/tmp/trialexp/src/expkg/test_edge.py\", line 20, in test_fails
    self.fail(\"body failed\")
twisted.trial.unittest.FailTest: body failed

expkg.test_edge.FailThenTearDown.test_fails
===============================================================================
[ERROR]
Traceback (most recent call last):
Failure: twisted.trial.util.DirtyReactorAggregateError: Reactor was unclean.
DelayedCalls: (set twisted.internet.base.DelayedCall.debug = True to debug)
<DelayedCall 0x7f054a68a190 [99.99963235855103s] called=0 cancelled=0 Dirty.test_dirty_but_fails.<locals>.<lambda>()>

expkg.test_edge.Dirty.test_dirty_but_fails
===============================================================================
[ERROR]
Traceback (most recent call last):
Failure: twisted.trial.util.DirtyReactorAggregateError: Reactor was unclean.
DelayedCalls: (set twisted.internet.base.DelayedCall.debug = True to debug)
<DelayedCall 0x7f054a68b550 [99.99991750717163s] called=0 cancelled=0 Dirty.test_dirty_reactor.<locals>.<lambda>()>

expkg.test_edge.Dirty.test_dirty_reactor
===============================================================================
[ERROR]
Traceback (most recent call last):
  File \"/tmp/trialexp/src/expkg/test_edge.py\", line 17, in tearDown
    raise OSError(\"teardown broke\")
builtins.OSError: teardown broke

expkg.test_edge.FailThenTearDown.test_fails
===============================================================================
[ERROR]
Traceback (most recent call last):
  File \"/tmp/trialexp/src/toplevel_broken.py\", line 1, in <module>
    import nonexistent_module_xyz
builtins.ModuleNotFoundError: No module named 'nonexistent_module_xyz'

toplevel_broken
-------------------------------------------------------------------------------
Ran 8 tests in 0.005s

FAILED (failures=2, errors=4, successes=4)
";

#[test]
fn dirty_reactor_teardown_prints_and_import_errors() {
    let expected = "\
error expkg.test_edge.Dirty.test_dirty_but_fails
error expkg.test_edge.Dirty.test_dirty_reactor
error expkg.test_edge.FailThenTearDown.test_fails
passed expkg.test_edge.Prints.test_after
passed expkg.test_edge.Prints.test_prints_newline
passed expkg.test_edge.Prints.test_prints_no_newline
error toplevel_broken
passed test_toplevel.T.test_x
";
    check(EDGE_TREE, expected);
    let collected = parse(EDGE_TREE.as_bytes());
    // The message is the error's, the text holds both blocks.
    assert_eq!(
        message(&collected, "expkg.test_edge.Dirty.test_dirty_but_fails"),
        "twisted.trial.util.DirtyReactorAggregateError: Reactor was unclean."
    );
    assert_eq!(
        message(&collected, "expkg.test_edge.FailThenTearDown.test_fails"),
        "builtins.OSError: teardown broke"
    );
    let text = result(&collected, "expkg.test_edge.FailThenTearDown.test_fails").details["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(text.contains("FailTest: body failed") && text.contains("OSError: teardown broke"));
    assert_eq!(
        message(&collected, "toplevel_broken"),
        "builtins.ModuleNotFoundError: No module named 'nonexistent_module_xyz'"
    );
}

#[test]
fn bwverbose_with_printed_output_and_glued_warnings() {
    let input = "\
pkg.mod.T.test_a ... hello from test
[OK]
pkg.mod.T.test_b ... partial[OK]
pkg.mod.T.test_c ... [FAILURE]/home/x/logfile.py:92: UserWarning: step uses removed method
pkg.mod.T.test_d ... [SKIPPED]
";
    check_warns(
        input,
        "passed pkg.mod.T.test_a\npassed pkg.mod.T.test_b\nfailed pkg.mod.T.test_c\nskipped pkg.mod.T.test_d\n",
        "no final PASSED/FAILED line",
    );
}

#[test]
fn older_block_headers_name_the_test() {
    // Twisted's own documentation: `[ERROR]: <id>` and a Python 2 exception name.
    let input = "\
calculus.test.test_remote_3
  RemoteCalculationTestCase
    test_invalidParameters ...                                          [ERROR]

===============================================================================
[ERROR]: calculus.test.test_remote_3.RemoteCalculationTestCase.test_invalidParameters

Traceback (most recent call last):
  File \"/tmp/calculus/base_3.py\", line 8, in _make_ints
    raise TypeError
exceptions.TypeError:
-------------------------------------------------------------------------------
Ran 1 tests in 0.004s

FAILED (errors=1)
";
    check(
        input,
        "error calculus.test.test_remote_3.RemoteCalculationTestCase.test_invalidParameters\n",
    );
    assert_eq!(
        message(
            &parse(input.as_bytes()),
            "calculus.test.test_remote_3.RemoteCalculationTestCase.test_invalidParameters"
        ),
        "exceptions.TypeError:"
    );
}

#[test]
fn one_block_for_several_tests() {
    let input = "\
a.B.test_1 ... [FAIL]
a.B.test_2 ... [FAIL]
a.B.test_3 ... [OK]

===============================================================================
[FAIL]
Traceback (most recent call last):
twisted.trial.unittest.FailTest: not equal:
a = None
b = 11


a.B.test_1
a.B.test_2
-------------------------------------------------------------------------------
Ran 3 tests in 0.101s

FAILED (failures=2, successes=1)
";
    check(
        input,
        "failed a.B.test_1\nfailed a.B.test_2\npassed a.B.test_3\n",
    );
    let collected = parse(input.as_bytes());
    for id in ["a.B.test_1", "a.B.test_2"] {
        assert_eq!(
            message(&collected, id),
            "twisted.trial.unittest.FailTest: not equal:"
        );
        assert_eq!(
            result(&collected, id).details["text"],
            "[FAIL]\nTraceback (most recent call last):\ntwisted.trial.unittest.FailTest: not \
             equal:\na = None\nb = 11"
        );
    }
}

#[test]
fn summary_mismatch_warns() {
    let input = "\
a.B.test_1 ... [OK]
a.B.test_2 ... [FAIL]
-------------------------------------------------------------------------------
Ran 3 tests in 0.101s

FAILED (failures=2, successes=1)
";
    let collected = parse(input.as_bytes());
    assert_eq!(
        collected.warnings,
        [
            "log.txt: trial summary says (failures=2, successes=1) but parsed (failures=1, \
             successes=1)",
            "log.txt: trial says it ran 3 tests but 2 were listed",
        ]
    );
}

#[test]
fn trial_output_inside_a_build_log() {
    let input = "\
+ make check
gcc -O2 -c foo.c
foo.c:3:5: warning: unused variable 'x' [-Wunused-variable]
checking for python3... /usr/bin/python3
\x1b[1mRunning tests\x1b[0m
pkg.test_x.T.test_a ... \x1b[32m[OK]\x1b[0m\r
pkg.test_x.T.test_b ... [OK]
-------------------------------------------------------------------------------
Ran 2 tests in 0.001s

PASSED (successes=2)
make: Leaving directory '/build'
FAILED
";
    check(
        input,
        "passed pkg.test_x.T.test_a\npassed pkg.test_x.T.test_b\n",
    );
}

#[test]
fn two_runs_in_one_log_are_two_attempts() {
    let run = |outcome: &str, summary: &str| {
        format!(
            "pkg.T.test_flaky ... [{outcome}]\npkg.T.test_ok ... [OK]\n{}\nRan 2 tests in 0.1s\n\n{summary}\n",
            "-".repeat(79)
        )
    };
    let input =
        run("FAILURE", "FAILED (failures=1, successes=1)") + &run("OK", "PASSED (successes=2)");
    let collected = parse(input.as_bytes());
    assert_eq!(collected.warnings, Vec::<String>::new());
    // Failed, then passed on the rerun: flaky; passed both times: passed.
    assert_eq!(
        outline(&collected),
        "flaky pkg.T.test_flaky\npassed pkg.T.test_ok\n"
    );
    assert!(collected.results.iter().all(|r| r.attempts == 2));
}

#[test]
fn invalid_utf8_is_kept() {
    let input = b"pkg.T.test_\xff\xfe ... [FAILURE]\n\
=====================================================================\n\
[FAIL]\n\
Traceback (most recent call last):\n\
builtins.AssertionError: caf\xe9\n\
\n\
pkg.T.test_\xff\xfe\n";
    let collected = parse(input);
    assert_eq!(collected.results.len(), 1);
    assert_eq!(collected.results[0].test, &b"pkg.T.test_\xff\xfe"[..]);
    assert_eq!(
        collected.results[0].message.as_ref().map(|m| m.as_slice()),
        Some(&b"builtins.AssertionError: caf\xe9"[..])
    );
}

#[test]
fn no_trial_content_is_no_results_and_no_sniff() {
    for input in [
        &b""[..],
        b"hello\nworld\n",
        b"\0\0\0\xff\xfe binary",
        b"foo.c:12:5: warning: unused variable 'x' [-Wunused-variable]\n   12 |   int x;\n      |       ^\n",
        b"In file included from a.h:1,\n                 from b.c:2:\nc.h:3:1: error: unknown type name 'foo'\n",
        b"make[1]: Entering directory '/build'\nchecking for gcc... gcc\nchecking whether the C compiler works... yes\n",
    ] {
        let collected = parse(input);
        assert!(collected.results.is_empty(), "{:?}", input.as_bstr());
        assert!(collected.warnings.is_empty(), "{:?}", input.as_bstr());
        assert_eq!(Trial.sniff(input), Confidence::NONE, "{:?}", input.as_bstr());
    }
}

#[test]
fn sniff_does_not_fire_on_junit_xml() {
    let xml = b"<?xml version=\"1.0\"?>\n<testsuite name=\"pkg\" tests=\"1\">\n\
<testcase classname=\"pkg.T\" name=\"test_a\"><system-out>pkg.T.test_a ... [OK]\n\
Ran 1 tests in 0.1s\n\nPASSED (successes=1)\n</system-out></testcase>\n</testsuite>\n";
    assert_eq!(Trial.sniff(xml), Confidence::NONE);
}

#[test]
fn sniff_levels() {
    assert_eq!(
        Trial.sniff(b"pkg.mod.T.test_a ... [OK]\n"),
        Confidence::HIGH
    );
    assert_eq!(
        Trial.sniff(b"pkg.mod\n  T\n    test_a ...          [FAIL]\n"),
        Confidence::HIGH
    );
    assert_eq!(
        Trial.sniff(b"-----\nRan 4 tests in 0.067s\n\nPASSED (successes=4)\n"),
        Confidence::HIGH
    );
    let block = format!(
        "{}\n[FAIL]\nTraceback (most recent call last):\n",
        "=".repeat(79)
    );
    assert_eq!(Trial.sniff(block.as_bytes()), Confidence::HIGH);
    // Python's unittest prints the same `Ran` line and a `FAILED (failures=1)` line.
    assert_eq!(
        Trial.sniff(b"Ran 1 test in 0.001s\n\nFAILED (failures=1)\n"),
        Confidence::MEDIUM
    );
    assert_eq!(
        Trial.sniff(b"Ran 1 test in 0.001s\n\nOK\n"),
        Confidence::LOW
    );
}

#[test]
fn over_long_lines_are_capped() {
    let mut input = b"pkg.T.test_a ... [OK]\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 3 * LINE_CAP));
    input.extend_from_slice(b"\npkg.T.test_b ... [OK]\n");
    let collected = parse(&input);
    assert_eq!(collected.results.len(), 2);
}

/// An endless log without trial content, generated as it is read.
struct Noise {
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        const LINE: &[u8] = b"[  12.345] gcc -c foo.c ... some build output without results\n";
        let n = (buf.len() as u64).min(self.left) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = LINE[i % LINE.len()];
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_large_log_without_trial_content() {
    let mut input = BufReader::new(Noise { left: 32 << 20 });
    let collected = collect(&Trial, &mut input, &ParseOptions::new("big.log")).unwrap();
    assert!(collected.results.is_empty());
    assert!(collected.warnings.is_empty());
}

#[test]
fn a_test_that_never_finished() {
    let input = "pkg.T.test_a ... [OK]\npkg.T.test_hangs ... \n";
    let collected = parse(input.as_bytes());
    assert_eq!(outline(&collected), "passed pkg.T.test_a\n");
    assert!(collected.warnings.iter().any(|w| w
        == "log.txt: trial started pkg.T.test_hangs but printed no result for it (the run may \
            have been interrupted)"));
}

#[test]
fn registered() {
    assert!(crate::registry().iter().any(|f| f.name() == "trial"));
    let head = fixture("bwverbose");
    assert_eq!(crate::detect(&head).map(|f| f.name()), Some("trial"));
}

#[test]
fn a_module_change_keeps_the_class_header() {
    // trial prints only the prelude segments that changed: here the module, not the class.
    let input = "\
pkg.test_a
  Tests
    test_x ...                                                             [OK]
pkg.test_b
    test_y ...                                                           [FAIL]
";
    check_warns(
        input,
        "passed pkg.test_a.Tests.test_x\nfailed pkg.test_b.Tests.test_y\n",
        "no final PASSED/FAILED line",
    );
}

#[test]
fn headers_after_a_test_that_never_finished() {
    // The first test printed a line and never got an outcome: the header-like lines after it
    // turn out to be the next test's headers.
    let input = "\
pkg.test_a
  Tests
    test_x ... starting server
pkg.test_b
  Other
    test_y ...                                                             [OK]
";
    let collected = parse(input.as_bytes());
    assert_eq!(outline(&collected), "passed pkg.test_b.Other.test_y\n");
    assert!(collected
        .warnings
        .iter()
        .any(|w| w.contains("trial started pkg.test_a.Tests.test_x but printed no result")));
}

#[test]
fn a_huge_details_block_is_bounded() {
    let mut input = format!(
        "pkg.T.test_a ... [ERROR]\n{}\n[ERROR]\nTraceback (most recent call last):\n",
        "=".repeat(79)
    );
    for i in 0..20_000 {
        input.push_str(&format!("  File \"x.py\", line {i}, in f\n"));
    }
    input.push_str("builtins.RecursionError: too deep\n\npkg.T.test_a\n");
    let collected = parse(input.as_bytes());
    let result = result(&collected, "pkg.T.test_a");
    assert_eq!(result.status, Status::Error);
    assert!(result.details["text"].as_str().unwrap_or_default().len() <= TEXT_CAP);
    // The message comes from past the kept text.
    assert_eq!(
        result.message.as_ref().map(|m| m.to_string()),
        Some("builtins.RecursionError: too deep".to_owned())
    );
}

/// The text reporter's fixture from its `n`th line on, as a log cut off at the start would be.
fn text_fixture_from_line(n: usize) -> Vec<u8> {
    let text = fixture("text");
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    lines[n - 1..].concat()
}

#[test]
fn a_log_cut_off_at_the_start_keeps_its_first_block_without_the_separator() {
    // Line 43 is the first `[FAIL]`; the separator before it is cut away.
    let cut = text_fixture_from_line(43);
    assert!(cut.starts_with(b"[FAIL]\n"));
    let collected = parse(&cut);
    let id = "probtrack_sample.test.test_basic.ArithmeticTests.test_add_wrong";
    assert_eq!(result(&collected, id).status, Status::Failed);
    assert_eq!(
        message(&collected, id),
        "twisted.trial.unittest.FailTest: 4 != 5 : 2 + 2 should be 5 in this test"
    );
    // Every block of the whole log is still read.
    let whole = parse(&fixture("text"));
    assert_eq!(
        counts(&collected)[..2],
        counts(&whole)[..2],
        "{}",
        outline(&collected)
    );
}

#[test]
fn a_log_cut_off_at_the_start_inside_the_separator_keeps_its_first_error_block() {
    let text = fixture("text");
    let at = text
        .windows(8)
        .position(|w| w == b"[ERROR]\n")
        .expect("the text fixture has an [ERROR] block");
    // A few `=` of the separator are left, as when a log is cut mid-line.
    let cut = &text[at - 6..];
    let collected = parse(cut);
    let id = "probtrack_sample.test.test_async.AsyncTests.test_deferred_fails";
    assert_eq!(result(&collected, id).status, Status::Error);
    assert_eq!(
        message(&collected, id),
        "builtins.ValueError: async failure in callback chain"
    );
    // An [ERROR] block cut at the very start, without a single `=` before it.
    let collected = parse(&text[at..]);
    assert_eq!(result(&collected, id).status, Status::Error);
}

#[test]
fn a_log_whose_tests_cannot_be_named_warns() {
    // The tree reporter's per-test lines with their module and class lines filtered out.
    let tree = fixture("tree");
    let tests: Vec<u8> = tree
        .split_inclusive(|&b| b == b'\n')
        .take_while(|line| !line.starts_with(b"====="))
        .filter(|line| line.starts_with(b"    "))
        .flatten()
        .copied()
        .collect();
    let collected = parse(&tests);
    assert_eq!(outline(&collected), "");
    assert!(
        collected.warnings.iter().any(
            |w| w.contains("log.txt: trial listed 26 tests without the module and class lines")
        ),
        "{:?}",
        collected.warnings
    );
}
