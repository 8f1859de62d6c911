"""End to end: the three built binaries on free ports against a fresh database, driven only
through `buf curl` and the webhook HTTP door (flow.py), then SIGTERM → every binary exits 0.

On failure it prints `e2e: FAILED at step '<step>': ...` and the end of each service's log.
"""
import os
import sys
import tempfile

from flow import Flow
from suite_harness import StepFailed, Suite, report_failure


def main():
    workdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp(prefix="e2e.")
    suite = None
    try:
        suite = Suite.start(workdir)
        flow = Flow(suite)
        flow.run()
        flow.operator_doors()
        print("e2e: step: SIGTERM stops every service with exit status 0")
        codes = suite.stop()
        if any(code != 0 for code in codes.values()):
            raise StepFailed(f"step 'SIGTERM': exit statuses {codes}")
    except StepFailed as e:
        report_failure("e2e", e, suite)
        return 1
    finally:
        if suite:
            suite.close()
    print("e2e: passed (logs in", workdir + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
