"""The three server binaries over TLS, configured as deploy/k8s/components/tls configures them in
prod: each server reads its certificate and key from files (<SVC>_TLS_CERT_FILE,
<SVC>_TLS_KEY_FILE), billing and questions verify the servers they call against a CA file
(SUITE_TLS_CA_FILE), and the probes use the plaintext health port (<SVC>_HEALTH_PORT).

Checks, on a throw-away PKI (tests/e2e/test_pki.sh):
  - a client trusting the CA logs in at identity, and authenticated calls to billing and
    questions succeed, which needs their own calls to identity to verify its certificate;
  - a plaintext client is refused by every gRPC port;
  - every health port answers SERVING in plaintext, and serves nothing else;
  - questions restarted trusting another CA cannot authenticate anyone (UNAVAILABLE): its
    client really verifies the certificate;
  - every binary exits 0 on SIGTERM.

Prints `tls: FAILED at step '<step>': ...` and exits 1 on the first failure.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", ".."),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests", "e2e"))
from suite_harness import (RpcError, StepFailed, Suite, make_test_pki,  # noqa: E402
                           report_failure)

IDS = "identity.v1.IdentityService/"
BIS = "billing.v1.BillingService/"
QBS = "questions.v1.QuestionBankService/"


def expect(condition, message):
    if not condition:
        raise StepFailed(message)


def main():
    step = "setup"
    suite = None
    try:
        with tempfile.TemporaryDirectory() as workdir:
            tls_dir = os.path.join(workdir, "tls")
            ca = make_test_pki(tls_dir)
            # A second, unrelated CA: a client trusting it must refuse the servers.
            other_ca = make_test_pki(os.path.join(workdir, "other"))
            env = {"{SVC}_TLS_CERT_FILE": os.path.join(tls_dir, "tls.crt"),
                   "{SVC}_TLS_KEY_FILE": os.path.join(tls_dir, "tls.key"),
                   "SUITE_TLS_CA_FILE": ca}
            # Waits for SERVING over TLS; every service also gets a plaintext health port.
            suite = Suite.start(workdir, extra_env=env, tls_ca=ca, health_ports=True)

            step = "a client trusting the CA logs in at identity"
            login = suite.call("identity", IDS + "Login",
                               {"email": suite.admin_email, "password": suite.admin_password})
            token = login.get("sessionToken", "")
            expect(len(token) >= 32, f"no session token in {login}")

            step = "billing and questions authenticate the caller through identity over TLS"
            suite.call("billing", BIS + "GetEntitlement", {"userId": login["userId"]}, token)
            suite.call("questions", QBS + "GetUserStats", {}, token)

            step = "a plaintext client is refused by every gRPC port"
            plain = Suite(workdir)
            plain.ports = suite.ports
            for svc in ("identity", "billing", "questions"):
                try:
                    plain.call(svc, "grpc.health.v1.Health/Check", {}, timeout=5)
                    raise StepFailed(f"{svc} answered a plaintext call")
                except RpcError as e:
                    expect(e.code in ("transport", "unavailable", "internal", "unknown"),
                           f"{svc}: plaintext call failed with {e.code}: {e.message}")

            step = "every health port answers SERVING in plaintext, and nothing else"
            for svc in ("identity", "billing", "questions"):
                out = plain.call(f"{svc}_health", "grpc.health.v1.Health/Check", {}, timeout=5)
                expect(out.get("status") == "SERVING", f"{svc}: {out}")
                try:
                    plain.call(f"{svc}_health", IDS + "Login", {"email": "a@b.c"}, timeout=5)
                    raise StepFailed(f"{svc}'s health port answered Login")
                except RpcError as e:
                    expect(e.code == "unimplemented", f"{svc}: Login there gave {e.code}")

            step = "questions trusting another CA cannot reach identity"
            suite.stop(only=["questions"])
            suite.extra_env = dict(env, SUITE_TLS_CA_FILE=other_ca)
            suite.start_service("questions")
            try:
                suite.call("questions", QBS + "GetUserStats", {}, token)
                raise StepFailed("questions authenticated a caller through an identity whose "
                                 "certificate it should not trust")
            except RpcError as e:
                expect(e.code == "unavailable", f"want unavailable, got {e.code}: {e.message}")

            step = "SIGTERM: every binary exits 0"
            codes = suite.stop()
            expect(all(code == 0 for code in codes.values()), f"exit codes {codes}")
    except (StepFailed, RpcError) as e:
        report_failure("tls", f"step '{step}': {e}", suite)
        return 1
    finally:
        if suite:
            suite.close()
    print("tls: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
