#!/usr/bin/env bash
# Runs kube_play_test.py (see there) with python3 from the runfiles.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}/tests/deploy"
# No __pycache__ beside the sources: runfiles are symlinks into the work tree.
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$here/kube_play_test.py"
