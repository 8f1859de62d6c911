#!/usr/bin/env python3
"""Checks the rendered Kubernetes manifests of deploy/k8s against the binaries' sources.

Usage: check_manifests.py REPO_ROOT OVERLAY_DIR...  (dev, prod, prod-ha)

Each overlay is rendered with `kubectl kustomize`; then, for every workload:
  - every service listens on all interfaces (<PREFIX>_LISTEN_HOST 0.0.0.0 or ::; the binaries
    default to loopback);
  - every probe is a native gRPC probe on the gRPC containerPort, and that port is the one the
    binary listens on (<PREFIX>_GRPC_PORT in its environment, PREFIX taken from
    LoadServerConfig("...") in services/<svc>/main.cc), and the one services.md fixes for the
    service; where that port serves TLS (<PREFIX>_TLS_CERT_FILE set), which the kubelet's gRPC
    probe cannot speak, every probe targets the plaintext health port instead
    (<PREFIX>_HEALTH_PORT, exposed as a containerPort);
  - a variable naming a file (*_FILE) points into a mounted volume, and into a Secret volume
    when its name looks secret (a TLS key): the path may be plain, the content may not;
  - every environment variable the manifests set (env and ConfigMap envFrom) is one the binary
    reads: a string literal in the sources that are the source of truth (the service's own
    non-test sources, shared/rpc/server/config.cc with the service's prefix, shared/db/config.cc,
    shared/rpc/server/tls.cc when the service calls LoadClientTlsConfig; the migrator's main for the
    migration Job; tools/purge's main and shared/db/config.cc for the retention CronJob);
  - a retention CronJob runs the purge image, with concurrencyPolicy Forbid, an
    activeDeadlineSeconds, and periods that are durations the binary parses;
  - no secret sits in plain configuration: a variable whose name contains PASSWORD, SECRET,
    TOKEN, DATABASE_URL or KEY comes from a secretKeyRef, no ConfigMap has such a key or a URL
    with a password, and no Secret object is rendered from the repository at all;
  - every container has requests and limits and runs non-root, with a read-only root
    filesystem and no privilege escalation; prod (and prod-*) runs at least two replicas
    (Deployment and HorizontalPodAutoscaler); the grace period exceeds the preStop pause + lame
    duck + drain timeout; each service has its Service, PodDisruptionBudget,
    HorizontalPodAutoscaler and NetworkPolicy; IDENTITY_ADDR and BILLING_ADDR name headless
    Services (client-side balancing with health checking).
An overlay named *-ha must run its database as a CloudNativePG Cluster (postgresql.cnpg.io/v1),
and every Cluster rendered anywhere is checked: at least 3 instances; a synchronous standby
(minSyncReplicas >= 1, or the synchronous stanza with number >= 1), fewer than the standbys
there are; instance requests and limits; WAL archiving and base backups to object storage
(barmanObjectStore with a destinationPath, WAL compression and credentials only from Secrets)
with a ScheduledBackup of that Cluster; every service and the migration Job pointed at its
read-write Service (PGHOST <cluster>-rw, libpq's own variable: the database-url Secrets carry
no host there); a NetworkPolicy that admits each of them to the instances on 5432.
Then it proves the checks can fail: mutated copies of the rendered dev overlay (an unknown
variable, a plain-text secret, a probe on the wrong port, one prod replica, no limits, a
writable root filesystem, a probe on a TLS port, a TLS key outside a Secret volume), and of
prod-ha (one instance, no synchronous standby, no ScheduledBackup, an inline backup key, a
service on the read-only Service) must each be rejected.

Writes a JUnit XML report to $XML_OUTPUT_FILE (one test case per check) when set, prints
failures, exits 1 if any.
"""
import copy
import glob
import os
import re
import subprocess
import sys

import yaml

import check_report

# services.md: the fixed contract ports.
CONTRACT_GRPC_PORTS = {"identity": 50051, "billing": 50052, "questions": 50053}
CONTRACT_OTHER_PORTS = {"billing": {"BILLING_WEBHOOK_PORT": 8082}}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|DATABASE_URL|KEY")
URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
LITERAL = re.compile(r'"([A-Z][A-Z0-9_]*)"')
DEFAULT_DRAIN_SECONDS = 20  # shared/rpc/server/config.h
# libpq's own environment variables: every binary that links shared/db (libpq) reads them
# for what its DATABASE_URL leaves out (libpq's "Environment Variables").
LIBPQ_ENV = {"PGHOST", "PGPORT", "PGDATABASE", "PGSSLMODE", "PGTARGETSESSIONATTRS",
             "PGAPPNAME", "PGCONNECT_TIMEOUT", "PGSSLROOTCERT"}
