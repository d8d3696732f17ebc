use super::*;
use crate::collect::Collector;

/// Everything one parse sent to its sink.
#[derive(Debug, Default)]
struct Out {
    results: Vec<TestResult>,
    warnings: Vec<String>,
    timestamps: Vec<DateTime<Utc>>,
}

impl Sink for Out {
    fn result(&mut self, result: TestResult) {
        self.results.push(result);
    }
    fn warning(&mut self, message: String) {
        self.warnings.push(message);
    }
    fn timestamp(&mut self, time: DateTime<Utc>) {
        self.timestamps.push(time);
    }
}

fn parse(report: &[u8]) -> Result<Out, ParseError> {
    let mut out = Out::default();
    let mut input = report;
    JUnit.parse(&mut input, &ParseOptions::new("r.xml"), &mut out)?;
    Ok(out)
}

/// Parses `report` and checks each result's identity, status and attempts, in order.
#[track_caller]
fn check(report: &str, expected: &[(&str, Status, u32)]) -> Out {
    let out = parse(report.as_bytes()).unwrap_or_else(|err| panic!("{err}"));
    let got: Vec<(String, Status, u32)> = out
        .results
        .iter()
        .map(|r| (r.test.to_string(), r.status, r.attempts))
        .collect();
    let want: Vec<(String, Status, u32)> = expected
        .iter()
        .map(|&(test, status, attempts)| (test.to_owned(), status, attempts))
        .collect();
    assert_eq!(got, want);
    out
}

/// Parses `report`, expecting an error of the kind `kind` matches, at `line:column` and `path`.
#[track_caller]
fn check_err(
    report: &[u8],
    kind: fn(&ParseErrorKind) -> bool,
    at: (u64, u64),
    path: Option<&str>,
) -> ParseError {
    let err = match parse(report) {
        Ok(out) => panic!("expected an error, got {:?}", out.results),
        Err(err) => err,
    };
    assert!(kind(&err.kind), "unexpected kind: {err}");
    assert_eq!((err.line, err.column), at, "{err}");
    assert_eq!(err.path.as_deref(), path, "{err}");
    assert_eq!(err.format, "JUnit XML");
    assert_eq!(err.source_name, "r.xml");
    err
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../fixtures/junit/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|err| panic!("{full}: {err}"))
}

/// A fixture's results after the [`Collector`] merged repeats, by identity.
fn collected(path: &str) -> Vec<TestResult> {
    let bytes = fixture(path);
    let mut collector = Collector::new();
    JUnit
        .parse(
            &mut bytes.as_slice(),
            &ParseOptions::new(path),
            &mut collector,
        )
        .unwrap_or_else(|err| panic!("{err}"));
    collector.finish().results
}

#[track_caller]
fn find<'r>(results: &'r [TestResult], test: &str) -> &'r TestResult {
    results
        .iter()
        .find(|r| r.test == test)
        .unwrap_or_else(|| panic!("no result for {test}"))
}

#[track_caller]
fn count(results: &[TestResult], status: Status) -> usize {
    results.iter().filter(|r| r.status == status).count()
}

fn detail<'r>(result: &'r TestResult, key: &str) -> Option<&'r Value> {
    result.details.get(key)
}

// --- Real tool output --------------------------------------------------------------------------

