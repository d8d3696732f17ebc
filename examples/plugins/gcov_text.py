#!/usr/bin/env python3
"""A probtrack coverage plugin for gcov's text files (`gcov calc.c` writes `calc.c.gcov`).

The protocol (docs/parsers.md, "Parser plugins"): the report comes on standard input (its name is
the last argument); an lcov tracefile (docs/coverage.md) goes to standard output. Register it in
probtrack.toml:

    [parsers.gcov]
    produces = "coverage"
    command = ["python3", "examples/plugins/gcov_text.py"]
    glob = "*.gcov"

Each line of a .gcov file is `COUNT:LINE:SOURCE`: COUNT is `-` (not executable), `#####` or
`=====` (never run; the latter only on exceptional paths), or a number, `*` marking a line some
of whose blocks did not run. Line 0 carries the header (`Source:calc.c`).
"""
import sys

source = None
lines = []
for number, text in enumerate(sys.stdin, 1):
    count, sep, rest = text.partition(":")
    line, sep2, content = rest.partition(":")
    if not sep or not sep2:
        sys.exit(f"line {number}: not COUNT:LINE:SOURCE")
    count, line = count.strip(), int(line)
    if line == 0:
        if content.startswith("Source:"):
            source = content[len("Source:"):].rstrip("\n")
        continue
    if count == "-":
        continue
    hits = 0 if count in ("#####", "=====") else int(count.rstrip("*"))
    lines.append((line, hits))
if source is None:
    sys.exit("no `Source:` header: this is not a gcov text file")
print("TN:")
print(f"SF:{source}")
for line, hits in lines:
    print(f"DA:{line},{hits}")
print("end_of_record")
