#!/usr/bin/env bash
# Runs failover_test.py (see there) with python3 from the runfiles.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}/tests/ha"
# No __pycache__ beside the sources: runfiles are symlinks into the work tree.
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$here/failover_test.py"