CNPG_API = "postgresql.cnpg.io/v1"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def literals(paths):
    names = set()
    for p in paths:
        names |= set(LITERAL.findall(read(p)))
    return names


class SourceTruth:
    """What each binary reads, from the repository's sources."""

    def __init__(self, root):
        self.root = root
        self.rpc_generic = literals([os.path.join(root, "shared/rpc/server/config.cc")])
        self.db = literals([os.path.join(root, "shared/db/config.cc")])
        self.tls = literals([os.path.join(root, "shared/rpc/server/tls.cc")])
        self.cache = {}

    def service(self, svc):
        """Returns (prefix, names) for services/<svc>, or raises ValueError."""
        if svc in self.cache:
            return self.cache[svc]
        main = os.path.join(self.root, "services", svc, "main.cc")
        if not os.path.exists(main):
            raise ValueError(f"services/{svc}/main.cc does not exist: the variables the "
                             f"{svc} binary reads are unknown")
        m = re.search(r'LoadServerConfig\(\s*"([A-Z0-9_]+)"', read(main))
        if not m:
            raise ValueError(f"services/{svc}/main.cc does not call LoadServerConfig(\"PREFIX\", ...)")
        prefix = m.group(1)
        files = [p for p in glob.glob(os.path.join(self.root, "services", svc, "**", "*.*"),
                                      recursive=True)
                 if p.endswith((".cc", ".h")) and not p.endswith("_test.cc")
                 and "/testing/" not in p and os.path.basename(p) != "errors.h"]
        own = literals(files)
        names = (own | self.db | LIBPQ_ENV | self.rpc_generic
                 | {f"{prefix}_{n}" for n in self.rpc_generic})
        if any("LoadClientTlsConfig" in read(p) for p in files):
            names |= self.tls
        self.cache[svc] = (prefix, names)
        return self.cache[svc]

    def migrate(self):
        return literals([os.path.join(self.root, "migrations/migrate_main.cc")]) | LIBPQ_ENV

    def purge(self):
        return literals([os.path.join(self.root, "tools/purge/purge_main.cc")]) | self.db


def render(overlay):
    out = subprocess.run(["kubectl", "kustomize", overlay], check=True, capture_output=True,
                         text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def names_file(name, value):
    """A *_FILE variable holding an absolute path: its secret is the file, checked by mount."""
    return name.endswith("_FILE") and value is not None and str(value).startswith("/")


def mounted_volume(spec, container_doc, path):
    """The volume (dict) mounted at the longest mountPath containing `path`, or None."""
    volumes = {v["name"]: v for v in spec.get("volumes", []) or []}
    best = None
    for m in container_doc.get("volumeMounts", []) or []:
        mp = m["mountPath"].rstrip("/")
        if path.startswith(mp + "/") and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    return volumes.get(best["name"]) if best else None


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)?", text.strip())
    if not m:
        return None
    n = int(m.group(1))
    return {None: n, "s": n, "ms": n / 1000, "m": n * 60}[m.group(2)]


def pre_stop_seconds(container_doc):
    """Seconds a preStop `sleep N` holds the container before SIGTERM (0 without one)."""
    command = (container_doc.get("lifecycle", {}).get("preStop", {}).get("exec", {})
               .get("command", []))
    if len(command) == 2 and os.path.basename(command[0]) == "sleep":
        return duration_seconds(command[1]) or 0
    return 0


def pod_workloads(docs):
    """(kind, name, pod spec, doc) for every Deployment, Job and CronJob."""
    for d in docs:
        if d.get("kind") in ("Deployment", "Job"):
            yield d["kind"], d["metadata"]["name"], d["spec"]["template"]["spec"], d
        elif d.get("kind") == "CronJob":
            yield (d["kind"], d["metadata"]["name"],
                   d["spec"]["jobTemplate"]["spec"]["template"]["spec"], d)


