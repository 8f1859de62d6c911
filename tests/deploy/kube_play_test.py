"""The dev overlay of deploy/k8s, played: `kubectl kustomize deploy/k8s/overlays/dev` (as
manifests_test renders it) run by `podman kube play --network host` on the images of
deploy/docker (runtime stage + the binaries Bazel built), against a fresh database of
tools/test's PostgreSQL:

  the migrate Job first (its pod must exit 0, not restarted) → the three Deployments with their
  ConfigMaps and Secrets → every probe of every container (startup, readiness, liveness: native
  gRPC, grpc.health.v1.Health/Check on the probe's port) answers SERVING, and the metrics port
  of the prometheus.io annotations serves /metrics → the pods run as the securityContext's user
  with a read-only root file system, /tmp (the emptyDir) writable and the env the manifests
  compute (IDENTITY_HASH_WORKERS from the CPU limit) → the bootstrap admin of the Secret logs in
  → `podman pod stop` (SIGTERM) drains every container to exit 0.

What the test changes in the rendered output, because podman 4.3 is not a cluster (each one
also in deploy/README.md "Played with podman"):
  - Job: podman has no Job kind; its pod template is played as a Pod (same spec).
  - Secrets: podman's secretKeyRef reads a podman secret holding a JSON map of base64 values;
    the test creates them (`podman secret create`) instead of Secret objects.
  - containerPort lists are dropped: podman refuses port mappings with host networking.
  - Host networking is one network namespace for all pods, where the cluster gives each pod
    its own: every port is moved to a free one (*_PORT and listen *_ADDR settings in ConfigMaps
    and env, probe ports, the metrics annotation alike), and the Service names in *_ADDR (no
    cluster DNS or Service IPs) become 127.0.0.1:<port>.
  - Names get a per-run suffix and images the run's tag, so runs never meet.
  - Service, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy: podman ignores them.
  - CronJob (the retention job): podman has no CronJob kind and nothing schedules it here; the
    purge it runs is tested by //tools/purge:purge_test.
"""
import base64
import copy
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.getcwd()),
                                os.environ.get("TEST_WORKSPACE", "suite"), "tests/e2e"))

import yaml  # noqa: E402

import suite_harness  # noqa: E402
from suite_harness import StepFailed, free_port, psql, with_db  # noqa: E402
from podman_images import build_images, image, podman, remove_images, unusable  # noqa: E402

PLAYED = ("ConfigMap", "Deployment")
IGNORED = ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
           "CronJob")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def step(text):
    print(f"kube: step: {text}", flush=True)


def interrupted(signum, frame):
    raise KeyboardInterrupt()


