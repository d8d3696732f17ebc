#!/usr/bin/env python3
"""The ingester a user would write by hand: junitparser + sqlite3 (a peer for scripts/bench).

usage: junitparser_sqlite.py HISTORY_DIR DB_PATH

Walks HISTORY_DIR/<builder>/<number>.xml in sorted order, parses each file with
`junitparser.JUnitXml.fromfile` and inserts one row per testcase into one table,

    results (builder TEXT, build INTEGER, test TEXT, status TEXT, duration REAL, message TEXT)

(test = classname.name; status = pass, failure, error or skipped; message = the result's
`message` attribute) of a fresh SQLite database with sqlite3's default settings (rollback
journal, synchronous=FULL), `executemany` and one transaction per file, no index. The same
script as ../shared/bench/peers/junit_to_sqlite.py (PEERS.md), with the builder and build
number as columns. Needs junitparser (scripts/bench installs junitparser==5.0.3 into
target/bench-data/venv). Prints {"files": F, "rows": N} as JSON.
"""
import json
import os
import sqlite3
import sys

from junitparser import Error, Failure, JUnitXml, Skipped


def status_of(case):
    results = case.result
    if not results:
        return "pass", None
    r = results[0]
    if isinstance(r, Failure):
        return "failure", r.message
    if isinstance(r, Error):
        return "error", r.message
    if isinstance(r, Skipped):
        return "skipped", r.message
    return r._tag, r.message


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    hist, db = sys.argv[1], sys.argv[2]
    if os.path.exists(db):
        os.remove(db)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE results (builder TEXT, build INTEGER, test TEXT, status TEXT, "
                 "duration REAL, message TEXT)")
    conn.commit()
    files = rows = 0
    for builder in sorted(os.listdir(hist)):
        bdir = os.path.join(hist, builder)
        if not os.path.isdir(bdir):
            continue
        for name in sorted(os.listdir(bdir)):
            if not name.endswith(".xml"):
                continue
            build = int(name[:-4]) if name[:-4].isdigit() else None
            batch = []
            for suite in JUnitXml.fromfile(os.path.join(bdir, name)):
                for case in suite:
                    status, message = status_of(case)
                    batch.append((builder, build, f"{case.classname}.{case.name}", status,
                                  case.time, message))
            with conn:  # one transaction per file
                conn.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)", batch)
            files += 1
            rows += len(batch)
    conn.close()
    print(json.dumps({"files": files, "rows": rows}))


if __name__ == "__main__":
    main()
