#!/usr/bin/env bash
# Runs bench_lib_test.py (Python unittest) for Bazel.
set -euo pipefail
exec python3 "$(dirname "$0")/bench_lib_test.py" -v
