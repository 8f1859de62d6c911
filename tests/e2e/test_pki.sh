#!/usr/bin/env bash
# Makes a throw-away PKI for running the suite with TLS on one machine, in the layout of a
# `<svc>-tls` Secret (deploy/k8s/components/tls): DIR/ca.crt (a new CA, valid 2 days),
# DIR/tls.crt and DIR/tls.key (one server certificate for DNS:localhost and IP:127.0.0.1, signed
# by it; every service can serve it). EC P-256 keys, made with the openssl command line. Used by
# tools/bench (BENCH_TLS=1), tools/soak --tls and //tests/integration:tls_test.
#
#   tests/e2e/test_pki.sh DIR      # DIR is created if missing; prints nothing on success
set -euo pipefail
dir=${1:?usage: test_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
    -out ca.crt -days 2 -subj /CN=suite-test-ca
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout tls.key \
    -out tls.csr -subj /CN=suite
  echo "subjectAltName=DNS:localhost,IP:127.0.0.1" >san.ext
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 2 \
    -extfile san.ext
} >openssl.log 2>&1 || {
  cat openssl.log >&2
  exit 1
}