#[test]
fn pytest_xunit1() {
    let results = collected("pytest-xunit1/report.xml");
    assert_eq!(results.len(), 33);
    assert_eq!(count(&results, Status::Passed), 11);
    assert_eq!(count(&results, Status::Failed), 14);
    assert_eq!(count(&results, Status::Error), 2);
    assert_eq!(count(&results, Status::Skipped), 4);
    assert_eq!(count(&results, Status::ExpectedFailure), 2);

    let failed = find(&results, "tests.test_sample.test_fails_plain");
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.message.as_ref().unwrap(), "assert 41 == 42");
    assert_eq!(
        detail(failed, "runner_id").unwrap(),
        "tests/test_sample.py::test_fails_plain"
    );
    assert_eq!(detail(failed, "file").unwrap(), "tests/test_sample.py");
    assert_eq!(detail(failed, "line").unwrap(), 20);
    let text = detail(failed, "text").unwrap().as_str().unwrap();
    assert!(text.contains(">       assert value == 42"), "{text}");
    assert!(detail(failed, "system_out").is_some());

    let in_class = find(
        &results,
        "tests.test_sample.TestNested.TestInner.test_inner_passes",
    );
    assert_eq!(in_class.status, Status::Passed);
    assert_eq!(
        detail(in_class, "runner_id").unwrap(),
        "tests/test_sample.py::TestNested::TestInner::test_inner_passes"
    );
    // Passing tests keep no captured output.
    assert!(detail(in_class, "system_out").is_none());

    let xfail = find(&results, "tests.test_sample.test_xfail_known_bug");
    assert_eq!(xfail.status, Status::ExpectedFailure);
    assert_eq!(xfail.message.as_ref().unwrap(), "known bug #123");
    let strict = find(&results, "tests.test_sample.test_xpass_strict");
    assert_eq!(strict.status, Status::Failed);
    assert!(strict
        .message
        .as_ref()
        .unwrap()
        .starts_with(b"[XPASS(strict)]"));
    assert_eq!(
        find(&results, "tests.test_sample.test_xpass_non_strict").status,
        Status::Passed
    );
    assert_eq!(
        find(&results, "tests.test_sample.test_error_in_fixture_teardown").status,
        Status::Error
    );
    let skipped = find(&results, "tests.test_sample.test_skipped_with_reason");
    assert_eq!(skipped.status, Status::Skipped);
    assert_eq!(
        skipped.message.as_ref().unwrap(),
        "not supported on this platform"
    );
    assert_eq!(detail(skipped, "type").unwrap(), "pytest.skip");

    // Parametrised names keep their brackets, `::` and dots included.
    assert_eq!(
        find(&results, "tests.test_sample.test_tricky_param_ids[c::d]").status,
        Status::Failed
    );
    assert_eq!(
        find(
            &results,
            "tests.test_sample.test_tricky_param_ids[dots.in.name]"
        )
        .status,
        Status::Passed
    );
    let unicode = find(
        &results,
        "tests.test_sample.test_unicode_name_ünïcödé_日本語",
    );
    assert!(unicode
        .message
        .as_ref()
        .unwrap()
        .starts_with("AssertionError: accented: café".as_bytes()));
    // Entities in the message attribute are decoded, `&#10;` is a newline.
    let special = find(
        &results,
        "tests.test_sample.test_xml_special_chars_in_message",
    );
    assert!(special
        .message
        .as_ref()
        .unwrap()
        .starts_with(b"AssertionError: message with <xml> & \"quotes\" and 'apostrophes'\n"));
}

#[test]
fn pytest_xunit2() {
    let results = collected("pytest-xunit2/report.xml");
    assert_eq!(results.len(), 33);
    assert_eq!(count(&results, Status::Passed), 11);
    assert_eq!(count(&results, Status::Failed), 14);
    assert_eq!(count(&results, Status::Error), 2);
    assert_eq!(count(&results, Status::Skipped), 4);
    assert_eq!(count(&results, Status::ExpectedFailure), 2);
    let setup = find(&results, "tests.test_sample.test_error_in_fixture_setup");
    assert_eq!(setup.status, Status::Error);
    assert_eq!(
        setup.message.as_ref().unwrap(),
        "failed on setup with \"RuntimeError: cannot open resource: connection refused\""
    );
    // xunit2 has no `file` attribute, so no runner id.
    assert!(detail(setup, "runner_id").is_none());
    assert_eq!(
        find(&results, "tests.test_sample.test_xfail_imperative").status,
        Status::ExpectedFailure
    );
    assert_eq!(
        find(
            &results,
            "tests.test_sample.TestCalculator.test_divide_by_zero"
        )
        .status,
        Status::Failed
    );
}

