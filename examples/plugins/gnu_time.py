#!/usr/bin/env python3
"""A probtrack metric plugin for GNU time's verbose report (`/usr/bin/time -v COMMAND`).

The protocol (docs/parsers.md, "Parser plugins"): the report comes on standard input (its name is
the last argument); probtrack's generic metric JSON (docs/metrics.md, "The generic forms") goes to
standard output. Register it in probtrack.toml:

    [parsers.gnu-time]
    produces = "metrics"
    command = ["python3", "examples/plugins/gnu_time.py"]
    content = 'Command being timed: '

and feed it with `probtrack ingest … --metrics time.txt` (time -v writes to standard error:
`/usr/bin/time -v -o time.txt make`).
"""
import json
import sys

# The lines kept: time -v's label -> (series name, unit).
KEPT = {
    "User time (seconds)": ("user_time", "s"),
    "System time (seconds)": ("system_time", "s"),
    "Maximum resident set size (kbytes)": ("peak_rss", "KiB"),
}


def seconds(clock):
    """`h:mm:ss` or `m:ss.ss` as seconds."""
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


command = None
metrics = []
for line in sys.stdin:
    label, _, value = line.strip().rpartition(": ")
    if label == "Command being timed":
        command = value.strip('"')
    elif label.startswith("Elapsed (wall clock) time"):
        metrics.append({"name": "wall_time", "value": seconds(value), "unit": "s"})
    elif label in KEPT:
        name, unit = KEPT[label]
        metrics.append({"name": name, "value": float(value), "unit": unit})
    elif label == "Exit status" and value != "0":
        sys.exit(f"the timed command failed (exit status {value}): its figures are not kept")
if command is None:
    sys.exit("no `Command being timed:` line: this is not the report of time -v")
for metric in metrics:
    metric["params"] = {"command": command}
    metric["direction"] = "lower"
json.dump({"metrics": metrics}, sys.stdout)
print()
