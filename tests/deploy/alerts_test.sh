#!/usr/bin/env bash
# The operators' alerting rules (deploy/k8s/components/monitoring/suite.rules.yaml): valid for
# Prometheus (`promtool check rules`), and each alert fires on its synthetic fault and stays
# quiet on a healthy neighbour (`promtool test rules` with alerts_test.yaml). The dashboard is
# valid JSON whose every query is checked for the same metric names by
# tests/upgrade:metrics_names_test.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD/..}/${TEST_WORKSPACE:-suite}"
command -v promtool >/dev/null || { echo "promtool is not installed (Debian package prometheus, tools/install-deps)" >&2; exit 1; }
work="${TEST_TMPDIR:-$(mktemp -d)}/alerts"
mkdir -p "$work"
# promtool resolves rule_files next to the test file.
cp "$here/deploy/k8s/components/monitoring/suite.rules.yaml" "$here/tests/deploy/alerts_test.yaml" "$work/"
promtool check rules "$work/suite.rules.yaml"
(cd "$work" && promtool test rules alerts_test.yaml)
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["panels"], "no panels"' \
  "$here/deploy/k8s/components/monitoring/suite-dashboard.json"
echo "alerts_test: rules valid, every promtool case passed, dashboard parses"