#[test]
fn pytest_timestamp_is_reported() {
    let out = parse(&fixture("pytest-xunit2/report.xml")).unwrap();
    assert_eq!(out.timestamps.len(), 1);
    assert!(out.timestamps[0].to_rfc3339().ends_with("+00:00"));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn pytest_rerunfailures_repeats_merge_into_flaky() {
    // Each earlier attempt is its own childless <testcase>: the parser reports every element ...
    let out = parse(&fixture("pytest-rerunfailures/report.xml")).unwrap();
    assert_eq!(out.results.len(), 11);
    // ... and the Collector merges them per the contract.
    let results = collected("pytest-rerunfailures/report.xml");
    let expect = [
        ("tests.test_rerun.test_stable_pass", Status::Passed, 1),
        (
            "tests.test_rerun.test_fails_once_then_passes",
            Status::Flaky,
            2,
        ),
        ("tests.test_rerun.test_always_fails", Status::Failed, 3),
        ("tests.test_rerun.test_error_then_passes", Status::Flaky, 2),
        (
            "tests.test_rerun.TestRetriedInClass.test_fails_twice_then_passes",
            Status::Flaky,
            3,
        ),
    ];
    let got: Vec<_> = results
        .iter()
        .map(|r| (r.test.to_string(), r.status, r.attempts))
        .collect();
    let want: Vec<_> = expect
        .iter()
        .map(|&(t, s, a)| (t.to_owned(), s, a))
        .collect();
    assert_eq!(got, want);
    let always = find(&results, "tests.test_rerun.test_always_fails");
    assert_eq!(
        always.message.as_ref().unwrap(),
        "AssertionError: always broken (attempt 3)\nassert False"
    );
}

#[test]
fn nextest_retries() {
    let results = collected("nextest-retries/junit.xml");
    // nextest writes tests in the order they finish: compare sorted.
    let mut got: Vec<_> = results
        .iter()
        .map(|r| (r.test.to_string(), r.status, r.attempts))
        .collect();
    got.sort();
    let unit = "probtrack-nextest-sample";
    let integration = "probtrack-nextest-sample::integration";
    let want = [
        (
            format!("{unit}.tests::adds_negative_numbers"),
            Status::Passed,
            1,
        ),
        (
            format!("{unit}.tests::adds_small_numbers"),
            Status::Passed,
            1,
        ),
        (format!("{unit}.tests::expected_panic"), Status::Passed, 1),
        (
            format!("{unit}.tests::flaky_passes_on_retry"),
            Status::Flaky,
            2,
        ),
        (format!("{unit}.tests::fails_always"), Status::Failed, 3),
        (
            format!("{unit}.tests::nested::unicode_ünïcödé_name"),
            Status::Passed,
            1,
        ),
        (
            format!("{integration}.integration_fails_twice_then_passes"),
            Status::Flaky,
            3,
        ),
        (
            format!("{integration}.integration_panics_every_time"),
            Status::Failed,
            3,
        ),
        (
            format!("{integration}.integration_passes"),
            Status::Passed,
            1,
        ),
    ];
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(got, want);
    let flaky = find(&results, &format!("{unit}.tests::flaky_passes_on_retry"));
    // The message of the failed try (the thread id varies from run to run).
    let message = flaky.message.as_ref().unwrap();
    assert!(
        message.starts_with(b"thread 'tests::flaky_passes_on_retry' ("),
        "{message}"
    );
    assert!(
        message.ends_with(b"panicked at src/lib.rs:46:9"),
        "{message}"
    );
    // The testcase's own output, not the one nested in <flakyFailure>.
    let out = detail(flaky, "system_out").unwrap().as_str().unwrap();
    assert!(
        out.contains("attempt 2") && !out.contains("attempt 1"),
        "{out}"
    );
    let always = find(&results, &format!("{unit}.tests::fails_always"));
    let err = detail(always, "system_err").unwrap().as_str().unwrap();
    assert!(err.contains("arithmetic is broken"), "{err}");
}

#[test]
fn ctest() {
    // ctest writes classname == name; the contract's rule then repeats it.
    let results = collected("ctest/junit.xml");
    let got: Vec<_> = results
        .iter()
        .map(|r| (r.test.to_string(), r.status))
        .collect();
    let want = [
        ("math.adds", Status::Passed),
        ("math.fails", Status::Failed),
        ("io.prints_output", Status::Passed),
        ("io.crashes", Status::Failed),
        ("slow.times_out", Status::Failed),
        ("skip.by_return_code", Status::Skipped),
        // status="disabled" and no child: it did not run.
        ("skip.disabled", Status::Skipped),
        ("flaky.passes_on_retry", Status::Passed),
        ("regex.fail_on_output", Status::Failed),
    ];
    let want: Vec<_> = want.iter().map(|&(t, s)| (t.to_owned(), s)).collect();
    assert_eq!(got, want);
    let skipped = find(&results, "skip.by_return_code");
    assert_eq!(skipped.message.as_ref().unwrap(), "SKIP_RETURN_CODE=77");
    // An empty message attribute is no message.
    assert_eq!(find(&results, "math.fails").message, None);
    let out = find(&results, "regex.fail_on_output");
    assert_eq!(
        detail(out, "system_out").unwrap(),
        "line one\nwarning: something odd <&> \"quoted\"\nline three\n"
    );
    // TIMEOUT 1: a little over a second.
    let timeout = find(&results, "slow.times_out").duration.unwrap();
    assert!((1.0..2.0).contains(&timeout), "{timeout}");
}

#[test]
fn jest_junit() {
    let results = collected("jest-junit/junit.xml");
    assert_eq!(results.len(), 9);
    assert_eq!(count(&results, Status::Passed), 4);
    assert_eq!(count(&results, Status::Failed), 4);
    assert_eq!(count(&results, Status::Skipped), 1);
    // jest-junit writes the same text as classname and name: the identity is that text once.
    let thrown = find(&results, "calculator nested group throws an error");
    assert_eq!(thrown.status, Status::Failed);
    // No message attribute: the first line of the body.
    assert_eq!(
        thrown.message.as_ref().unwrap(),
        "TypeError: cannot read property \"x\" of undefined"
    );
    assert!(detail(thrown, "text")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("at Object.<anonymous>"));
    let unicode = find(&results, " top-level ünïcödé name");
    assert_eq!(unicode.status, Status::Failed);
}

#[test]
fn mocha_junit_reporter() {
    let results = collected("mocha-junit-reporter/test-results.xml");
    assert_eq!(results.len(), 7);
    assert_eq!(count(&results, Status::Passed), 2);
    assert_eq!(count(&results, Status::Failed), 5);
    let timeout = find(&results, "times out.calculator nested group times out");
    assert!(timeout.duration.unwrap() >= 0.05);
    assert!(timeout
        .message
        .as_ref()
        .unwrap()
        .starts_with(b"Timeout of 50ms exceeded."));
    assert_eq!(detail(timeout, "type").unwrap(), "Error");
    let hook = find(
        &results,
        "\"before all\" hook for \"never runs because the hook failed\".calculator broken hook \
         \"before all\" hook for \"never runs because the hook failed\"",
    );
    assert_eq!(hook.status, Status::Failed);
}

#[test]
fn fixtures_sniff_high() {
    for path in [
        "pytest-xunit1/report.xml",
        "pytest-xunit2/report.xml",
        "pytest-rerunfailures/report.xml",
        "nextest-retries/junit.xml",
        "ctest/junit.xml",
        "jest-junit/junit.xml",
        "mocha-junit-reporter/test-results.xml",
    ] {
        assert_eq!(JUnit.sniff(&fixture(path)), Confidence::HIGH, "{path}");
    }
}

// --- Identity ----------------------------------------------------------------------------------

#[test]
fn identity_rules() {
    check(
        r#"<testsuites name="all">
             <testsuite name="outer">
               <testcase classname="pkg.Class" name="test_a"/>
               <testcase classname="pkg.Class" name="pkg.Class.test_b"/>
               <testcase classname="" name="test_c"/>
               <testcase name="test_d[1-2]"/>
               <testsuite name="inner">
                 <testsuite name=""><testcase name="test_e"/></testsuite>
               </testsuite>
               <testcase name="test_f"/>
             </testsuite>
             <testcase name="test_g"/>
             <testsuite><testcase classname="X" name=""/></testsuite>
             <testsuite><testcase name=""/></testsuite>
           </testsuites>"#,
        &[
            ("pkg.Class.test_a", Status::Passed, 1),
            // The name already starts with `classname.`.
            ("pkg.Class.test_b", Status::Passed, 1),
            // No classname: the enclosing suite names (not the <testsuites> root's).
            ("outer.test_c", Status::Passed, 1),
            ("outer.test_d[1-2]", Status::Passed, 1),
            ("outer.inner.test_e", Status::Passed, 1),
            ("outer.test_f", Status::Passed, 1),
            ("test_g", Status::Passed, 1),
            ("X", Status::Passed, 1),
            ("(unnamed)", Status::Passed, 1),
        ],
    );
}

#[test]
fn suite_level_error_is_the_suites_result() {
    let out = check(
        r#"<testsuite name="pkg.BrokenTest">
             <properties><property name="a" value="b"/></properties>
             <error message="gda/DAServer" type="java.lang.NoClassDefFoundError">java.lang.NoClassDefFoundError
    at x</error>
             <system-out><![CDATA[]]></system-out>
           </testsuite>"#,
        &[("pkg.BrokenTest", Status::Error, 1)],
    );
    let result = &out.results[0];
    assert_eq!(result.message.as_ref().unwrap(), "gda/DAServer");
    assert_eq!(
        detail(result, "type").unwrap(),
        "java.lang.NoClassDefFoundError"
    );
}

// --- Statuses and retries ----------------------------------------------------------------------

#[test]
fn statuses() {
    let out = check(
        r#"<testsuite name="s">
             <testcase classname="c" name="pass"/>
             <testcase classname="c" name="fail"><failure message="boom" type="AssertionError">trace</failure></testcase>
             <testcase classname="c" name="err"><error/></testcase>
             <testcase classname="c" name="skip"><skipped message="later"/></testcase>
             <testcase classname="c" name="xfail"><skipped type="pytest.xfail" message="bug"/></testcase>
             <testcase classname="c" name="fail_then_skip"><failure message="f"/><skipped/></testcase>
             <testcase classname="c" name="all"><skipped/><failure message="f"/><error message="e"/></testcase>
             <testcase classname="c" name="notrun" status="notrun"/>
             <testcase classname="c" name="run" status="run"/>
           </testsuite>"#,
        &[
            ("c.pass", Status::Passed, 1),
            ("c.fail", Status::Failed, 1),
            ("c.err", Status::Error, 1),
            ("c.skip", Status::Skipped, 1),
            ("c.xfail", Status::ExpectedFailure, 1),
            ("c.fail_then_skip", Status::Failed, 1),
            ("c.all", Status::Error, 1),
            ("c.notrun", Status::Skipped, 1),
            ("c.run", Status::Passed, 1),
        ],
    );
    let fail = &out.results[1];
    assert_eq!(fail.message.as_ref().unwrap(), "boom");
    assert_eq!(detail(fail, "type").unwrap(), "AssertionError");
    assert_eq!(detail(fail, "text").unwrap(), "trace");
    // The most severe element supplies the message.
    assert_eq!(out.results[6].message.as_ref().unwrap(), "e");
    assert_eq!(out.results[0].message, None);
    assert_eq!(out.results[2].message, None);
}

#[test]
fn surefire_flaky_and_rerun() {
    let out = check(
        r#"<testsuite name="org.acme.FlakyTest">
             <testcase name="testFlaky" classname="org.acme.FlakyTest" time="0.002">
               <flakyFailure message="first" type="java.lang.AssertionError">
                 <stackTrace>java.lang.AssertionError: first</stackTrace>
                 <system-out>attempt 1</system-out>
               </flakyFailure>
               <flakyError message="second" type="java.lang.RuntimeException"><stackTrace>x</stackTrace></flakyError>
               <system-out>attempt 3</system-out>
             </testcase>
             <testcase name="testBroken" classname="org.acme.FlakyTest">
               <failure message="always" type="java.lang.AssertionError">trace 1</failure>
               <rerunFailure message="always 2" type="java.lang.AssertionError"><stackTrace>trace 2</stackTrace></rerunFailure>
               <rerunFailure message="always 3" type="java.lang.AssertionError"/>
             </testcase>
             <testcase name="testBrokenError" classname="org.acme.FlakyTest">
               <error message="e"/><rerunError message="e 2"/>
             </testcase>
           </testsuite>"#,
        &[
            ("org.acme.FlakyTest.testFlaky", Status::Flaky, 3),
            ("org.acme.FlakyTest.testBroken", Status::Failed, 3),
            ("org.acme.FlakyTest.testBrokenError", Status::Error, 2),
        ],
    );
    let flaky = &out.results[0];
    assert_eq!(flaky.message.as_ref().unwrap(), "first");
    assert_eq!(detail(flaky, "type").unwrap(), "java.lang.AssertionError");
    assert_eq!(detail(flaky, "system_out").unwrap(), "attempt 3");
    assert_eq!(flaky.duration, Some(0.002));
    let broken = &out.results[1];
    assert_eq!(broken.message.as_ref().unwrap(), "always");
    assert_eq!(detail(broken, "text").unwrap(), "trace 1");
}

// --- Times and timestamps ----------------------------------------------------------------------

#[test]
fn times() {
    let out = check(
        r#"<testsuite name="s">
             <testcase name="a" time="1.5"/>
             <testcase name="b" time="1,234.5"/>
             <testcase name="c"/>
             <testcase name="d" time=""/>
             <testcase name="e" time="x"/>
             <testcase name="f" time="-3"/>
             <testcase name="g" time=" 2 "/>
           </testsuite>"#,
        &[
            ("s.a", Status::Passed, 1),
            ("s.b", Status::Passed, 1),
            ("s.c", Status::Passed, 1),
            ("s.d", Status::Passed, 1),
            ("s.e", Status::Passed, 1),
            ("s.f", Status::Passed, 1),
            ("s.g", Status::Passed, 1),
        ],
    );
    let durations: Vec<_> = out.results.iter().map(|r| r.duration).collect();
    assert_eq!(
        durations,
        [Some(1.5), Some(1234.5), None, None, None, None, Some(2.0)]
    );
    // A bad time is a warning, not an error: where, what, and how many more.
    assert_eq!(
        out.warnings,
        [
            r#"r.xml:6:14 (testsuite/testcase[4]/@time): invalid number "x"; duration unknown"#,
            "r.xml: 1 more invalid times were ignored",
        ]
    );
}

#[test]
fn duration_formats() {
    assert_eq!(parse_duration(b"0.001"), Ok(Some(0.001)));
    assert_eq!(parse_duration(b"1,234.5"), Ok(Some(1234.5)));
    assert_eq!(parse_duration(b"12,345,678.25"), Ok(Some(12_345_678.25)));
    assert_eq!(parse_duration(b"1.234,5"), Ok(Some(1234.5)));
    assert_eq!(parse_duration(b"1,234"), Ok(Some(1234.0)));
    assert_eq!(parse_duration(b"0,5"), Ok(Some(0.5)));
    assert_eq!(parse_duration(b"12,34"), Ok(Some(12.34)));
    assert_eq!(parse_duration(b""), Ok(None));
    assert_eq!(parse_duration(b"  "), Ok(None));
    assert_eq!(parse_duration(b"1,2.3"), Err(()));
    assert_eq!(parse_duration(b"*"), Err(()));
    assert_eq!(parse_duration(b"{duration}"), Err(()));
    assert_eq!(parse_duration(b"NaN"), Err(()));
    assert_eq!(parse_duration(b"inf"), Err(()));
    assert_eq!(parse_duration(b"-1"), Err(()));
    assert_eq!(parse_duration(b"\xff"), Err(()));
}

#[test]
fn timestamps() {
    let out = parse(
        br#"<testsuites timestamp="2024-03-01T12:05:43.000+01:00">
              <testsuite name="a" timestamp="2024-03-01T12:05:43.000"/>
              <testsuite name="b" timestamp="2024-03-01 12:05:43"/>
              <testsuite name="c" timestamp="Sat, 03 Dec 2022 23:10:07 GMT"/>
              <testsuite name="d" timestamp="2021-03-07T10:36:56 UTC"/>
              <testsuite name="e" timestamp="2024-01-03"/>
              <testsuite name="f" timestamp="yesterday"/>
              <testsuite name="g" timestamp=""/>
            </testsuites>"#,
    )
    .unwrap();
    let times: Vec<_> = out.timestamps.iter().map(|t| t.to_rfc3339()).collect();
    assert_eq!(
        times,
        [
            "2024-03-01T11:05:43+00:00",
            "2024-03-01T12:05:43+00:00",
            "2024-03-01T12:05:43+00:00",
            "2022-12-03T23:10:07+00:00",
            "2021-03-07T10:36:56+00:00",
            "2024-01-03T00:00:00+00:00",
        ]
    );
    assert_eq!(
        out.warnings,
        [
            r#"r.xml:7:15 (testsuites/testsuite[5]/@timestamp): invalid timestamp "yesterday" ignored"#
        ]
    );
}

// --- Text ---------------------------------------------------------------------------------------

#[test]
fn cdata_entities_and_line_ends() {
    let out = check(
        "<testsuite name=\"s\"><testcase name=\"t\">\
         <failure message=\"a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#10;e&#x1F389;\tf\">\
         <![CDATA[line 1 <not a tag> & ]]]]><![CDATA[>\r\nline 2]]>&lt;after&gt;\r\nline 3\rline 4</failure>\
         </testcase></testsuite>",
        &[("s.t", Status::Failed, 1)],
    );
    let result = &out.results[0];
    assert_eq!(
        result.message.as_ref().unwrap(),
        "a <b> & \"c\" 'd' \ne\u{1F389} f"
    );
    assert_eq!(
        detail(result, "text").unwrap(),
        "line 1 <not a tag> & ]]>\nline 2<after>\nline 3\nline 4"
    );
}

#[test]
fn message_from_body_when_no_attribute() {
    let out = check(
        "<testsuite name=\"s\"><testcase name=\"t\"><failure>\n\n   first line  \nsecond\n</failure></testcase></testsuite>",
        &[("s.t", Status::Failed, 1)],
    );
    assert_eq!(out.results[0].message.as_ref().unwrap(), "first line");
}

#[test]
fn huge_output_is_bounded() {
    let big = "x".repeat(3 * TEXT_LIMIT);
    let report = format!(
        "<testsuite name=\"s\"><testcase name=\"t\"><failure message=\"{big}\">{big}</failure>\
         <system-out>{big}</system-out><system-err><![CDATA[{big}]]></system-err></testcase>\
         <system-out>{big}</system-out></testsuite>"
    );
    let out = check(&report, &[("s.t", Status::Failed, 1)]);
    let result = &out.results[0];
    let note = format!("\n[… truncated: {} bytes in all]", 3 * TEXT_LIMIT);
    let kept = format!("{}{note}", "x".repeat(TEXT_LIMIT));
    assert_eq!(result.message.as_ref().unwrap(), kept.as_str());
    for key in ["text", "system_out", "system_err"] {
        assert_eq!(detail(result, key).unwrap(), kept.as_str(), "{key}");
    }
}

#[test]
fn truncation_keeps_whole_characters() {
    let mut bounded = Bounded::default();
    bounded.push("ab€".as_bytes(), 4);
    assert_eq!(
        bounded.to_text(),
        "ab\n[… truncated: 5 bytes in all]".as_bytes()
    );
}

#[test]
fn non_utf8_bytes_are_kept() {
    let out = parse(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
          <testsuite name=\"s\"><testcase classname=\"caf\xe9\" name=\"t\xff\">\
          <failure message=\"bad \xfe byte\">body \x80</failure></testcase></testsuite>",
    )
    .unwrap();
    let result = &out.results[0];
    assert_eq!(result.test, BString::from(&b"caf\xe9.t\xff"[..]));
    assert_eq!(
        result.message.as_ref().unwrap(),
        &BString::from(&b"bad \xfe byte"[..])
    );
}

// --- Encodings ----------------------------------------------------------------------------------

#[test]
fn utf8_bom() {
    check(
        "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites><testsuite name=\"s\"><testcase name=\"t\"/></testsuite></testsuites>",
        &[("s.t", Status::Passed, 1)],
    );
}

#[test]
fn iso_8859_1_is_transcoded() {
    let out = parse(
        b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<testsuite name=\"Caf\xe9\">\
          <testcase name=\"\xfcber\"><failure message=\"\xe9t\xe9\">\xa9 2024</failure></testcase></testsuite>",
    )
    .unwrap();
    let result = &out.results[0];
    assert_eq!(result.test, "Café.über");
    assert_eq!(result.message.as_ref().unwrap(), "été");
    assert_eq!(detail(result, "text").unwrap(), "© 2024");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn windows_1252_is_transcoded() {
    let out =
        parse(b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><testsuite name=\"\x80\"><testcase name=\"t\"/></testsuite>")
            .unwrap();
    assert_eq!(out.results[0].test, "€.t");
}

#[test]
fn utf16_with_bom() {
    let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<testsuite name=\"ünï\">\n<testcase name=\"t\"><skipped message=\"日本\"/></testcase></testsuite>";
    for big_endian in [false, true] {
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in text.encode_utf16() {
            let pair = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            bytes.extend_from_slice(&pair);
        }
        assert_eq!(JUnit.sniff(&bytes), Confidence::HIGH);
        let out = parse(&bytes).unwrap();
        assert_eq!(out.results[0].test, "ünï.t");
        assert_eq!(out.results[0].status, Status::Skipped);
        assert_eq!(out.results[0].message.as_ref().unwrap(), "日本");
    }
}

#[test]
fn unknown_encoding_reads_as_utf8_with_a_warning() {
    let out = parse(b"<?xml version=\"1.0\" encoding=\"klingon\"?><testsuite name=\"s\"><testcase name=\"t\"/></testsuite>")
        .unwrap();
    assert_eq!(out.results[0].test, "s.t");
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].starts_with("r.xml: the XML declaration names encoding \"klingon\""));
}

