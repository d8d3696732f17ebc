use super::*;
use crate::collect::{collect, Collected};
use crate::format::{Format, ParseOptions};
use crate::model::Status;

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|err| panic!("{full}: {err}"))
}

fn parse(format: &dyn Format, report: &[u8]) -> Result<Collected, ParseError> {
    collect(format, &mut &report[..], &ParseOptions::new("r.xml"))
}

#[track_caller]
fn parse_err(format: &dyn Format, report: &[u8]) -> ParseError {
    match parse(format, report) {
        Ok(collected) => panic!("expected an error, got {:?}", collected.results),
        Err(err) => err,
    }
}

fn find<'c>(collected: &'c Collected, test: &str) -> &'c crate::TestResult {
    collected
        .results
        .iter()
        .find(|r| r.test == test)
        .unwrap_or_else(|| panic!("no {test}"))
}

fn detail<'r>(result: &'r crate::TestResult, key: &str) -> &'r str {
    result
        .details
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

#[test]
fn trx_outcome_duration_message_stack_trace_and_rows() {
    let collected = parse(
        &Trx,
        &fixture("trx/publish-unit-test-result-action/xUnit-netcoreapp3.1-sample.trx"),
    )
    .unwrap();
    assert_eq!(collected.results.len(), 6);
    let theory = find(
        &collected,
        "SampleProject.xUnit.TestServiceTests.TestTheory(expected: False)",
    );
    assert_eq!(theory.status, Status::Failed);
    assert_eq!(theory.duration, Some(0.0024407));
    assert_eq!(
        theory.message.as_ref().unwrap(),
        "Assert.Equal() Failure\nExpected: False\nActual:   True"
    );
    assert!(detail(theory, "text").starts_with(
        "   at SampleProject.xUnit.TestServiceTests.TestTheory(Boolean expected) in "
    ));
    assert_eq!(
        detail(theory, "system_out"),
        "Running SampleProject.Tests.xUnit tests"
    );
    let row = find(
        &collected,
        "SampleProject.xUnit.TestServiceTests.TestTheory(expected: True)",
    );
    assert_eq!(row.status, Status::Passed);
    let skip = find(&collected, "SampleProject.xUnit.TestServiceTests.SkipTest");
    assert_eq!(skip.status, Status::Skipped);
    assert_eq!(
        collected.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2021-04-01T22:50:23.513716400+00:00")
    );
}

#[test]
fn trx_class_from_definitions_without_the_assembly() {
    // MSTest of 2012 names the class assembly-qualified and the test by its method alone.
    let collected = parse(
        &Trx,
        &fixture("trx/publish-unit-test-result-action/pickles.trx"),
    )
    .unwrap();
    let failed = find(
        &collected,
        "Pickles.TestHarness.MSTest.AdditionFeature.FailToAddTwoNumbers",
    );
    assert_eq!(failed.status, Status::Failed);
}

#[test]
fn trx_display_names_keep_their_class() {
    let collected = parse(&Trx, &fixture("trx/dorny-test-reporter/dotnet-trx.trx")).unwrap();
    assert_eq!(
        find(
            &collected,
            "DotnetTests.XUnitTests.CalculatorTests.Custom Name"
        )
        .status,
        Status::Passed
    );
}

/// MSTest's data-driven tests nest each row's result in the test's own (the schema's
/// `InnerResults`); the rows are the results, the summing parent is not.
#[test]
fn trx_data_driven_rows_replace_their_parent() {
    let report = br#"<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results>
    <UnitTestResult testId="p" testName="Rows" outcome="Failed" resultType="DataDrivenTest">
      <InnerResults>
        <UnitTestResult testId="p" testName="Rows (Data Row 0)" outcome="Passed" duration="00:00:01.5000000" />
        <UnitTestResult testId="p" testName="Rows (Data Row 1)" outcome="Failed">
          <Output><ErrorInfo><Message>Assert.AreEqual failed.</Message></ErrorInfo></Output>
        </UnitTestResult>
      </InnerResults>
    </UnitTestResult>
  </Results>
  <TestDefinitions>
    <UnitTest id="p"><TestMethod className="Ns.Class, Ns, Version=1.0.0.0" name="Rows" /></UnitTest>
  </TestDefinitions>
</TestRun>"#;
    let collected = parse(&Trx, report).unwrap();
    let got: Vec<(String, Status)> = collected
        .results
        .iter()
        .map(|r| (r.test.to_string(), r.status))
        .collect();
    assert_eq!(
        got,
        [
            ("Ns.Class.Rows (Data Row 0)".to_owned(), Status::Passed),
            ("Ns.Class.Rows (Data Row 1)".to_owned(), Status::Failed),
        ]
    );
    assert_eq!(collected.results[0].duration, Some(1.5));
    assert_eq!(
        collected.results[1].message.as_ref().unwrap(),
        "Assert.AreEqual failed."
    );
}

