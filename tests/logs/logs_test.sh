#!/usr/bin/env bash
# Runs logs_test.py (see there) with python3 from the runfiles.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}/tests/logs"
exec python3 "$here/logs_test.py"