// --- Errors -------------------------------------------------------------------------------------

#[test]
fn truncated_report() {
    let report = b"<?xml version=\"1.0\"?>\n<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\"/>\n    <testcase name=\"b\">\n      <failure message=\"x\">trace";
    let err = check_err(
        report,
        |kind| matches!(kind, ParseErrorKind::Truncated),
        (6, 33),
        Some("testsuites/testsuite[0]/testcase[1]/failure"),
    );
    assert_eq!(
        err.to_string(),
        "failed to parse JUnit XML at r.xml:6:33 (testsuites/testsuite[0]/testcase[1]/failure): \
         unexpected end of file: the report is truncated"
    );
    // Inside a tag, a comment, a CDATA section.
    check_err(
        b"<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"a",
        |kind| matches!(kind, ParseErrorKind::Truncated),
        (3, 18),
        Some("testsuites/testsuite[0]"),
    );
    check_err(
        b"<testsuite>\n<!-- never ends",
        |kind| matches!(kind, ParseErrorKind::Truncated),
        (2, 16),
        Some("testsuite"),
    );
    check_err(
        b"<testsuite><testcase name=\"t\"><failure><![CDATA[never ends",
        |kind| matches!(kind, ParseErrorKind::Truncated),
        (1, 59),
        Some("testsuite/testcase[0]/failure"),
    );
}

