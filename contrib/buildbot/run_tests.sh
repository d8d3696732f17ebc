#!/usr/bin/env bash
# The plugin's own tests: installs this package with pip into a fresh virtual environment with
# Buildbot (the versions tests/buildbot/run_e2e.sh pins), then runs tests/ with trial, as
# Buildbot's own step tests run. Needs python3 with venv and access to PyPI (or a pip cache).
# The last line is trial's verdict (PASSED or FAILED); the exit code is trial's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

BUILDBOT_VERSION=4.3.0
TWISTED_VERSION=26.10.0

work=$(mktemp -d "${TMPDIR:-/tmp}/probtrack-buildbot-plugin.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "buildbot==$BUILDBOT_VERSION" "twisted==$TWISTED_VERSION" "$here"
# From the tests' directory, so that `probtrack_buildbot` is the installed package (its entry
# point registered), not the source tree beside it.
cd "$here/tests"
"$work/venv/bin/python" -m twisted.trial --temp-directory "$work/_trial_temp" test_steps
