#!/usr/bin/env bash
# End-to-end test of contrib/buildbot: a real Buildbot master and worker (from PyPI, in a virtual
# environment) build a small Python + C project on this machine, over loopback only, and record
# every build in probtrack with the ProbtrackIngest step. Four commits by four authors (the first
# passes, one breaks a test, one adds a compiler warning, one fixes the test) go to Buildbot with
# `buildbot sendchange`; the test then checks probtrack's Problems, their starting and fixing
# changes and their people (JSON), and the builds' status texts in Buildbot's own database.
#
# Run it alone:   tests/buildbot/run_e2e.sh
# Environment:    PROBTRACK=path/to/probtrack (default: target/release/probtrack, built if missing)
#                 E2E_KEEP=1 keeps the temporary directory (printed) for a look afterwards
#                 PIP_INDEX_URL etc. as pip reads them
# Needs python3 with venv, git, cc, and network access to PyPI (or a pip cache). It takes a
# minute or two; .ci/run bounds it with `timeout 1200`. Every process it starts is stopped on
# exit, whatever the way out. The last line is `buildbot-e2e: N passed, M failed`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# Versions this test was run with; pinned so that a new release cannot break it unseen.
BUILDBOT_VERSION=4.3.0
TWISTED_VERSION=26.10.0

probtrack=${PROBTRACK:-$root/target/release/probtrack}
if [ ! -x "$probtrack" ]; then
    (cd "$root" && cargo build --release --locked --bin probtrack)
fi
probtrack=$(cd "$(dirname "$probtrack")" && pwd)/$(basename "$probtrack")

work=$(mktemp -d "${TMPDIR:-/tmp}/probtrack-buildbot-e2e.XXXXXX")
cleanup() {
    if [ "${E2E_KEEP:-}" = 1 ]; then
        echo "buildbot-e2e: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "buildbot-e2e: installing buildbot $BUILDBOT_VERSION into a virtual environment"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "buildbot==$BUILDBOT_VERSION" "buildbot-worker==$BUILDBOT_VERSION" "twisted==$TWISTED_VERSION"

# e2e.py starts the master and the worker as its children and stops them on every way out,
# including the SIGTERM that `timeout` sends to the whole process group.
"$work/venv/bin/python" "$here/e2e.py" --work "$work" --probtrack "$probtrack" \
    --module "$root/contrib/buildbot/probtrack_buildbot.py"