#[test]
fn malformed_xml() {
    let err = check_err(
        b"<testsuites>\n  <testsuite name=\"s\">\n    <testcase name=\"a\"></testsuite>\n</testsuites>",
        |kind| matches!(kind, ParseErrorKind::Xml(_)),
        (3, 24),
        Some("testsuites/testsuite[0]/testcase[0]"),
    );
    assert!(err.to_string().contains("</testcase>"), "{err}");
    check_err(
        b"<testsuite name=\"s\"></testsuite>\n<testsuite/>",
        |kind| matches!(kind, ParseErrorKind::Xml(_)),
        (2, 1),
        None,
    );
    check_err(
        b"<testsuite name=\"s\"></testsuite>\ntrailing",
        |kind| matches!(kind, ParseErrorKind::Xml(_)),
        (2, 1),
        None,
    );
}

#[test]
fn empty_report() {
    let err = check_err(
        b"",
        |kind| matches!(kind, ParseErrorKind::Other(_)),
        (1, 1),
        None,
    );
    assert_eq!(
        err.to_string(),
        "failed to parse JUnit XML at r.xml:1:1: the report is empty"
    );
    check_err(
        b"<?xml version=\"1.0\"?>\n<!-- nothing -->\n",
        |kind| matches!(kind, ParseErrorKind::Other(_)),
        (3, 1),
        None,
    );
}

