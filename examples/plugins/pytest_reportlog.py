#!/usr/bin/env python3
"""A probtrack parser plugin for pytest-reportlog's JSON Lines (`pytest --report-log=FILE`).

The protocol (docs/parsers.md, "Parser plugins"): the report comes on standard input (its name is
the last argument); one JSON object per line goes to standard output, in the shape that
`probtrack parse --format json` prints. Register it in probtrack.toml:

    [parsers.reportlog]
    command = ["python3", "examples/plugins/pytest_reportlog.py"]
    glob = "*.jsonl"
    content = '"\\$report_type": "SessionStart"'
"""
import json
import sys

tests = {}  # nodeid -> {"setup": report, "call": report, "teardown": report}
for line in sys.stdin:
    report = json.loads(line)
    if report.get("$report_type") == "TestReport":
        tests.setdefault(report["nodeid"], {})[report["when"]] = report


def message(longrepr):
    if isinstance(longrepr, dict):  # a failure: the crash line
        return (longrepr.get("reprcrash") or {}).get("message")
    if isinstance(longrepr, list):  # a skip: [path, line, "Skipped: reason"]
        return longrepr[2]
    return longrepr


for nodeid, phases in tests.items():
    call, failed = phases.get("call"), [p for p in phases.values() if p["outcome"] == "failed"]
    if call and call["outcome"] == "failed":
        status, cause = "failed", call
    elif failed:
        status, cause = "error", failed[0]  # setup or teardown broke
    elif call and "wasxfail" in call:
        status, cause = ("expected_failure" if call["outcome"] == "skipped" else "unexpected_success"), call
    elif not call or call["outcome"] == "skipped":
        status, cause = "skipped", phases.get("setup") or call
    else:
        status, cause = "passed", None
    # The identity pytest's JUnit XML gives the same test: `dir.module.test[params]`.
    path, _, name = nodeid.partition("::")
    test = path.removesuffix(".py").replace("/", ".") + "." + name.replace("::", ".")
    print(json.dumps({
        "test": test,
        "kind": "test",
        "status": status,
        "duration": sum(p.get("duration", 0) for p in phases.values()),
        "message": message(cause["longrepr"]) if cause else None,
        "details": {"when": cause["when"]} if cause else {},
        "attempts": 1,
    }))
