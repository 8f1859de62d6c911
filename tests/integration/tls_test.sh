#!/usr/bin/env bash
# Runs tls_test.py (see there) with python3 from the runfiles.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}/tests/integration"
# No __pycache__ beside the sources: runfiles are symlinks into the work tree.
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$here/tls_test.py"
