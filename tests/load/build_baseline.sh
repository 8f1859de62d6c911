#!/usr/bin/env bash
# Builds identity, billing and questions as they were at a past commit (-c opt), for the
# bench's A/B stage, and prints the bazel-bin directory that holds them.
#
#   tests/load/build_baseline.sh REV
#
# The commit is checked out as a detached git worktree in $TMPDIR/suite-bench-baseline-REV
# (kept, and reused by the next run), built with its own Bazel output base
# ($SUITE_BAZEL_OUTPUT_BASE-baseline, or ~/.cache/bazel-baseline), so it never waits on the
# current tree's server; compiled objects still come from the shared disk cache of .bazelrc.
set -euo pipefail
rev=${1:?usage: build_baseline.sh REV}
cd "$(dirname "$0")/../.."
sha=$(git rev-parse --verify "$rev^{commit}")
dir=${TMPDIR:-/tmp}/suite-bench-baseline-${sha:0:7}
if ! git -C "$dir" rev-parse --verify HEAD >/dev/null 2>&1; then
  rm -rf "$dir"
  git worktree prune
  git worktree add --detach "$dir" "$sha" >&2
fi
[[ $(git -C "$dir" rev-parse HEAD) == "$sha" ]] || {
  echo "build_baseline: $dir is not at $sha" >&2
  exit 1
}
output_base=${SUITE_BAZEL_OUTPUT_BASE:-$HOME/.cache/bazel}-baseline
cd "$dir"
echo "build_baseline: building $rev (${sha:0:7}) -c opt in $dir" >&2
bazel --output_base="$output_base" build -c opt --noshow_progress \
  //services/identity:identity_server //services/billing:billing_server \
  //services/questions:questions_server >&2
bazel --output_base="$output_base" info -c opt bazel-bin 2>/dev/null
