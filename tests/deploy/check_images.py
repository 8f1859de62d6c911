#!/usr/bin/env python3
"""Checks deploy/docker/*.Dockerfile against the binaries they package and tools/install-deps.

Usage: check_images.py REPO_ROOT NAME=BINARY_PATH...   (NAME: identity, billing, ...)

For every Dockerfile:
  - four stages: `build` (debian:12), `runtime` (debian:12-slim), `prebuilt` (runtime + a
    binary from the build context: what the container tests package) and the last, unnamed
    one (runtime + the binary of the build stage: the image that ships);
  - the builder installs every build package of tools/install-deps (APT_PACKAGES without the
    test-only ones), so the image builds exactly as CI does;
  - the runtime runs as a non-root numeric user and its ENTRYPOINT is the copied binary;
  - every shared library the built binary needs directly (ELF NEEDED, resolved with ldd and
    mapped to its Debian package with dpkg -S) is installed by the runtime stage or is part of
    debian:12-slim itself — so the image does not fail at start with a missing .so.
Writes JUnit XML to $XML_OUTPUT_FILE when set; exits 1 on any failure.
"""
import os
import re
import subprocess
import sys

import check_report

TEST_ONLY_PACKAGES = {"postgresql-15", "postgresql-contrib", "pgbouncer", "python3-yaml",
                      "nodejs", "npm", "clang-14", "libclang-rt-14-dev",  # clang: tools/fuzz
                      "prometheus"}  # promtool: tests/deploy:alerts_test
# Packages debian:12-slim already has (Priority: required) that binaries commonly link.
SLIM_BASE = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g"}


def stages(text):
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            words = line.split()
            name = words[3] if len(words) >= 4 and words[2].upper() == "AS" else None
            out.append({"from": words[1], "name": name, "lines": []})
        elif out and line and not line.startswith("#"):
            out[-1]["lines"].append(line)
    return out


def apt_packages(stage):
    pkgs = set()
    for line in stage["lines"]:
        for m in re.finditer(r"apt-get install ([^&;]*)", line):
            pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
    return pkgs


def install_deps_build_packages(root):
    text = open(os.path.join(root, "tools/install-deps"), encoding="utf-8").read()
    block = re.search(r"APT_PACKAGES=\((.*?)\)", text, re.S).group(1)
    return set(block.split()) - TEST_ONLY_PACKAGES


def needed_packages(binary):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", binary], check=True, capture_output=True,
                                       text=True).stdout)
    paths = {}
    for line in subprocess.run(["ldd", binary], check=True, capture_output=True,
                               text=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            paths[m.group(1)] = m.group(2)
    result = {}
    for lib in needed:
        if lib.startswith("ld-linux"):
            result[lib] = "libc6"  # the dynamic loader; ldd prints it without "=>"
            continue
        path = paths.get(lib)
        if path is None or path == "not":
            result[lib] = None
            continue
        real = os.path.realpath(path)
        owner = None
        for candidate in (path, real, real.replace("/usr/lib/", "/lib/"),
                          real.replace("/lib/", "/usr/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].strip()
                break
        result[lib] = owner
    return result


def main():
    root = sys.argv[1]
    binaries = dict(a.split("=", 1) for a in sys.argv[2:])
    build_pkgs = install_deps_build_packages(root)
    results = []
    for name in sorted(os.listdir(os.path.join(root, "deploy/docker"))):
        if not name.endswith(".Dockerfile"):
            continue
        svc = name[: -len(".Dockerfile")]
        st = stages(open(os.path.join(root, "deploy/docker", name), encoding="utf-8").read())
        shape = [(x["from"], x["name"]) for x in st]
        want = [("debian:12", "build"), ("debian:12-slim", "runtime"), ("runtime", "prebuilt"),
                 ("runtime", None)]
        if shape != want:
            results.append((f"{name}: stages", [f"expected FROM (image, AS name) {want}; got {shape}"]))
            continue
        results.append((f"{name}: stages", []))
        build, runtime_stage, prebuilt, final = st
        missing = build_pkgs - apt_packages(build)
        results.append((f"{name}: builder has the build packages of tools/install-deps",
                        [f"builder lacks {sorted(missing)}"] if missing else []))
        runtime = runtime_stage["lines"]
        problems = []
        users = [l.split()[1] for l in runtime if l.startswith("USER ")]
        if not users or users[-1].split(":")[0] in ("0", "root") or not users[-1].split(":")[0].isdigit():
            problems.append(f"runtime USER must be a numeric non-root uid, got {users}")
        entry = [l for l in runtime if l.startswith("ENTRYPOINT")]
        for stage, how in ((final, "COPY --from=build "), (prebuilt, "COPY ")):
            copies = [l.split()[-1] for l in stage["lines"] if l.startswith(how)]
            if not entry or not any(f'"{c}"' in entry[-1] for c in copies):
                problems.append(f"ENTRYPOINT {entry} is not a binary the {stage['name'] or 'last'} "
                                f"stage copies ({how.strip()}: {copies})")
        if any(l.startswith(("USER ", "RUN ")) for l in prebuilt["lines"] + final["lines"]):
            problems.append("the prebuilt and last stages may only copy the binary (no RUN, no USER)")
        results.append((f"{name}: runtime runs the binary as non-root", problems))
        binary = binaries.get(svc)
        if binary is None:
            results.append((f"{name}: runtime has every library the binary needs",
                            [f"no binary given for {svc}"]))
            continue
        have = apt_packages(runtime_stage) | SLIM_BASE
        problems = []
        for lib, pkg in sorted(needed_packages(binary).items()):
            if pkg is None:
                problems.append(f"{lib}: not found on this machine")
            elif pkg not in have:
                problems.append(f"{lib} comes from {pkg}, which the runtime stage does not install")
        results.append((f"{name}: runtime has every library the binary needs", problems))

    return check_report.report("deploy_images", results)


if __name__ == "__main__":
    sys.exit(main())