#[test]
fn not_junit() {
    let err = check_err(
        b"<?xml version=\"1.0\"?>\n<failsafe-summary><completed>4</completed></failsafe-summary>",
        |kind| matches!(kind, ParseErrorKind::NotThisFormat(_)),
        (2, 1),
        None,
    );
    assert!(err
        .to_string()
        .ends_with("the root element is <failsafe-summary>, not <testsuites> or <testsuite>"));
    check_err(
        b"this is not an xml file",
        |kind| matches!(kind, ParseErrorKind::NotThisFormat(_)),
        (1, 1),
        None,
    );
}

#[test]
fn entity_declarations_are_never_expanded() {
    let mut bomb =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE testsuite [\n<!ENTITY lol \"lol\">\n");
    bomb.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for level in 2..10 {
        let prev = format!("&lol{};", level - 1);
        bomb.push_str(&format!("<!ENTITY lol{level} \"{}\">\n", prev.repeat(10)));
    }
    bomb.push_str("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n");
    bomb.push_str("<testsuite name=\"s\"><testcase name=\"t\"><failure message=\"&lol9;\">&lol9; &xxe;</failure></testcase></testsuite>");
    let out = check(&bomb, &[("s.t", Status::Failed, 1)]);
    let result = &out.results[0];
    assert_eq!(result.message.as_ref().unwrap(), "&lol9;");
    assert_eq!(detail(result, "text").unwrap(), "&lol9; &xxe;");
    assert!(out.warnings[0].contains("the DOCTYPE declares entities; they are not expanded"));
    assert!(out.warnings[1].contains("unknown entity reference &lol9;"));
}

