#!/usr/bin/env bash
# Checks deploy/docker/*.Dockerfile against the binaries Bazel built and tools/install-deps
# (see check_images.py). Tagged "external" like manifests_test: the Dockerfiles and
# tools/install-deps are read from the repository.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}"
if [[ -n "${SUITE_REPO_ROOT:-}" ]]; then
  root=$SUITE_REPO_ROOT
else
  marker=$(readlink -f "$here/deploy/docker/identity.Dockerfile")
  root=${marker%/deploy/docker/identity.Dockerfile}
fi
exec python3 "$here/tests/deploy/check_images.py" "$root" \
  identity="$here/services/identity/identity_server" \
  billing="$here/services/billing/billing_server" \
  questions="$here/services/questions/questions_server" \
  migrate="$here/migrations/migrate" \
  purge="$here/tools/purge/purge"
