"""The report both deploy checks end with: one line per check, JUnit XML, a summary line.

    sys.exit(check_report.report("deploy_images", [("name", ["problem", ...]), ...]))

A check passes when its list of problems is empty. Writes JUnit XML to $XML_OUTPUT_FILE when
set (Bazel then shows each check as a test case); returns the exit code, 1 on any failure.
"""
import os
from xml.sax.saxutils import escape, quoteattr


def report(suite_name, results):
    failures = [(n, p) for n, p in results if p]
    for n, p in results:
        print(("FAIL " if p else "ok   ") + n)
        for line in p:
            print("       " + line)
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        with open(xml, "w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            f.write(f'<testsuites tests="{len(results)}" failures="{len(failures)}" errors="0">\n')
            f.write(f'<testsuite name="{suite_name}" tests="{len(results)}" '
                    f'failures="{len(failures)}" errors="0">\n')
            for n, p in results:
                f.write(f'<testcase name={quoteattr(n)} classname="deploy">')
                if p:
                    f.write(f'<failure message={quoteattr(p[0])}>{escape(chr(10).join(p))}</failure>')
                f.write("</testcase>\n")
            f.write("</testsuite>\n</testsuites>\n")
    print(f"{len(results) - len(failures)} checks passed, {len(failures)} failed")
    return 1 if failures else 0