#[test]
fn deep_nesting_is_refused() {
    let mut report = String::from("<testsuites>");
    report.push_str(&"<testsuite>".repeat(300));
    let err = check_err(
        report.as_bytes(),
        |kind| matches!(kind, ParseErrorKind::LimitExceeded(_)),
        (1, 13 + 11 * 255),
        None.or(Some(&*format!("testsuites{}", "/testsuite[0]".repeat(255)))),
    );
    assert!(err
        .to_string()
        .ends_with("elements are nested more than 256 deep"));
}

#[test]
fn giant_attribute_is_refused() {
    let big = "x".repeat(5 * 1024 * 1024);
    let report = format!("<testsuite name=\"s\">\n<testcase name=\"{big}\"/></testsuite>");
    let err = check_err(
        report.as_bytes(),
        |kind| matches!(kind, ParseErrorKind::LimitExceeded(_)),
        (2, 1),
        Some("testsuite"),
    );
    assert!(err
        .to_string()
        .ends_with("a tag, comment or declaration longer than 4 MiB"));
}

// --- Sniffing -----------------------------------------------------------------------------------

#[test]
fn sniff() {
    let high = [
        &b"<testsuites><testsuite/></testsuites>"[..],
        b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c -->\n<?pi x?>\n<testsuite name=\"a\">",
        b"<!DOCTYPE testsuite [<!ENTITY a \"<b>\">]>\n<testsuite>",
        b"  \n<testsuites/>",
    ];
    for head in high {
        assert_eq!(JUnit.sniff(head), Confidence::HIGH, "{:?}", head.as_bstr());
    }
    let medium = [
        &b"<testrun name=\"x\"><testsuite><testcase name=\"a\"/>"[..],
        b"<?xml version=\"1.0\"?><testsuitesloose>\n<testcase/>",
    ];
    for head in medium {
        assert_eq!(
            JUnit.sniff(head),
            Confidence::MEDIUM,
            "{:?}",
            head.as_bstr()
        );
    }
    let none = [
        &b""[..],
        b"this is not an xml file <testcase",
        b"<?xml version=\"1.0\"?><failsafe-summary/>",
        b"foo.c:1:2: warning: x [-Wall]",
    ];
    for head in none {
        assert_eq!(JUnit.sniff(head), Confidence::NONE, "{:?}", head.as_bstr());
    }
}

