#!/usr/bin/env bash
# End-to-end test of contrib/buildbot and `probtrack import --buildbot`: a real Buildbot master and
# worker (from PyPI, in a virtual environment, with the plugin installed by pip from
# contrib/buildbot) build a small Python + C project on this machine, over loopback only, and
# record every build in probtrack with the ProbtrackIngest step. Six commits by four authors (the
# first passes, one breaks a test, one adds a compiler warning, one fixes the test, one breaks and
# one fixes another) go to Buildbot with `buildbot sendchange`; the test then checks probtrack's
# Problems, their starting and fixing changes and their people (JSON), and the builds' status texts
# in Buildbot's own database. Then `probtrack import --buildbot` reads the same history from the
# master's REST API into a fresh database, which must give the same builds, Problems, people and
# flaky ranking; a second import must add nothing, and a builder's test result sets come in too.
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
    "buildbot==$BUILDBOT_VERSION" "buildbot-worker==$BUILDBOT_VERSION" \
    "buildbot-www==$BUILDBOT_VERSION" "twisted==$TWISTED_VERSION"
# The plugin as a user installs it (then `steps.ProbtrackIngest` in master.cfg).
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root/contrib/buildbot"

# e2e.py starts the master and the worker as its children and stops them on every way out,
# including the SIGTERM that `timeout` sends to the whole process group.
"$work/venv/bin/python" "$here/e2e.py" --work "$work" --probtrack "$probtrack"
