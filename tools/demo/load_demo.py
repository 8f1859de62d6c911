#!/usr/bin/env python3
"""Loads the demo question bank into a running suite through its public API (buf curl).

    tools/demo/load_demo.py --identity 127.0.0.1:50051 --questions 127.0.0.1:50053 \
        --session-file .local/secrets/admin-session

Reads the admin's e-mail and password from SUITE_ADMIN_EMAIL / SUITE_ADMIN_PASSWORD (never
from the command line, so they stay out of `ps`), logs in, writes the session token to
--session-file (mode 0600), creates the tags of tools/demo/questions.json (an existing slug is
kept) and imports the questions, published, in one client-streamed ImportQuestions call.
Questions are keyed by external_key, so a second run creates nothing. Exit status 1 with the
failing step on stderr.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUF = os.path.join(ROOT, "node_modules", ".bin", "buf")


class RpcError(Exception):
    def __init__(self, method, code, message):
        super().__init__(f"{method}: {code}: {message}")
        self.code = code


def call(addr, method, body, token=None, stream=None):
    """Calls `method` (package.Service/Rpc) over plaintext HTTP/2 with server reflection.

    `stream` (a list of messages) sends a client stream instead of `body`.
    """
    args = [BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", "@-"]
    if token:
        # Headers and body both from stdin: headers first, a blank line, then the body.
        args += ["-H", "@-"]
    args.append(f"http://{addr}/{method}")
    payload = "\n".join(json.dumps(m) for m in (stream if stream is not None else [body]))
    stdin = (f"Authorization: Bearer {token}\n\n" if token else "") + payload
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        try:
            err = json.loads(proc.stderr)
            raise RpcError(method, err.get("code", "unknown"), err.get("message", ""))
        except ValueError:
            raise RpcError(method, "unknown", proc.stderr.strip()) from None
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identity", default="127.0.0.1:50051")
    parser.add_argument("--questions", default="127.0.0.1:50053")
    parser.add_argument("--bank", default=os.path.join(HERE, "questions.json"))
    parser.add_argument("--session-file", required=True)
    args = parser.parse_args()

    email = os.environ.get("SUITE_ADMIN_EMAIL", "")
    password = os.environ.get("SUITE_ADMIN_PASSWORD", "")
    if not email or not password:
        sys.exit("load_demo: SUITE_ADMIN_EMAIL and SUITE_ADMIN_PASSWORD are required")
    with open(args.bank, encoding="utf-8") as f:
        bank = json.load(f)

    try:
        login = call(args.identity, "identity.v1.IdentityService/Login",
                     {"email": email, "password": password, "userAgent": "tools/run"})
        token = login["sessionToken"]
        fd = os.open(args.session_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")

        created_tags = 0
        for tag in bank["tags"]:
            try:
                call(args.questions, "questions.v1.QuestionBankService/CreateTag", tag, token)
                created_tags += 1
            except RpcError as e:
                if e.code != "already_exists":
                    raise
        tag_ids = {}
        page_token = ""
        while True:
            page = call(args.questions, "questions.v1.QuestionBankService/ListTags",
                        {"pageSize": 100, "pageToken": page_token}, token)
            for tag in page.get("tags", []):
                tag_ids[tag["slug"]] = tag["id"]
            page_token = page.get("nextPageToken", "")
            if not page_token:
                break

        items = []
        for q in bank["questions"]:
            items.append({
                "externalKey": q["external_key"],
                "stem": q["stem"],
                "explanation": q["explanation"],
                "difficulty": q["difficulty"],
                "choices": [{"text": text, "isCorrect": ok} for text, ok in q["choices"]],
                "tagIds": [tag_ids[slug] for slug in q["tags"]],
                "publish": True,
            })
        # Two batches, to exercise the stream; the server numbers items across batches.
        half = len(items) // 2
        result = call(args.questions, "questions.v1.QuestionBankService/ImportQuestions", None,
                      token, stream=[{"items": items[:half]}, {"items": items[half:]}])
    except (RpcError, KeyError, subprocess.TimeoutExpired) as e:
        sys.exit(f"load_demo: {e}")

    failed = result.get("failedCount", 0)
    print(f"demo bank: {created_tags} tags created, {result.get('createdCount', 0)} questions "
          f"created, {result.get('skippedCount', 0)} already there, {failed} rejected")
    if failed:
        for err in result.get("errors", []):
            print(f"  item {err.get('index')}: {err.get('field')}: {err.get('message')}",
                  file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
