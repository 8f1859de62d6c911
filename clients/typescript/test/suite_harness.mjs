// Starts the real, Bazel-built suite for the client's end-to-end test: a fresh database on the
// PostgreSQL that tools/test started (SUITE_TEST_PG_URL, a superuser URL), migrated with the
// real migrator, and the three server binaries on free loopback ports, each as its own
// database role (the same start as tests/e2e/suite_harness.py). SUITE_BAZEL_BIN is
// `bazel info bazel-bin` after building the servers and //migrations:migrate.
import { spawn, execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { openSync, closeSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { createSuiteClient, Code, SuiteError } from "../dist/index.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../../..");

const BINARIES = {
  identity: "services/identity/identity_server",
  billing: "services/billing/billing_server",
  questions: "services/questions/questions_server",
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `url` with its user and database replaced (the test cluster trusts loopback). */
export function withDb(url, user, db) {
  const u = new URL(url);
  u.username = user;
  u.password = "";
  u.pathname = "/" + db;
  return u.toString();
}

export async function psql(url, sql) {
  await run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], { timeout: 60_000 });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Suite {
  /**
   * tls: optional { ca, cert, key } file paths; the gRPC ports then serve TLS with cert/key,
   * and billing and questions verify the servers they call against ca (as in production).
   */
  constructor(workdir, tls) {
    this.workdir = workdir;
    this.tls = tls;
    this.adminUrl = process.env.SUITE_TEST_PG_URL;
    this.bin = process.env.SUITE_BAZEL_BIN;
    if (!this.adminUrl) throw new Error("setup: SUITE_TEST_PG_URL is not set (run through tools/test)");
    if (!this.bin) throw new Error("setup: SUITE_BAZEL_BIN is not set (run through tools/test)");
    this.database = `tsclient_${randomBytes(6).toString("hex")}`;
    this.webhookSecret = "whsec_" + randomBytes(24).toString("hex");
    this.adminEmail = `admin-${randomBytes(4).toString("hex")}@tsclient.example`;
    this.adminPassword = "Adm1n-" + randomBytes(18).toString("base64url");
    this.pageSecrets = Object.fromEntries(
      Object.keys(BINARIES).map((svc) => [svc, randomBytes(32).toString("hex")]),
    );
    this.ports = {};
    this.procs = {};
    this.logs = {};
  }

  static async start(workdir, tls) {
    const suite = new Suite(workdir, tls);
    try {
      await suite.createDatabase();
      for (const name of ["identity", "billing", "questions", "webhook", "identity_metrics",
                          "billing_metrics", "questions_metrics"]) {
        suite.ports[name] = await freePort();
      }
      for (const svc of ["identity", "billing", "questions"]) await suite.startService(svc);
    } catch (err) {
      // Whatever started is stopped and the database dropped: a failed start leaves nothing.
      await suite.close();
      throw err;
    }
    return suite;
  }

  async createDatabase() {
    // The owner role may already exist (other tests create it too); losing that race is fine.
    await psql(this.adminUrl,
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'suite_owner') " +
      "THEN CREATE ROLE suite_owner LOGIN CREATEROLE; END IF; EXCEPTION WHEN " +
      "duplicate_object OR unique_violation THEN NULL; END $$");
    await psql(this.adminUrl, `CREATE DATABASE ${this.database} OWNER suite_owner`);
    this.dbCreated = true;
    await run(path.join(this.bin, "migrations/migrate"),
      [`--migrations_dir=${path.join(REPO_ROOT, "migrations")}`, "up"],
      { env: { ...process.env, DATABASE_URL: withDb(this.adminUrl, "suite_owner", this.database) },
        timeout: 120_000 });
  }

  /** A superuser URL of this test's database (for holding locks). */
  get superUrl() {
    return withDb(this.adminUrl, new URL(this.adminUrl).username || "postgres", this.database);
  }

  addr(svc) {
    return `127.0.0.1:${this.ports[svc]}`;
  }

  get addresses() {
    return { identity: this.addr("identity"), billing: this.addr("billing"),
             questions: this.addr("questions") };
  }

  env(svc) {
    const p = this.ports;
    const common = { PATH: process.env.PATH ?? "/usr/bin:/bin",
                     DATABASE_URL: withDb(this.adminUrl, `${svc}_service`, this.database),
                     DB_POOL_SIZE: "4", DB_CONNECT_TIMEOUT_S: "2" };
    if (this.tls) {
      const prefix = svc.toUpperCase();
      Object.assign(common, { [`${prefix}_TLS_CERT_FILE`]: this.tls.cert,
                              [`${prefix}_TLS_KEY_FILE`]: this.tls.key,
                              SUITE_TLS_CA_FILE: this.tls.ca });
    }
    if (svc === "identity") {
      return { ...common, IDENTITY_GRPC_PORT: `${p.identity}`,
               IDENTITY_METRICS_PORT: `${p.identity_metrics}`,
               IDENTITY_PAGE_TOKEN_SECRET: this.pageSecrets.identity,
               IDENTITY_BOOTSTRAP_ADMIN_EMAIL: this.adminEmail,
               IDENTITY_BOOTSTRAP_ADMIN_PASSWORD: this.adminPassword };
    }
    if (svc === "billing") {
      return { ...common, BILLING_GRPC_PORT: `${p.billing}`, BILLING_WEBHOOK_PORT: `${p.webhook}`,
               BILLING_METRICS_PORT: `${p.billing_metrics}`,
               BILLING_PAGE_TOKEN_SECRET: this.pageSecrets.billing,
               BILLING_STRIPE_WEBHOOK_SECRETS: this.webhookSecret,
               IDENTITY_ADDR: this.addr("identity") };
    }
    return { ...common, QUESTIONS_GRPC_PORT: `${p.questions}`,
             QUESTIONS_METRICS_PORT: `${p.questions_metrics}`,
             QUESTIONS_PAGE_TOKEN_SECRET: this.pageSecrets.questions,
             IDENTITY_ADDR: this.addr("identity"), BILLING_ADDR: this.addr("billing") };
  }

  /** Starts (or restarts) one binary, appending to its log, and waits until it answers. */
  async startService(svc) {
    const log = path.join(this.workdir, `${svc}.log`);
    this.logs[svc] = log;
    const fd = openSync(log, "a");
    const proc = spawn(path.join(this.bin, BINARIES[svc]), [], {
      env: this.env(svc), stdio: ["ignore", fd, fd] });
    closeSync(fd);
    proc.exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve(code ?? signal)));
    this.procs[svc] = proc;
    await this.waitAnswering(svc, proc);
  }

  /** Starts `svc` again if it is not running (a test's `finally` after stopping it). */
  async ensureRunning(svc) {
    const proc = this.procs[svc];
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) await this.startService(svc);
  }

  /**
   * Until `svc` answers a call with no bearer token with anything but UNAVAILABLE (it
   * answers UNAUTHENTICATED or INVALID_ARGUMENT once it serves).
   */
  async waitAnswering(svc, proc, withinMs = 30_000) {
    const probe = createSuiteClient(this.addresses, { retry: false, deadlineMs: 1000,
                                                      tls: this.clientTls() });
    const call = {
      identity: () => probe.identity.validateSession({ sessionToken: "probe" }),
      billing: () => probe.billing.getEntitlement({ userId: "00000000-0000-0000-0000-000000000000" }),
      questions: () => probe.questions.listTags({}),
    }[svc];
    const deadline = Date.now() + withinMs;
    let exited = false;
    proc.exited.then(() => { exited = true; });
    try {
      while (Date.now() < deadline) {
        if (exited) throw new Error(`setup: ${svc} exited before serving; log:\n${this.tail(svc)}`);
        try {
          await call();
          return;
        } catch (err) {
          if (!(err instanceof SuiteError)) throw err;
          if (err.code !== Code.Unavailable && err.code !== Code.DeadlineExceeded) return;
        }
        await sleep(100);
      }
      throw new Error(`setup: ${svc} did not answer within ${withinMs} ms; log:\n${this.tail(svc)}`);
    } finally {
      probe.close();
    }
  }

  /** The `tls` option of a client that trusts this suite's CA (undefined: plaintext). */
  clientTls() {
    return this.tls ? { ca: readFileSync(this.tls.ca) } : undefined;
  }

  tail(svc, lines = 20) {
    try {
      return readFileSync(this.logs[svc], "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  /** Sends `signal` to `svc` and waits for it to exit; returns its exit code (or signal). */
  async stopService(svc, signal = "SIGTERM", withinMs = 30_000) {
    const proc = this.procs[svc];
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), withinMs);
    try {
      return await proc.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async close() {
    const codes = {};
    for (const svc of Object.keys(this.procs)) codes[svc] = await this.stopService(svc);
    if (this.dbCreated) {
      await psql(this.adminUrl, `DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`)
        .catch(() => {});
    }
    return codes;
  }

  /** Kills every server at once, synchronously (a crashed test run's last resort). */
  killAll() {
    for (const proc of Object.values(this.procs)) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    }
  }

  /** Stripe's signature header: hex HMAC-SHA256 of `t.payload` with the webhook secret. */
  sign(payload, at = Math.floor(Date.now() / 1000)) {
    const mac = createHmac("sha256", this.webhookSecret).update(`${at}.${payload}`).digest("hex");
    return `t=${at},v1=${mac}`;
  }

  /** POSTs a Stripe event to billing's webhook door; returns { status, body }. */
  async postWebhook(payload, signature = this.sign(payload)) {
    const res = await fetch(`http://127.0.0.1:${this.ports.webhook}/webhooks/stripe`, {
      method: "POST", body: payload,
      headers: { "content-type": "application/json", "stripe-signature": signature },
      signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await res.text() };
  }
}

/**
 * A throw-away CA and one server certificate for localhost and 127.0.0.1 in `dir`
 * (tests/e2e/test_pki.sh); returns { ca, cert, key } paths.
 */
export async function makeTestPki(dir) {
  await run(path.join(REPO_ROOT, "tests/e2e/test_pki.sh"), [dir], { timeout: 60_000 });
  return { ca: path.join(dir, "ca.crt"), cert: path.join(dir, "tls.crt"),
           key: path.join(dir, "tls.key") };
}

/**
 * Holds an ACCESS EXCLUSIVE lock on `table` in an open transaction of its own psql, so that
 * a call touching it waits in the server; release() ends the transaction.
 */
export async function holdLock(url, table) {
  const proc = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", url],
                     { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const locked = new Promise((resolve, reject) => {
    proc.stdout.on("data", (d) => {
      out += d;
      if (out.includes("locked")) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`psql exited ${code} before locking ${table}`)));
  });
  proc.stdin.write(`BEGIN;\nLOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE;\n\\echo locked\n`);
  await locked;
  return {
    async release() {
      const done = new Promise((resolve) => proc.on("exit", resolve));
      proc.stdin.end("ROLLBACK;\n");
      await done;
    },
  };
}
