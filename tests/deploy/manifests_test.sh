#!/usr/bin/env bash
# Renders deploy/k8s/overlays/{dev,prod,prod-ha} with `kubectl kustomize` and checks them against the
# binaries' sources (see check_manifests.py for every rule). Runs under tools/test, which sets
# SUITE_REPO_ROOT; otherwise the repository is found through the runfiles' symlinks. Tagged
# "external" (never cached) because a service may read a new variable from any of its
# sources, not only from the files listed as data.
set -euo pipefail

here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}"
if [[ -n "${SUITE_REPO_ROOT:-}" ]]; then
  root=$SUITE_REPO_ROOT
else
  marker=$(readlink -f "$here/deploy/k8s/base/kustomization.yaml")
  root=${marker%/deploy/k8s/base/kustomization.yaml}
fi
command -v kubectl >/dev/null || { echo "kubectl is not installed (expected /usr/bin/kubectl)" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "python3-yaml is not installed (tools/install-deps)" >&2; exit 1; }

# kustomize refuses files reached through symlinks that leave the kustomization root, which
# is what runfiles are: render the repository's own copy.
exec python3 "$here/tests/deploy/check_manifests.py" "$root" \
  "$root/deploy/k8s/overlays/dev" "$root/deploy/k8s/overlays/prod" \
  "$root/deploy/k8s/overlays/prod-ha"
