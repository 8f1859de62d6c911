"""What the container tests share: podman calls, whether this machine can run containers, and
the suite's images packaged from the binaries Bazel built (tools/images --binaries: the
runtime stage of each Dockerfile, no compiler runs).

    reason = unusable(root)               # None, or why containers cannot run here (a skip)
    tag = build_images(root, "ct-1a2b")   # localhost/suite/<name>:<tag>; StepFailed on error
    remove_images(tag)
"""
import json
import os
import shutil
import subprocess
import tempfile

import suite_harness
from suite_harness import RUNFILES, StepFailed

IMAGES = ("identity", "billing", "questions", "migrate")


def podman(*args, check=True, timeout=120, **kw):
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise StepFailed(f"podman {' '.join(args[:3])}...: exit {proc.returncode}: "
                         f"{proc.stderr.strip()[-2000:]}")
    return proc


def image(name, tag):
    return f"localhost/suite/{name}:{tag}"


def unusable(root):
    """None when podman is installed, configured (tools/install-podman, idempotent) and can
    start the local base image; otherwise why not."""
    install = subprocess.run([os.path.join(root, "tools/install-podman")], capture_output=True,
                             text=True, timeout=900)
    if install.returncode != 0:
        return f"tools/install-podman failed: {install.stderr.strip()[-500:]}"
    probe = subprocess.run(["podman", "run", "--rm", "--network", "host", "--pull", "never",
                            "localhost/debian:12-slim", "true"], capture_output=True, text=True,
                           timeout=120)
    if probe.returncode != 0:
        return f"podman cannot run a container here: {probe.stderr.strip()[-500:]}"
    return None


def build_images(root, tag):
    """Packages the runfiles' binaries and migrations as the four images with `tag`, and
    checks each runs as a non-root user and carries no compiler or headers."""
    bins = tempfile.mkdtemp(prefix="suite-image-bins.")
    try:
        for svc, path in suite_harness.BINARIES.items():
            shutil.copy(os.path.join(RUNFILES, path), os.path.join(bins, svc))
        shutil.copy(os.path.join(RUNFILES, suite_harness.MIGRATE), os.path.join(bins, "migrate"))
        shutil.copytree(os.path.join(RUNFILES, suite_harness.MIGRATIONS),
                        os.path.join(bins, "migrations"), symlinks=False)
        # Only the images the suite's flow runs (the retention image is not started here).
        build = subprocess.run([os.path.join(root, "tools/images"), "--binaries", bins,
                                "--tag", tag, "--only", ",".join(IMAGES)],
                               capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(bins, ignore_errors=True)
    print(build.stdout, end="", flush=True)
    if build.returncode != 0:
        raise StepFailed(f"setup: tools/images --binaries: {build.stderr.strip()[-3000:]}")
    for name in IMAGES:
        cfg = json.loads(podman("image", "inspect", image(name, tag)).stdout)[0]
        user = cfg["Config"].get("User", "")
        if not user or user.split(":")[0] in ("0", "root"):
            raise StepFailed(f"setup: image suite/{name} runs as {user!r}, not a non-root uid")
        tools = podman("run", "--rm", "--read-only", "--network", "none", "--entrypoint",
                       "/bin/sh", image(name, tag), "-c",
                       "ls /usr/bin | grep -E '^(gcc|g\\+\\+|cc|c\\+\\+|ld|as)(-[0-9.]+)?$'; "
                       "ls /usr/include 2>/dev/null | head -3", check=False)
        if tools.stdout.strip():
            raise StepFailed(f"setup: image suite/{name} carries a compiler or headers: "
                             f"{tools.stdout.split()}")
    return tag


def remove_images(tag):
    for name in IMAGES:
        podman("rmi", "--force", image(name, tag), check=False, timeout=60)