def check(docs, overlay_name, truth):
    """Returns a list of (check name, [problems])."""
    results = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    configmaps = {d["metadata"]["name"]: d.get("data", {}) or {} for d in by_kind.get("ConfigMap", [])}

    def result(name, problems):
        results.append((f"{overlay_name}: {name}", problems))

    # No Secret objects and no secrets in ConfigMaps.
    problems = [f"Secret {d['metadata']['name']} is rendered from the repository; secrets are "
                f"created out of band" for d in by_kind.get("Secret", [])]
    for cm, data in configmaps.items():
        for k, v in data.items():
            if SECRET_NAME.search(k) and not names_file(k, v):
                problems.append(f"ConfigMap {cm} has secret-looking key {k}")
            if URL_WITH_PASSWORD.search(str(v)):
                problems.append(f"ConfigMap {cm} key {k} holds a URL with a password")
    result("no secret in ConfigMaps or Secret objects", problems)

    retention = [d for d in by_kind.get("CronJob", [])
                 if any(c.get("image", "").startswith("suite/purge")
                        for c in d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"])]
    result("a retention CronJob runs the purge image",
           [] if retention else ["no retention CronJob (image suite/purge): nothing is ever purged"])

    for kind, name, spec, doc in pod_workloads(docs):
        containers = spec.get("containers", []) + spec.get("initContainers", [])
        pod_sc = spec.get("securityContext", {}) or {}
        # Security context and resources of every container.
        problems = []
        for c in containers:
            sc = c.get("securityContext", {}) or {}
            non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            if non_root is not True:
                problems.append(f"container {c['name']}: runAsNonRoot is not true")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                problems.append(f"container {c['name']}: runAsUser 0")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"container {c['name']}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"container {c['name']}: allowPrivilegeEscalation is not false")
            res = c.get("resources", {}) or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if not (res.get(part) or {}).get(r):
                        problems.append(f"container {c['name']}: no {part}.{r}")
        result(f"{kind} {name}: security context and resources", problems)

        # Environment: names known to the binary, secrets only by reference.
        problems = []
        env = {}  # name -> plain value or None when from a reference
        for c in containers:
            for ref in c.get("envFrom", []) or []:
                if "configMapRef" in ref:
                    cm = ref["configMapRef"]["name"]
                    if cm not in configmaps:
                        problems.append(f"container {c['name']}: envFrom ConfigMap {cm} is not rendered")
                    for k, v in configmaps.get(cm, {}).items():
                        env[k] = str(v)
                else:
                    problems.append(f"container {c['name']}: envFrom {list(ref)} cannot be "
                                    f"checked name by name; use env with secretKeyRef")
            for e in c.get("env", []) or []:
                n = e["name"]
                if "value" in e:
                    env[n] = str(e["value"])
                    if SECRET_NAME.search(n) and not names_file(n, e["value"]):
                        problems.append(f"{n} is set as a plain value; it must come from a secretKeyRef")
                else:
                    env[n] = None
                    vf = e.get("valueFrom", {}) or {}
                    if SECRET_NAME.search(n) and "secretKeyRef" not in vf:
                        problems.append(f"{n} comes from {list(vf)}, not a secretKeyRef")
        if kind == "Job":
            known, prefix = truth.migrate(), None
        elif kind == "CronJob":
            known, prefix = truth.purge(), None
        else:
            try:
                prefix, known = truth.service(name)
            except ValueError as error:
                problems.append(str(error))
                prefix, known = None, set()
        if known:
            for n in sorted(env):
                if n not in known:
                    problems.append(f"{n} is set but the {name} binary never reads it")
        for n, v in sorted(env.items()):
            if not names_file(n, v):
                continue
            volume = mounted_volume(spec, containers[0], v)
            if volume is None:
                problems.append(f"{n} is {v}, which no volumeMount of {containers[0]['name']} holds")
            elif SECRET_NAME.search(n) and "secret" not in volume:
                problems.append(f"{n} is {v}, in volume {volume['name']}, which is not a Secret")
        result(f"{kind} {name}: every variable is read by the binary; secrets by reference",
               problems)

        if kind == "CronJob":
            # A scheduled job must be bounded and must not pile up behind a slow run; its
            # periods must be durations the binary parses (it refuses to start otherwise).
            problems = []
            if doc["spec"].get("concurrencyPolicy") != "Forbid":
                problems.append(f"concurrencyPolicy is {doc['spec'].get('concurrencyPolicy')}, "
                                f"not Forbid")
            if not doc["spec"]["jobTemplate"]["spec"].get("activeDeadlineSeconds"):
                problems.append("the job has no activeDeadlineSeconds")
            for n, v in sorted(env.items()):
                if n.startswith("RETENTION_") and n not in ("RETENTION_SERVICES",
                                                            "RETENTION_METRICS_FILE",
                                                            "RETENTION_BATCH_SIZE",
                                                            "RETENTION_MAX_BATCHES"):
                    if v is None or not re.fullmatch(r"(\d+(\.\d+)?(h|m|s|ms))+", v):
                        problems.append(f"{n} is {v!r}, not a duration such as 720h")
            result(f"CronJob {name}: bounded, no pile-up, periods are durations", problems)
        if kind != "Deployment":
            continue
        c = spec["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        # Probes and the listening port.
        problems = []
        grpc_port = ports.get("grpc")
        if grpc_port is None:
            problems.append("no containerPort named grpc")
        if CONTRACT_GRPC_PORTS.get(name) not in (None, grpc_port):
            problems.append(f"gRPC containerPort {grpc_port} is not the contract port "
                            f"{CONTRACT_GRPC_PORTS[name]} of services.md")
        tls = prefix is not None and bool(env.get(f"{prefix}_TLS_CERT_FILE"))
        health = env.get(f"{prefix}_HEALTH_PORT", env.get("HEALTH_PORT")) if prefix else None
        health_port = int(health) if health and health.isdigit() else None
        if health is not None and health_port not in ports.values():
            problems.append(f"{prefix}_HEALTH_PORT is {health}, which is not a containerPort")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            p = c.get(probe)
            if p is None:
                if probe != "startupProbe":
                    problems.append(f"no {probe}")
                continue
            if "grpc" not in p:
                problems.append(f"{probe} is not a native gRPC probe")
                continue
            target = p["grpc"].get("port")
            if tls and target == grpc_port:
                problems.append(f"{probe} targets the gRPC port {grpc_port}, which serves TLS, "
                                f"which the kubelet's gRPC probe cannot speak: probe the "
                                f"plaintext health port ({prefix}_HEALTH_PORT)")
            elif tls and health_port is None:
                problems.append(f"{probe}: the gRPC port serves TLS and {prefix}_HEALTH_PORT is "
                                f"not set")
            elif target not in (grpc_port, health_port):
                problems.append(f"{probe} targets port {target}, the container exposes gRPC on "
                                f"{grpc_port}" + (f" and health on {health_port}"
                                                  if health_port else ""))
        if prefix is not None:
            listen = env.get(f"{prefix}_GRPC_PORT", env.get("GRPC_PORT"))
            addr = env.get(f"{prefix}_GRPC_ADDR", env.get("GRPC_ADDR"))
            if addr:
                listen = addr.rsplit(":", 1)[-1]
            if listen is None:
                problems.append(f"{prefix}_GRPC_PORT is not set: the binary would listen on its "
                                f"default port")
            elif str(listen) != str(grpc_port):
                problems.append(f"the binary listens on {listen} ({prefix}_GRPC_PORT), the "
                                f"probes and containerPort say {grpc_port}")
            # The binaries bind 127.0.0.1 unless told otherwise (shared/rpc/server/config.h); in a
            # pod the kubelet, the Service and Prometheus come in on the pod IP.
            host = env.get(f"{prefix}_LISTEN_HOST", env.get("LISTEN_HOST"))
            if host not in ("0.0.0.0", "::", "[::]"):
                problems.append(f"{prefix}_LISTEN_HOST is {host!r}: the binary would listen on "
                                f"loopback only; set it to 0.0.0.0 (or ::)")
            metrics = env.get(f"{prefix}_METRICS_PORT", env.get("METRICS_PORT"))
            if "metrics" in ports and str(metrics) != str(ports["metrics"]):
                problems.append(f"containerPort metrics {ports['metrics']} but "
                                f"{prefix}_METRICS_PORT is {metrics}")
            for var, port in CONTRACT_OTHER_PORTS.get(name, {}).items():
                if str(env.get(var)) != str(port) or port not in ports.values():
                    problems.append(f"{var} must be {port} and exposed as a containerPort")
            drain = duration_seconds(env.get(f"{prefix}_GRPC_DRAIN_TIMEOUT",
                                             env.get("GRPC_DRAIN_TIMEOUT", "20s")))
            lame_duck = duration_seconds(env.get(f"{prefix}_GRPC_LAME_DUCK",
                                                 env.get("GRPC_LAME_DUCK", "2s")))
            pre_stop = pre_stop_seconds(c)
            grace = spec.get("terminationGracePeriodSeconds", 30)
            if drain is None or lame_duck is None or not grace > pre_stop + lame_duck + drain:
                problems.append(f"terminationGracePeriodSeconds {grace} does not exceed the "
                                f"preStop pause {pre_stop}s + lame duck {lame_duck}s + drain "
                                f"timeout {drain}s")
            # The services' channels balance over the callee's pods and watch their health
            # (shared/rpc/server/tls.h): the name they call must resolve to the pods, i.e. name a
            # headless Service, or a rolling upgrade of the callee fails calls.
            for var in ("IDENTITY_ADDR", "BILLING_ADDR"):
                if var in env:
                    host = re.sub(r"^dns:///", "", str(env[var])).rsplit(":", 1)[0]
                    host = host.split(".")[0]
                    target = [s for s in by_kind.get("Service", [])
                              if s["metadata"]["name"] == host]
                    if not target:
                        problems.append(f"{var}={env[var]} names no Service of the manifests")
                    elif target[0]["spec"].get("clusterIP") != "None":
                        problems.append(f"{var}={env[var]} names Service {host}, which is not "
                                        f"headless (clusterIP: None): callers could not "
                                        f"balance over its pods nor watch their health")
        result(f"Deployment {name}: probes, ports and drain", problems)

        # Replicas and companions.
        problems = []
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
                if h["spec"]["scaleTargetRef"]["name"] == name]
        if overlay_name.split("-")[0] == "prod":
            if doc["spec"].get("replicas", 1) < 2:
                problems.append(f"prod replicas {doc['spec'].get('replicas', 1)} < 2")
            for h in hpas:
                if h["spec"].get("minReplicas", 1) < 2:
                    problems.append(f"prod HPA minReplicas {h['spec'].get('minReplicas', 1)} < 2")
        labels = doc["spec"]["template"]["metadata"]["labels"]

        def selects(selector):
            return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
        if not hpas:
            problems.append("no HorizontalPodAutoscaler")
        if not any(selects(s["spec"].get("selector")) for s in by_kind.get("Service", [])):
            problems.append("no Service")
        else:
            for s in by_kind["Service"]:
                if selects(s["spec"].get("selector")):
                    for sp in s["spec"]["ports"]:
                        t = sp.get("targetPort", sp["port"])
                        if t not in ports and t not in ports.values():
                            problems.append(f"Service {s['metadata']['name']} targets {t}, "
                                            f"not a containerPort")
        if not any(selects(p["spec"]["selector"].get("matchLabels"))
                   for p in by_kind.get("PodDisruptionBudget", [])):
            problems.append("no PodDisruptionBudget")
        policies = [p for p in by_kind.get("NetworkPolicy", [])
                    if selects(p["spec"]["podSelector"].get("matchLabels"))]
        if not policies:
            problems.append("no NetworkPolicy of its own")
        for p in policies:
            for rule in p["spec"].get("ingress", []):
                for rp in rule.get("ports", []):
                    if rp["port"] not in ports.values():
                        problems.append(f"NetworkPolicy {p['metadata']['name']} opens port "
                                        f"{rp['port']}, which the container does not expose")
        result(f"Deployment {name}: replicas, Service, PDB, HPA, NetworkPolicy", problems)
    return results


def workload_env(docs, kind, name):
    """The plain environment of a workload's first container: env values and its ConfigMaps'."""
    configmaps = {d["metadata"]["name"]: d.get("data", {}) or {} for d in docs
                  if d["kind"] == "ConfigMap"}
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            c = d["spec"]["template"]["spec"]["containers"][0]
            env = {}
            for ref in c.get("envFrom", []) or []:
                env.update({k: str(v) for k, v in
                            configmaps.get(ref.get("configMapRef", {}).get("name"), {}).items()})
            for e in c.get("env", []) or []:
                if "value" in e:
                    env[e["name"]] = str(e["value"])
            return env
    return {}


def secret_refs_only(value, path=""):
    """Paths under a credentials block that hold something other than a {name, key} Secret
    reference (an inline key)."""
    bad = []
    if isinstance(value, dict):
        if set(value) >= {"name", "key"} and all(isinstance(v, str) for v in value.values()):
            return []
        for k, v in value.items():
            if k == "inheritFromIAMRole" or k == "inheritFromAzureAD":
                continue
            bad += secret_refs_only(v, f"{path}.{k}")
    else:
        bad.append(path)
    return bad


def check_database(docs, overlay_name):
    """The CloudNativePG Cluster(s) of an overlay: returns a list of (check name, [problems])."""
    results = []
    clusters = [d for d in docs if d.get("kind") == "Cluster" and d.get("apiVersion") == CNPG_API]
    if overlay_name.endswith("-ha") and not clusters:
        results.append((f"{overlay_name}: the database is a CloudNativePG Cluster",
                        [f"no {CNPG_API} Cluster is rendered"]))
    for cl in clusters:
        name = cl["metadata"]["name"]
        spec = cl.get("spec", {}) or {}
        problems = []
        instances = spec.get("instances", 1)
        if instances < 3:
            problems.append(f"instances {instances} < 3")
        sync = (spec.get("postgresql", {}) or {}).get("synchronous")
        if sync is not None:
            number = sync.get("number", 0)
            if sync.get("method") not in ("any", "first") or number < 1:
                problems.append(f"postgresql.synchronous {sync}: no synchronous standby")
            elif number >= instances:
                problems.append(f"synchronous number {number} >= instances {instances}")
        else:
            lo, hi = spec.get("minSyncReplicas", 0), spec.get("maxSyncReplicas", 0)
            if lo < 1 or hi < lo:
                problems.append(f"minSyncReplicas {lo}, maxSyncReplicas {hi}: COMMIT would not "
                                f"wait for any standby")
            elif hi >= instances:
                problems.append(f"maxSyncReplicas {hi} >= instances {instances}")
        res = spec.get("resources", {}) or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if not (res.get(part) or {}).get(r):
                    problems.append(f"instances have no {part}.{r}")
        results.append((f"{overlay_name}: Cluster {name}: instances and synchronous standby",
                        problems))

        problems = []
        store = ((spec.get("backup", {}) or {}).get("barmanObjectStore")) or {}
        if not store.get("destinationPath"):
            problems.append("no backup.barmanObjectStore.destinationPath: WAL is archived nowhere")
        if not (store.get("wal", {}) or {}).get("compression"):
            problems.append("WAL archiving without compression")
        creds = [k for k in ("s3Credentials", "azureCredentials", "googleCredentials") if k in store]
        if store and not creds:
            problems.append("backup.barmanObjectStore has no credentials")
        for k in creds:
            for path in secret_refs_only(store[k], k):
                problems.append(f"backup credential {path} is not a Secret reference")
        schedules = [d for d in docs if d.get("kind") == "ScheduledBackup"
                     and d.get("apiVersion") == CNPG_API
                     and ((d.get("spec", {}) or {}).get("cluster", {}) or {}).get("name") == name]
        if not schedules:
            problems.append(f"no ScheduledBackup of Cluster {name}")
        for sb in schedules:
            fields = str(sb["spec"].get("schedule", "")).split()
            if len(fields) != 6:
                problems.append(f"ScheduledBackup {sb['metadata']['name']} schedule "
                                f"{sb['spec'].get('schedule')!r} is not a 6-field cron "
                                f"(seconds first)")
            if sb["spec"].get("method", "barmanObjectStore") != "barmanObjectStore":
                problems.append(f"ScheduledBackup {sb['metadata']['name']} method "
                                f"{sb['spec'].get('method')} does not go to the object store")
        results.append((f"{overlay_name}: Cluster {name}: WAL archive and scheduled backups",
                        problems))

        problems = []
        users = [(d["kind"], d["metadata"]["name"]) for d in docs
                 if d["kind"] in ("Deployment", "Job")]
        for kind, wname in users:
            env = workload_env(docs, kind, wname)
            host = env.get("PGHOST")
            if host not in (f"{name}-rw", f"{name}-rw.{cl['metadata'].get('namespace')}"):
                problems.append(f"{kind} {wname}: PGHOST is {host!r}, not the read-write "
                                f"Service {name}-rw")
            if env.get("DB_PREPARED_STATEMENTS") == "false" and kind == "Deployment":
                problems.append(f"{kind} {wname}: DB_PREPARED_STATEMENTS false, but "
                                f"{name}-rw is PostgreSQL itself, not PgBouncer")
        selector = {"cnpg.io/cluster": name}
        admitted = set()
        for p in docs:
            if p["kind"] != "NetworkPolicy":
                continue
            if (p["spec"]["podSelector"].get("matchLabels") or {}) != selector:
                continue
            for rule in p["spec"].get("ingress", []):
                if not any(rp.get("port") == 5432 for rp in rule.get("ports", [])):
                    continue
                for src in rule.get("from", []):
                    label = ((src.get("podSelector") or {}).get("matchLabels") or {}).get(
                        "app.kubernetes.io/name")
                    if label:
                        admitted.add(label)
        for kind, wname in users:
            if wname not in admitted:
                problems.append(f"no NetworkPolicy admits {wname} to the {name} instances on 5432")
        results.append((f"{overlay_name}: Cluster {name}: services on its read-write Service",
                        problems))
    return results


def container(docs, kind, name):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d, d["spec"]["template"]["spec"]["containers"][0]
    raise KeyError(name)


def database_mutations(prod_ha):
    """Each mutation of the rendered prod-ha overlay must make check_database() fail."""
    def cluster(docs):
        return next(d for d in docs if d["kind"] == "Cluster")

    def one_instance(docs):
        cluster(docs)["spec"]["instances"] = 1

    def no_sync_standby(docs):
        spec = cluster(docs)["spec"]
        spec.pop("minSyncReplicas", None)
        spec.pop("maxSyncReplicas", None)
        spec.setdefault("postgresql", {}).pop("synchronous", None)

    def no_scheduled_backup(docs):
        docs[:] = [d for d in docs if d["kind"] != "ScheduledBackup"]

    def inline_backup_key(docs):
        cluster(docs)["spec"]["backup"]["barmanObjectStore"]["s3Credentials"][
            "secretAccessKey"] = "AKIA-not-a-reference"

    def service_on_read_only(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "questions-config":
                d["data"]["PGHOST"] = "suite-db-ro"

    cases = [
        (one_instance, "instances 1 < 3"),
        (no_sync_standby, "COMMIT would not wait for any standby"),
        (no_scheduled_backup, "no ScheduledBackup of Cluster suite-db"),
        (inline_backup_key, "backup credential s3Credentials.secretAccessKey is not a Secret"),
        (service_on_read_only, "Deployment questions: PGHOST is 'suite-db-ro'"),
    ]
    out = []
    for mutate, expected in cases:
        name = f"self-test: prod-ha {mutate.__name__} is rejected"
        if prod_ha is None:
            out.append((name, ["the prod-ha overlay did not render, so this self-test could not run"]))
            continue
        docs = copy.deepcopy(prod_ha)
        try:
            mutate(docs)
        except (KeyError, IndexError, TypeError, StopIteration) as error:
            out.append((name, [f"could not apply the mutation: {error!r}"]))
            continue
        problems = [line for _, p in check_database(docs, "prod-ha") for line in p]
        hit = any(expected in line for line in problems)
        out.append((name, [] if hit else [f"expected a failure containing {expected!r}, got "
                                          f"{problems}"]))
    return out


def mutations(dev, prod, truth):
    """Each mutation must make check() fail; returns (check name, problems). Mutations of the
    TLS setup apply to the prod overlay (None: those are skipped, and say so)."""
    def unknown_variable(docs):
        container(docs, "Deployment", "identity")[1]["env"].append(
            {"name": "IDENTITY_NO_SUCH_SETTING", "value": "1"})

    def unknown_configmap_key(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "billing-config":
                d["data"]["BILLING_GRPC_PORTT"] = "50052"

    def plain_secret(docs):
        c = container(docs, "Deployment", "billing")[1]
        c["env"] = [e for e in c["env"] if e["name"] != "DATABASE_URL"]
        c["env"].append({"name": "DATABASE_URL", "value": "postgresql://billing_service:pw@db/suite"})

    def secret_in_configmap(docs):
        for d in docs:
            if d["kind"] == "ConfigMap":
                d["data"]["QUESTIONS_PAGE_TOKEN_SECRET"] = "not-so-secret"
                return

    def probe_wrong_port(docs):
        container(docs, "Deployment", "questions")[1]["readinessProbe"]["grpc"]["port"] = 50051

    def listen_elsewhere(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "identity-config":
                d["data"]["IDENTITY_GRPC_PORT"] = "50099"

    def loopback_only(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "billing-config":
                del d["data"]["BILLING_LISTEN_HOST"]

    def one_prod_replica(docs):
        container(docs, "Deployment", "billing")[0]["spec"]["replicas"] = 1

    def no_limits(docs):
        del container(docs, "Job", "migrate")[1]["resources"]["limits"]

    def writable_root(docs):
        container(docs, "Deployment", "identity")[1]["securityContext"]["readOnlyRootFilesystem"] = False

    def grpc_probe_on_tls_port(docs):
        container(docs, "Deployment", "identity")[1]["readinessProbe"]["grpc"]["port"] = 50051

    def tls_without_health_port(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "questions-config":
                del d["data"]["QUESTIONS_HEALTH_PORT"]

    def tls_key_outside_secret(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "billing-config":
                d["data"]["BILLING_TLS_KEY_FILE"] = "/tmp/tls.key"

    def short_grace(docs):
        container(docs, "Deployment", "identity")[0]["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"] = 10

    def no_room_for_lame_duck(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "billing-config":
                d["data"]["BILLING_GRPC_LAME_DUCK"] = "15s"

    def callee_behind_virtual_ip(docs):
        for d in docs:
            if d["kind"] == "Service" and d["metadata"]["name"] == "identity":
                del d["spec"]["clusterIP"]

    def retention_job(docs):
        for d in docs:
            if d["kind"] == "CronJob" and d["metadata"]["name"] == "retention":
                return d
        raise KeyError("retention")

    def no_retention_cronjob(docs):
        docs.remove(retention_job(docs))

    def unbounded_retention(docs):
        del retention_job(docs)["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]

    def retention_piles_up(docs):
        retention_job(docs)["spec"]["concurrencyPolicy"] = "Allow"

    def retention_period_not_a_duration(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "retention-config":
                d["data"]["RETENTION_LOGIN_ATTEMPTS"] = "90 days"

    def retention_unknown_variable(docs):
        for d in docs:
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "retention-config":
                d["data"]["RETENTION_LOGIN_ATTEMPT"] = "2160h"

    # Each mutation with the problem it must be rejected for.
    cases = [
        (unknown_variable, "IDENTITY_NO_SUCH_SETTING is set but the identity binary never reads it"),
        (unknown_configmap_key, "BILLING_GRPC_PORTT is set but the billing binary never reads it"),
        (plain_secret, "DATABASE_URL is set as a plain value"),
        (secret_in_configmap, "has secret-looking key QUESTIONS_PAGE_TOKEN_SECRET"),
        (probe_wrong_port, "readinessProbe targets port 50051, the container exposes gRPC on 50053"),
        (listen_elsewhere, "the binary listens on 50099 (IDENTITY_GRPC_PORT)"),
        (loopback_only, "BILLING_LISTEN_HOST is None: the binary would listen on loopback only"),
        (no_limits, "container migrate: no limits.cpu"),
        (writable_root, "container identity: readOnlyRootFilesystem is not true"),
        (short_grace, "terminationGracePeriodSeconds 10 does not exceed the preStop pause"),
        (no_room_for_lame_duck, "terminationGracePeriodSeconds 35 does not exceed the preStop "
                                "pause 5s + lame duck 15s + drain timeout 20s"),
        (callee_behind_virtual_ip, "IDENTITY_ADDR=identity:50051 names Service identity, which "
                                   "is not headless"),
        (one_prod_replica, "prod replicas 1 < 2"),
        (grpc_probe_on_tls_port, "readinessProbe targets the gRPC port 50051, which serves TLS"),
        (tls_without_health_port, "the gRPC port serves TLS and QUESTIONS_HEALTH_PORT is not set"),
        (tls_key_outside_secret, "BILLING_TLS_KEY_FILE is /tmp/tls.key, in volume tmp, which is "
                                 "not a Secret"),
        (no_retention_cronjob, "no retention CronJob"),
        (unbounded_retention, "the job has no activeDeadlineSeconds"),
        (retention_piles_up, "concurrencyPolicy is Allow, not Forbid"),
        (retention_period_not_a_duration, "RETENTION_LOGIN_ATTEMPTS is '90 days', not a duration"),
        (retention_unknown_variable,
         "RETENTION_LOGIN_ATTEMPT is set but the retention binary never reads it"),
    ]
    on_prod = (grpc_probe_on_tls_port, tls_without_health_port, tls_key_outside_secret)
    out = []
    for mutate, expected in cases:
        if mutate in on_prod and prod is None:
            out.append((f"self-test: {mutate.__name__} is rejected",
                        ["the prod overlay did not render, so this self-test could not run"]))
            continue
        docs = copy.deepcopy(prod if mutate in on_prod else dev)
        try:
            mutate(docs)
        except (KeyError, IndexError, TypeError) as error:
            out.append((f"self-test: {mutate.__name__} is rejected",
                        [f"could not apply the mutation: {error!r}"]))
            continue
        overlay = "prod" if mutate is one_prod_replica or mutate in on_prod else "dev"
        problems = [line for _, p in check(docs, overlay, truth) for line in p]
        hit = any(expected in line for line in problems)
        out.append((f"self-test: {mutate.__name__} is rejected",
                    [] if hit else [f"expected a failure containing {expected!r}, got {problems}"]))
    return out


def main():
    root, overlays = sys.argv[1], sys.argv[2:]
    truth = SourceTruth(root)
    results = []
    rendered = {}
    for overlay in overlays:
        name = os.path.basename(overlay.rstrip("/"))
        try:
            rendered[name] = render(overlay)
        except subprocess.CalledProcessError as error:
            results.append((f"{name}: kubectl kustomize renders", [error.stderr.strip()]))
            continue
        results.append((f"{name}: kubectl kustomize renders", []))
        results.extend(check(rendered[name], name, truth))
        results.extend(check_database(rendered[name], name))
    if "dev" in rendered:
        # Only meaningful when the real manifests pass: otherwise a failure proves nothing.
        results.extend(mutations(rendered["dev"], rendered.get("prod"), truth))
    if any(os.path.basename(o.rstrip("/")) == "prod-ha" for o in overlays):
        results.extend(database_mutations(rendered.get("prod-ha")))

    return check_report.report("deploy_manifests", results)


if __name__ == "__main__":
    sys.exit(main())