#[test]
fn registered() {
    let format = crate::format::registry()
        .iter()
        .find(|format| format.name() == "junit")
        .expect("junit is in the registry");
    assert_eq!(format.sniff(b"<testsuites/>"), Confidence::HIGH);
}

/// A stream that is no XML fails at its first byte that cannot start a document, without being
/// read to its end: here the head of a real trial log (no `<` in it), before a reader that fails
/// if it is ever reached.
#[test]
fn a_stream_that_is_no_xml_fails_at_its_first_bytes() {
    struct Never;
    impl std::io::Read for Never {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("read past the first bytes"))
        }
    }
    let path = format!(
        "{}/../fixtures/trial/tree/output.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let log = std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    for (lead, at) in [(&b""[..], (1, 1)), (&b"\n  \r\n\t"[..], (3, 2))] {
        let head = [lead, &log[..2000]].concat();
        assert!(!head.contains(&b'<'));
        let mut input =
            std::io::BufReader::with_capacity(8192, std::io::Read::chain(head.as_slice(), Never));
        let err = JUnit
            .parse(&mut input, &ParseOptions::new("r.xml"), &mut Out::default())
            .expect_err("a trial log is no JUnit report");
        assert!(
            matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
            "{err}"
        );
        assert_eq!((err.line, err.column), at, "{err}");
    }
}