class Play:
    def __init__(self, root, workdir, run_id, tag):
        self.root = root
        self.workdir = workdir
        self.run_id = run_id
        self.tag = tag
        self.admin_url = os.environ.get("SUITE_TEST_PG_URL")
        self.database = None
        self.files = []         # played YAML files, for `podman kube down`
        self.secrets = []       # podman secrets made
        self.ports = {}         # (deployment, rendered port) -> port on this host
        self.pods = {}          # deployment / "migrate" -> pod name
        self.docs = []
        self.admin = ("admin-" + secrets.token_hex(4) + "@kube.example",
                      "Adm1n-" + secrets.token_urlsafe(18))

    # ---- rendering ----------------------------------------------------------------------------

    def render(self):
        out = subprocess.run(["kubectl", "kustomize",
                              os.path.join(self.root, "deploy/k8s/overlays/dev")],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise StepFailed(f"render: kubectl kustomize: {out.stderr.strip()}")
        self.docs = [d for d in yaml.safe_load_all(out.stdout) if d]
        kinds = {d["kind"] for d in self.docs}
        unknown = kinds - set(PLAYED) - set(IGNORED) - {"Job"}
        if unknown:
            raise StepFailed(f"render: kinds this test does not know how podman treats: {unknown}")
        if not any(d["kind"] == "Job" for d in self.docs):
            raise StepFailed("render: no migrate Job")

    def name(self, n):
        return f"{n}-{self.run_id}"

    def port(self, deployment, rendered):
        key = (deployment, int(rendered))
        if key not in self.ports:
            self.ports[key] = free_port()
        return self.ports[key]

    def deployments(self):
        return [d for d in self.docs if d["kind"] == "Deployment"]

    def config_of(self, dep):
        """The ConfigMap names a Deployment's containers take their env from."""
        return {ref["configMapRef"]["name"]
                for c in dep["spec"]["template"]["spec"]["containers"]
                for ref in c.get("envFrom", []) if "configMapRef" in ref}

    def adapt_pod_spec(self, spec, owner):
        spec = copy.deepcopy(spec)
        for c in spec["containers"]:
            c["image"] = image(c["image"].split("/")[-1].split(":")[0], self.tag)
            c.pop("ports", None)
            for probe in PROBES:
                p = c.get(probe)
                if p and "grpc" in p:
                    p["grpc"]["port"] = self.port(owner, p["grpc"]["port"])
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    ref["configMapRef"]["name"] = self.name(ref["configMapRef"]["name"])
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    ref["name"] = self.name(ref["name"])
                if "value" in e:
                    e["value"] = self.adapt_value(e["name"], str(e["value"]), owner)
        return spec

    def adapt_value(self, key, value, owner):
        """A setting of `owner` with its port moved: NAME_PORT=p, a listen address
        NAME_ADDR=host:p, or the address of another Deployment's Service (name:p, which
        becomes 127.0.0.1 and that Deployment's moved port)."""
        services = {d["metadata"]["name"] for d in self.deployments()}
        if key.endswith("_PORT") and value.isdigit():
            return str(self.port(owner, value))
        if key.endswith("_ADDR") and ":" in value:
            host, port = value.rsplit(":", 1)
            if port.isdigit():
                if host in services:
                    return f"127.0.0.1:{self.port(host, port)}"
                return f"{host}:{self.port(owner, port)}"
        return value

    def adapt_config(self, cm, owner):
        cm = copy.deepcopy(cm)
        cm["metadata"]["name"] = self.name(cm["metadata"]["name"])
        for k, v in cm.get("data", {}).items():
            cm["data"][k] = self.adapt_value(k, str(v), owner)
        return cm

    def write(self, name, docs):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        return path

    # ---- database and secrets -----------------------------------------------------------------

    def create_database(self):
        if not self.admin_url:
            raise StepFailed("setup: SUITE_TEST_PG_URL is not set (run through tools/test)")
        self.database = f"kube_{secrets.token_hex(6)}"
        psql(self.admin_url, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                             "'suite_owner') THEN CREATE ROLE suite_owner LOGIN CREATEROLE; END IF; "
                             "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        psql(self.admin_url, f"CREATE DATABASE {self.database} OWNER suite_owner")

    def url(self, role):
        return with_db(self.admin_url, role, self.database)

    def make_secret(self, name, values):
        payload = json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in values.items()})
        podman("secret", "create", self.name(name), "-", input=payload)
        self.secrets.append(self.name(name))

    def make_secrets(self):
        """The Secrets deploy/README.md lists, as an operator would create them."""
        self.make_secret("migrate-secrets", {"database-url": self.url("suite_owner")})
        self.make_secret("identity-secrets", {"database-url": self.url("identity_service"),
                                              "page-token-secret": secrets.token_hex(32)})
        self.make_secret("identity-bootstrap-admin", {"email": self.admin[0],
                                                      "password": self.admin[1]})
        self.make_secret("billing-secrets", {
            "database-url": self.url("billing_service"), "page-token-secret": secrets.token_hex(32),
            "stripe-webhook-secrets": "whsec_" + secrets.token_hex(24)})
        self.make_secret("questions-secrets", {"database-url": self.url("questions_service"),
                                               "page-token-secret": secrets.token_hex(32)})

    # ---- playing ------------------------------------------------------------------------------

    def play(self, path):
        self.files.append(path)
        out = podman("kube", "play", "--network", "host", path, check=False, timeout=300)
        if out.returncode != 0:
            raise StepFailed(f"podman kube play {os.path.basename(path)}: {out.stderr.strip()}")

    def container(self, pod):
        """The one app container of `pod` (podman names it <pod>-<container>)."""
        out = podman("ps", "-a", "--filter", f"pod={pod}", "--format", "{{.Names}}")
        names = [n for n in out.stdout.split() if not n.endswith("-infra")]
        if len(names) != 1:
            raise StepFailed(f"pod {pod}: expected one app container, got {names}")
        return names[0]

    def state(self, ctr):
        out = podman("inspect", "--format",
                     "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", ctr)
        status, code, restarts = out.stdout.split()
        return status, int(code), int(restarts)

    def run_job(self):
        job = next(d for d in self.docs if d["kind"] == "Job")
        tmpl = job["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": self.name(job["metadata"]["name"]),
                            "labels": tmpl["metadata"].get("labels", {})},
               "spec": self.adapt_pod_spec(tmpl["spec"], job["metadata"]["name"])}
        self.play(self.write("job.yaml", [pod]))
        self.pods["migrate"] = pod["metadata"]["name"]
        ctr = self.container(pod["metadata"]["name"])
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            status, code, restarts = self.state(ctr)
            if restarts or (status == "exited" and code != 0):
                raise StepFailed(f"migrate Job: exit {code} after {restarts} restart(s): "
                                 f"{podman('logs', ctr, check=False).stderr[-2000:]}")
            if status == "exited":
                return podman("logs", ctr, check=False)
            time.sleep(0.5)
        raise StepFailed("migrate Job: still running after 180 s")

    def run_services(self):
        docs = []
        for dep in self.deployments():
            owner = dep["metadata"]["name"]
            for cm in self.docs:
                if cm["kind"] == "ConfigMap" and cm["metadata"]["name"] in self.config_of(dep):
                    docs.append(self.adapt_config(cm, owner))
        for dep in self.deployments():
            owner = dep["metadata"]["name"]
            d = copy.deepcopy(dep)
            d["metadata"]["name"] = self.name(owner)
            d["spec"]["template"]["spec"] = self.adapt_pod_spec(dep["spec"]["template"]["spec"],
                                                                owner)
            ann = d["spec"]["template"]["metadata"].get("annotations", {})
            if "prometheus.io/port" in ann:
                ann["prometheus.io/port"] = str(self.port(owner, ann["prometheus.io/port"]))
            docs.append(d)
            # podman names a Deployment's pods <name>-pod-<i>.
            self.pods[owner] = f"{self.name(owner)}-pod-0"
        self.play(self.write("services.yaml", docs))

    # ---- checks -------------------------------------------------------------------------------

    def health(self, port):
        out = subprocess.run([os.path.join(self.root, "node_modules/.bin/buf"), "curl",
                              "--protocol", "grpc", "--http2-prior-knowledge", "--timeout", "5s",
                              "-d", "{}", f"http://127.0.0.1:{port}/grpc.health.v1.Health/Check"],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            return out.stderr.strip()
        return json.loads(out.stdout).get("status", "")

    def check_pod(self, dep):
        owner = dep["metadata"]["name"]
        spec = dep["spec"]["template"]["spec"]
        c = spec["containers"][0]
        ctr = self.container(self.pods[owner])
        for probe in PROBES:
            p = c.get(probe)
            if not p:
                raise StepFailed(f"{owner}: no {probe}")
            if "grpc" not in p:
                raise StepFailed(f"{owner}: {probe} is not a gRPC probe: {p}")
            port = self.port(owner, p["grpc"]["port"])
            deadline = time.monotonic() + 60
            status = ""
            while time.monotonic() < deadline:
                st, code, _ = self.state(ctr)
                if st == "exited":
                    raise StepFailed(f"{owner}: exited {code} before SERVING: "
                                     f"{podman('logs', ctr, check=False).stderr[-2000:]}")
                status = self.health(port)
                if status == "SERVING":
                    break
                time.sleep(0.5)
            if status != "SERVING":
                raise StepFailed(f"{owner}: {probe} (gRPC port {p['grpc']['port']}) answered "
                                 f"{status!r}, not SERVING")
            print(f"kube: {owner}: {probe} on port {p['grpc']['port']}: SERVING", flush=True)
        ann = dep["spec"]["template"]["metadata"].get("annotations", {})
        port = self.port(owner, ann["prometheus.io/port"])
        try:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}{ann.get('prometheus.io/path', '/metrics')}",
                    timeout=10) as resp:
                text = resp.read().decode()
        except OSError as e:
            raise StepFailed(f"{owner}: metrics port {ann['prometheus.io/port']}: {e}") from None
        if "grpc_server_handled_total" not in text:
            raise StepFailed(f"{owner}: /metrics has no grpc_server_handled_total")
        print(f"kube: {owner}: metrics on port {ann['prometheus.io/port']}: ok", flush=True)

        sc = c.get("securityContext", {})
        want_uid = str(sc.get("runAsUser", spec.get("securityContext", {}).get("runAsUser")))
        uid = podman("exec", ctr, "id", "-u").stdout.strip()
        if uid != want_uid or uid == "0":
            raise StepFailed(f"{owner}: runs as uid {uid}, the manifest says {want_uid}")
        if sc.get("readOnlyRootFilesystem"):
            if podman("exec", ctr, "touch", "/app/x", check=False).returncode == 0:
                raise StepFailed(f"{owner}: root file system writable despite readOnlyRootFilesystem")
        for m in c.get("volumeMounts", []):
            if podman("exec", ctr, "touch", f"{m['mountPath']}/probe", check=False).returncode:
                raise StepFailed(f"{owner}: volume {m['name']} at {m['mountPath']} not writable")
        env = dict(line.split("=", 1) for line in
                   podman("exec", ctr, "env").stdout.splitlines() if "=" in line)
        for e in c.get("env", []):
            if e["name"] not in env and not e.get("valueFrom", {}).get("secretKeyRef", {}).get(
                    "optional"):
                raise StepFailed(f"{owner}: {e['name']} is not in the container's environment")
        print(f"kube: {owner}: uid {uid}, read-only root, writable {[m['mountPath'] for m in c.get('volumeMounts', [])]}, "
              f"env complete", flush=True)

    def login_admin(self):
        port = self.port("identity", next(
            c for c in self.deployments() if c["metadata"]["name"] == "identity")
            ["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"])
        out = subprocess.run([os.path.join(self.root, "node_modules/.bin/buf"), "curl",
                              "--protocol", "grpc", "--http2-prior-knowledge", "-d",
                              json.dumps({"email": self.admin[0], "password": self.admin[1]}),
                              f"http://127.0.0.1:{port}/identity.v1.IdentityService/Login"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0 or len(json.loads(out.stdout).get("sessionToken", "")) < 32:
            raise StepFailed(f"identity Login as the bootstrap admin: {out.stderr.strip()}")

    def stop_all(self):
        """`podman pod stop` with the manifests' terminationGracePeriodSeconds (podman 4.3
        does not take it from the YAML); returns each app container's exit status."""
        codes = {}
        procs = {}
        for dep in self.deployments():
            owner = dep["metadata"]["name"]
            grace = dep["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
            procs[owner] = subprocess.Popen(
                ["podman", "pod", "stop", "--time", str(grace), self.pods[owner]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for owner, p in procs.items():
            p.wait(timeout=120)
            codes[owner] = self.state(self.container(self.pods[owner]))[1]
        return codes

    def close(self):
        for path in reversed(self.files):
            podman("kube", "down", path, check=False, timeout=120)
        for pod in self.pods.values():
            podman("pod", "rm", "--force", pod, check=False, timeout=60)
        for s in self.secrets:
            podman("secret", "rm", s, check=False)
        if self.database:
            try:
                psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            except subprocess.SubprocessError:
                pass


def main():
    root = suite_harness.repo_root()
    workdir = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp(prefix="kube.")
    run_id = f"kp{secrets.token_hex(4)}"
    reason = unusable(root)
    if reason:
        print(f"kube: SKIPPED: {reason}")
        return 0
    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    play = Play(root, workdir, run_id, run_id)
    try:
        step("render the dev overlay (kubectl kustomize)")
        play.render()
        step("images from the host-built binaries (tools/images --binaries)")
        build_images(root, run_id)
        play.create_database()
        play.make_secrets()
        step("the migrate Job runs first and exits 0")
        log = play.run_job()
        print("kube: migrate:", ((log.stdout + log.stderr).strip().splitlines() or [""])[-1],
              flush=True)
        step("the Deployments with their ConfigMaps and Secrets")
        play.run_services()
        for dep in play.deployments():
            play.check_pod(dep)
        step("the bootstrap admin of the Secret logs in")
        play.login_admin()
        step("podman pod stop (SIGTERM) drains every container to exit 0")
        codes = play.stop_all()
        if any(code != 0 for code in codes.values()):
            raise StepFailed(f"pod stop: exit statuses {codes}")
    except StepFailed as e:
        print(f"kube: FAILED at {e}", file=sys.stderr)
        for pod in play.pods.values():
            out = podman("ps", "-a", "--filter", f"pod={pod}", "--format", "{{.Names}}", check=False)
            for ctr in out.stdout.split():
                if not ctr.endswith("-infra"):
                    log = podman("logs", ctr, check=False)
                    print(f"--- end of {ctr}'s log ---\n{(log.stdout + log.stderr)[-3000:]}",
                          file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kube: interrupted; removing pods", file=sys.stderr)
        return 1
    finally:
        play.close()
        remove_images(run_id)
    print(f"kube: passed in {time.monotonic() - started:.0f}s (played files in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