#[test]
fn nunit_outcome_duration_message_stack_trace_and_rows() {
    let collected = parse(
        &NUnit,
        &fixture("nunit/dorny-test-reporter/dotnet-nunit.xml"),
    )
    .unwrap();
    assert_eq!(collected.results.len(), 9);
    let row = find(
        &collected,
        "DotnetTests.XUnitTests.CalculatorTests.Is_Even_Number(3)",
    );
    assert_eq!(row.status, Status::Failed);
    assert_eq!(row.duration, Some(0.001098));
    assert_eq!(
        row.message.as_ref().unwrap(),
        "Expected: True\n  But was:  False"
    );
    assert!(detail(row, "text")
        .starts_with("   at DotnetTests.XUnitTests.CalculatorTests.Is_Even_Number(Int32 i) in "));
    let error = find(
        &collected,
        "DotnetTests.XUnitTests.CalculatorTests.Exception_In_Test",
    );
    assert_eq!(error.status, Status::Error);
    assert_eq!(detail(error, "label"), "Error");
    let skip = find(
        &collected,
        "DotnetTests.XUnitTests.CalculatorTests.Skipped_Test",
    );
    assert_eq!(skip.status, Status::Skipped);
    assert_eq!(skip.message.as_ref().unwrap(), "Skipped");
    assert_eq!(
        collected.timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2021-06-28T20:23:41+00:00")
    );
}

#[test]
fn the_same_test_has_the_same_identity_in_trx_and_nunit() {
    // dorny/test-reporter ran one test project with both loggers.
    let trx = parse(&Trx, &fixture("trx/dorny-test-reporter/dotnet-trx.trx")).unwrap();
    let nunit = parse(
        &NUnit,
        &fixture("nunit/dorny-test-reporter/dotnet-nunit.xml"),
    )
    .unwrap();
    for test in [
        "DotnetTests.XUnitTests.CalculatorTests.Failing_Test",
        "DotnetTests.XUnitTests.CalculatorTests.Exception_In_TargetTest",
        "DotnetTests.XUnitTests.CalculatorTests.Passing_Test",
        "DotnetTests.XUnitTests.CalculatorTests.Skipped_Test",
    ] {
        assert_eq!(
            find(&trx, test).status.is_failing(),
            find(&nunit, test).status.is_failing()
        );
    }
}

#[test]
fn truncated_reports_fail_with_their_place() {
    for (format, path) in [
        (
            &Trx as &dyn Format,
            "trx/dorny-test-reporter/dotnet-trx.trx",
        ),
        (&NUnit, "nunit/dorny-test-reporter/dotnet-nunit.xml"),
    ] {
        let whole = fixture(path);
        for cut in [whole.len() / 3, whole.len() / 2, whole.len() - 3] {
            let err = parse_err(format, &whole[..cut]);
            assert!(
                matches!(err.kind, ParseErrorKind::Truncated),
                "{path} cut at {cut}: {err}"
            );
            assert!(err.line > 1, "{err}");
            assert!(err.path.is_some(), "{err}");
        }
    }
}

#[test]
fn other_documents_are_not_these_formats() {
    let junit = fixture("junit/jest-junit/junit.xml");
    let nunit = fixture("nunit/dorny-test-reporter/dotnet-nunit.xml");
    let trx = fixture("trx/dorny-test-reporter/dotnet-trx.trx");
    for (format, report, says) in [
        (&Trx as &dyn Format, &junit, "not <TestRun>"),
        (
            &Trx,
            &nunit,
            "the root element is <test-run>, not <TestRun>",
        ),
        (
            &NUnit,
            &trx,
            "the root element is <TestRun>, not <test-run>",
        ),
        (&NUnit, &junit, "not <test-run>"),
    ] {
        let err = parse_err(format, report);
        assert!(
            matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{err}");
    }
    // Text: refused at its first byte, before the rest is read.
    let log = fixture("trial/tree/output.txt");
    for format in [&Trx as &dyn Format, &NUnit] {
        let err = parse_err(format, &log);
        assert!(
            matches!(err.kind, ParseErrorKind::NotThisFormat(_)),
            "{err}"
        );
        assert_eq!((err.line, err.column), (1, 1));
        let err = parse_err(format, b"");
        assert_eq!(
            err.to_string().rsplit(": ").next(),
            Some("the report is empty")
        );
    }
}

#[test]
fn hostile_reports_are_bounded() {
    // Nesting past the limit.
    let mut deep = b"<test-run>".to_vec();
    deep.extend(b"<test-suite>".repeat(DEPTH_LIMIT + 10));
    let err = parse_err(&NUnit, &deep);
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    // A message of 8 MiB keeps 64 KiB.
    let mut big =
        b"<test-run><test-case fullname=\"A.b\" result=\"Failed\"><failure><message>".to_vec();
    big.extend(std::iter::repeat_n(b'x', 8 << 20));
    big.extend(b"</message></failure></test-case></test-run>");
    let collected = parse(&NUnit, &big).unwrap();
    let message = collected.results[0].message.as_ref().unwrap();
    assert!(message.len() <= TEXT_LIMIT + 64, "{}", message.len());
    // A tag longer than the markup limit.
    let mut tag = b"<TestRun><Results><UnitTestResult testName=\"".to_vec();
    tag.extend(std::iter::repeat_n(b'y', 5 << 20));
    tag.extend(b"\" /></Results></TestRun>");
    let err = parse_err(&Trx, &tag);
    assert!(
        matches!(err.kind, ParseErrorKind::LimitExceeded(_)),
        "{err}"
    );
    // Outcomes that are not the format's, and results without a name, are said.
    let odd = br#"<TestRun><Results><UnitTestResult testName="a" outcome="Exploded" /><UnitTestResult testName="" outcome="Passed" /></Results></TestRun>"#;
    let collected = parse(&Trx, odd).unwrap();
    assert_eq!(collected.results.len(), 1);
    assert_eq!(collected.results[0].status, Status::Error);
    assert_eq!(collected.warnings.len(), 2, "{:?}", collected.warnings);
}
