// The TypeScript client end to end, against the real Bazel-built servers on a throw-away
// database (suite_harness.mjs): the member's main path, every error kind decoded from the
// grpc-status-details-bin trailer, a deadline that expires in the server, a read retried
// across a server restart (and a write that must not be), and the client-streamed import.
// Assertions are on codes, field names and ErrorInfo reasons, never on message text.
//
//   SUITE_TEST_PG_URL=... SUITE_BAZEL_BIN=$(bazel info bazel-bin) node --test test/*.test.mjs
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import {
  billing,
  Code,
  createSuiteClient,
  identity,
  isSafeToRetry,
  questions,
  SuiteError,
} from "../dist/index.js";
import { holdLock, makeTestPki, Suite } from "./suite_harness.mjs";

const hex = (n) => randomBytes(n).toString("hex");

/** Runs `fn`, which must throw a SuiteError; returns it. */
async function rejects(fn) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof SuiteError, `expected a SuiteError, got ${err?.stack ?? err}`);
    return err;
  }
  assert.fail("the call succeeded; it should have failed");
}

function stripeEvent(type, object, created) {
  return JSON.stringify({ id: `evt_ts${hex(8)}`, object: "event", type, created,
                          livemode: false, api_version: "2024-06-20", data: { object } });
}

test("only reads and keyed writes are safe to retry", () => {
  const m = (svc, name) => svc.methods.find((x) => x.name === name);
  const I = identity.IdentityService;
  const B = billing.BillingService;
  const Q = questions.QuestionBankService;
  assert.equal(isSafeToRetry(m(I, "GetUser"), {}), true);
  assert.equal(isSafeToRetry(m(I, "ListSessions"), {}), true);
  assert.equal(isSafeToRetry(m(I, "ValidateSession"), {}), true);
  assert.equal(isSafeToRetry(m(B, "GetEntitlement"), {}), true);
  assert.equal(isSafeToRetry(m(Q, "ListQuestions"), {}), true);
  assert.equal(isSafeToRetry(m(I, "CreateUser"), {}), false);
  assert.equal(isSafeToRetry(m(I, "Login"), {}), false);
  assert.equal(isSafeToRetry(m(Q, "SubmitAttempt"), {}), false);
  assert.equal(isSafeToRetry(m(B, "RecordTransaction"), { idempotencyKey: "" }), false);
  assert.equal(isSafeToRetry(m(B, "RecordTransaction"), { idempotencyKey: "k1" }), true);
  assert.equal(isSafeToRetry(m(Q, "ImportQuestions"), {}), false);
});

describe("suite client against the real servers", () => {
  let workdir;
  let suite;
  let admin; // a SuiteClient acting as the bootstrap admin
  let anon; // no bearer token
  const clients = [];

  const client = (options) => {
    const c = createSuiteClient(suite.addresses, options);
    clients.push(c);
    return c;
  };

  /** Signs a new member up and logs them in; returns { userId, email, password, client }. */
  async function newMember() {
    const email = `member-${hex(4)}@tsclient.example`;
    const password = "Member-" + randomBytes(16).toString("base64url");
    const { user } = await anon.identity.createUser({ email, password, firstName: "Mia" });
    const login = await anon.identity.login({ email, password });
    return { userId: user.userId, email, password, token: login.sessionToken,
             client: anon.withToken(login.sessionToken) };
  }

  /** Creates a tag and `n` published questions (choice A right) as the admin. */
  async function publishedQuestions(n) {
    const slug = `ts-${hex(3)}`;
    const { tag } = await admin.questions.createTag({
      kind: questions.TagKind.TOPIC, slug, label: "TypeScript client" });
    const out = [];
    for (let i = 0; i < n; i++) {
      const { question } = await admin.questions.createQuestion({
        stem: `TypeScript client question ${i}: which choice is right?`,
        explanation: `A is right for ${i}.`,
        difficulty: questions.QuestionDifficulty.MEDIUM,
        choices: [{ text: "A", isCorrect: true }, { text: "B" }, { text: "C" }],
        tagIds: [tag.id],
        externalKey: `${slug}-${i}`,
      });
      const published = await admin.questions.publishQuestion({ questionId: question.id });
      out.push(published.question);
    }
    return { tag, questions: out };
  }

  before(async () => {
    workdir = mkdtempSync(path.join(os.tmpdir(), "tsclient-test-"));
    suite = await Suite.start(workdir);
    // A crash or a kill of the test process must not leave servers behind.
    process.once("exit", () => suite?.killAll());
    for (const signal of ["SIGINT", "SIGTERM"]) {
      process.once(signal, () => {
        suite?.killAll();
        process.exit(1);
      });
    }
    anon = client({ deadlineMs: 10_000 });
    const login = await anon.identity.login({ email: suite.adminEmail,
                                              password: suite.adminPassword });
    admin = client({ token: login.sessionToken, deadlineMs: 10_000 });
  });

  after(async () => {
    for (const c of clients) c.close();
    let codes;
    let tails = "";
    try {
      if (suite) {
        codes = await suite.close();
        tails = ["identity", "billing", "questions"]
          .map((svc) => `--- end of ${svc}'s log ---\n${suite.tail(svc)}`).join("\n");
      }
    } finally {
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    }
    // SIGTERM drains: every server exits 0.
    if (codes) assert.deepEqual(codes, { identity: 0, billing: 0, questions: 0 }, tails);
  });

  test("member flow: sign-up, login, entitlement from a signed Stripe webhook, exam, stats", async () => {
    const { tag, questions: qs } = await publishedQuestions(3);
    const correct = new Map(qs.map((q) => [q.id, q.choices.find((c) => c.isCorrect).id]));
    const wrong = new Map(qs.map((q) => [q.id, q.choices.find((c) => !c.isCorrect).id]));

    const member = await newMember();
    const me = await member.client.identity.getUser({ userId: member.userId });
    assert.equal(me.user.email, member.email);
    assert.equal(me.user.status, identity.UserStatus.ACTIVE);

    const before = await member.client.billing.getEntitlement({ userId: member.userId });
    assert.equal(before.entitlement.entitled, false);

    const now = Math.floor(Date.now() / 1000);
    const customerId = `cus_ts${hex(6)}`;
    const customer = stripeEvent("customer.created", {
      id: customerId, object: "customer", email: member.email,
      metadata: { user_id: member.userId } }, now);
    let res = await suite.postWebhook(customer);
    assert.equal(res.status, 200, res.body);
    const subscription = stripeEvent("customer.subscription.created", {
      id: `sub_ts${hex(6)}`, object: "subscription", customer: customerId, status: "active",
      cancel_at_period_end: false, current_period_end: now + 30 * 86400, trial_end: null,
      items: { data: [{ price: { id: "price_ts_monthly" } }] },
      metadata: { user_id: member.userId } }, now + 1);
    res = await suite.postWebhook(subscription);
    assert.equal(res.status, 200, res.body);

    const { entitlement } = await member.client.billing.getEntitlement({ userId: member.userId });
    assert.equal(entitlement.entitled, true);
    assert.equal(entitlement.status, billing.SubscriptionStatus.ACTIVE);
    assert.equal(entitlement.priceId, "price_ts_monthly");
    const { customer: linked } = await admin.billing.getCustomer({ userId: member.userId });
    assert.equal(linked.stripeCustomerId, customerId);

    const started = await member.client.questions.startPracticeSession({
      mode: questions.PracticeMode.EXAM, questionCount: 3, filter: { tagIds: [tag.id] } });
    const ids = started.session.questionIds;
    assert.deepEqual([...ids].sort(), [...correct.keys()].sort());
    for (const q of started.questions) {
      assert.ok(q.choices.every((c) => c.isCorrect === undefined), "answers shown before answering");
    }
    for (const [i, qid] of ids.entries()) {
      const out = await member.client.questions.submitAttempt({
        sessionId: started.session.id, questionId: qid,
        choiceId: i === 0 ? wrong.get(qid) : correct.get(qid), timeSpentMs: 1500n + BigInt(i) });
      assert.equal(out.revealed, false, "exam mode reveals nothing before the end");
    }
    const ended = await member.client.questions.endPracticeSession({ sessionId: started.session.id });
    assert.equal(ended.session.score, 2);

    const stats = await member.client.questions.getUserStats({});
    assert.equal(stats.overall.attemptCount, 3);
    assert.equal(stats.overall.correctCount, 2);
    const byTag = stats.byTag.find((t) => t.tag.id === tag.id);
    assert.equal(byTag?.accuracy?.attemptCount, 3);
  });

  test("INVALID_ARGUMENT carries the offending field from google.rpc.BadRequest", async () => {
    const short = await rejects(() => anon.identity.createUser({
      email: `short-${hex(4)}@tsclient.example`, password: "short" }));
    assert.equal(short.code, Code.InvalidArgument);
    assert.equal(short.codeName, "INVALID_ARGUMENT");
    assert.ok(short.fieldViolations.some((v) => v.field === "password"),
              `no violation of password: ${JSON.stringify(short.fieldViolations)}`);
    assert.equal(short.attempts, 1);

    const noStem = await rejects(() => admin.questions.createQuestion({
      stem: "", choices: [{ text: "A", isCorrect: true }, { text: "B" }] }));
    assert.equal(noStem.code, Code.InvalidArgument);
    assert.equal(noStem.field, "stem");
    // Nothing was written: the refused sign-up's address is still free.
    const email = `short-${hex(4)}@tsclient.example`;
    await rejects(() => anon.identity.createUser({ email, password: "x" }));
    const ok = await anon.identity.createUser({ email, password: "Long-enough-" + hex(8) });
    assert.equal(ok.user.email, email);
  });

  test("PERMISSION_DENIED carries the ErrorInfo reason and domain", async () => {
    const member = await newMember();
    const exam = await rejects(() => member.client.questions.startPracticeSession({
      mode: questions.PracticeMode.EXAM, questionCount: 3 }));
    assert.equal(exam.code, Code.PermissionDenied);
    assert.equal(exam.reason, "ENTITLEMENT_REQUIRED");
    assert.equal(exam.domain, "questions.suite");

    const author = await rejects(() => member.client.questions.createTag({
      kind: questions.TagKind.TOPIC, slug: `no-${hex(3)}`, label: "no" }));
    assert.equal(author.code, Code.PermissionDenied);
    assert.equal(author.reason, "MISSING_ROLE");
    assert.equal(author.metadata.role, "author");

    const listUsers = await rejects(() => member.client.identity.listUsers({}));
    assert.equal(listUsers.code, Code.PermissionDenied);
    assert.notEqual(listUsers.reason, "");
  });

  test("UNAUTHENTICATED: no token, a wrong password, a revoked token", async () => {
    const noToken = await rejects(() => anon.questions.getUserStats({}));
    assert.equal(noToken.code, Code.Unauthenticated);
    assert.equal(noToken.codeName, "UNAUTHENTICATED");

    const member = await newMember();
    const wrong = await rejects(() => anon.identity.login({
      email: member.email, password: member.password + "-wrong" }));
    assert.equal(wrong.code, Code.Unauthenticated);

    await member.client.identity.logout({});
    for (const call of [() => member.client.questions.getUserStats({}),
                        () => member.client.billing.getEntitlement({ userId: member.userId }),
                        () => member.client.identity.getUser({ userId: member.userId })]) {
      const revoked = await rejects(call);
      assert.equal(revoked.code, Code.Unauthenticated, revoked.message);
    }
    // A token provider is asked per call: the same client works once it yields a live token.
    let current = "not-a-token";
    const rotating = client({ tokenProvider: () => current });
    assert.equal((await rejects(() => rotating.questions.getUserStats({}))).code,
                 Code.Unauthenticated);
    current = (await anon.identity.login({ email: member.email, password: member.password }))
      .sessionToken;
    const stats = await rotating.questions.getUserStats({});
    assert.equal(stats.overall?.attemptCount ?? 0, 0);
  });

  test("x-request-id: the caller's is passed on, otherwise one is made per call", async () => {
    const given = randomUUID();
    let echoed = "";
    await admin.identity.listRoles({}, {
      headers: { "x-request-id": given }, onHeader: (h) => { echoed = h.get("x-request-id"); } });
    assert.equal(echoed, given);
    const err = await rejects(() => anon.identity.getUser({ userId: randomUUID() }, {
      headers: { "x-request-id": given } }));
    assert.equal(err.requestId, given);
    assert.ok(err.message.includes(given), err.message);

    // An id the servers do not keep (not a UUID) is replaced; the error carries the one logged.
    const replaced = await rejects(() => anon.identity.getUser({ userId: randomUUID() }, {
      headers: { "x-request-id": "not-a-uuid" } }));
    assert.match(replaced.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    let made = "";
    await admin.identity.listRoles({}, { onHeader: (h) => { made = h.get("x-request-id"); } });
    assert.match(made, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(made, given);
  });

  test("a deadline that expires while the server waits gives DEADLINE_EXCEEDED, not retried", async () => {
    // The read waits in the questions server on a lock this test holds.
    const lock = await holdLock(suite.superUrl, "questions.tags");
    let sends = 0;
    const slow = client({
      token: await adminToken(), deadlineMs: 400,
      interceptors: [(next) => async (req) => { sends++; return next(req); }] });
    const started = Date.now();
    try {
      const err = await rejects(() => slow.questions.listTags({}));
      const elapsed = Date.now() - started;
      assert.equal(err.code, Code.DeadlineExceeded, err.message);
      assert.equal(err.attempts, 1);
      assert.equal(sends, 1);
      assert.ok(elapsed >= 350 && elapsed < 3000, `returned after ${elapsed} ms`);
    } finally {
      await lock.release();
    }
    // The server is unharmed: the same call answers once the lock is gone.
    const { tags } = await slow.questions.listTags({}, { timeoutMs: 10_000 });
    assert.ok(Array.isArray(tags));
  });

  test("a call whose deadline has already passed is never sent, whatever its kind", async () => {
    let sends = 0;
    const c = client({
      token: await adminToken(),
      interceptors: [(next) => async (req) => { sends++; return next(req); }] });
    async function* noBatches() {}
    const calls = {
      unary: () => c.questions.listTags({}, { timeoutMs: 0 }),
      client_stream: () => c.questions.importQuestions(noBatches(), { timeoutMs: 0 }),
      server_stream: async () => {
        for await (const _ of c.identity.watchRevocations({}, { timeoutMs: -5 })) break;
      },
    };
    for (const [kind, call] of Object.entries(calls)) {
      const err = await rejects(call);
      assert.equal(err.code, Code.DeadlineExceeded, `${kind}: ${err.message}`);
      assert.equal(err.attempts, 0, kind);
      assert.match(err.requestId, /^[0-9a-f-]{36}$/, kind);
    }
    assert.equal(sends, 0);
    // The same client with time left reaches the server.
    const { tags } = await c.questions.listTags({}, { timeoutMs: 10_000 });
    assert.ok(Array.isArray(tags));
    assert.equal(sends, 1);
  });

  async function adminToken() {
    return (await anon.identity.login({ email: suite.adminEmail, password: suite.adminPassword }))
      .sessionToken;
  }

  /** A client as the admin that counts every send; patient retries unless told otherwise. */
  async function countingAdmin() {
    const counter = { sends: 0 };
    const c = client({
      token: await adminToken(), deadlineMs: 20_000,
      retry: { maxAttempts: 30, initialBackoffMs: 100, maxBackoffMs: 500 },
      interceptors: [(next) => async (req) => { counter.sends++; return next(req); }] });
    return { c, counter };
  }

  test("while a server is down: a write without a key is sent once, a read retried until its deadline or an abort", async () => {
    const { c, counter } = await countingAdmin();
    await suite.stopService("questions", "SIGKILL");
    try {
      const write = await rejects(() => c.questions.createTag({
        kind: questions.TagKind.TOPIC, slug: `down-${hex(3)}`, label: "Down" }));
      assert.equal(write.code, Code.Unavailable);
      assert.equal(write.attempts, 1);
      assert.equal(counter.sends, 1, "a write without an idempotency key was sent again");

      // Retried until the deadline and no longer (no wait outlasts it); the answer is the last
      // UNAVAILABLE.
      counter.sends = 0;
      let t0 = Date.now();
      const late = await rejects(() => c.questions.listTags({}, { timeoutMs: 800 }));
      let took = Date.now() - t0;
      assert.equal(late.code, Code.Unavailable);
      assert.ok(late.attempts >= 2 && late.attempts === counter.sends,
                `${late.attempts} attempts, ${counter.sends} sends`);
      assert.ok(took < 800 + 1000, `gave up after ${took} ms`);

      // The caller's abort stops the retries at once: CANCELLED.
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 300);
      t0 = Date.now();
      const aborted = await rejects(() => c.questions.listTags({}, { signal: abort.signal }));
      took = Date.now() - t0;
      assert.equal(aborted.code, Code.Canceled, aborted.message);
      assert.ok(took < 300 + 1000, `aborted after ${took} ms`);
    } finally {
      await suite.ensureRunning("questions");
    }
  });

  test("a read is retried across a server restart and answers", async () => {
    const { c, counter } = await countingAdmin();
    const { tag } = await c.questions.createTag({
      kind: questions.TagKind.TOPIC, slug: `restart-${hex(3)}`, label: "Restart" });
    await suite.stopService("questions", "SIGKILL");
    try {
      counter.sends = 0;
      const started = Date.now();
      const read = c.questions.listTags({ pageSize: 100 });
      // The server comes back while the read is being retried.
      await new Promise((r) => setTimeout(r, 1500));
      const restart = suite.startService("questions");
      const { tags } = await read;
      await restart;
      assert.ok(tags.some((t) => t.id === tag.id), "the tag made before the restart is listed");
      assert.ok(counter.sends >= 2, `the read was sent ${counter.sends} time(s)`);
      assert.ok(Date.now() - started >= 1500);
    } finally {
      await suite.ensureRunning("questions");
    }
  });

  test("a write with an idempotency key is retried across a restart and applied once", async () => {
    const member = await newMember();
    const { account } = await member.client.identity.createAccount({ name: "Retry account" });
    const billingAdmin = client({ token: await adminToken(), deadlineMs: 20_000,
                                  retry: { maxAttempts: 30, initialBackoffMs: 100, maxBackoffMs: 500 } });
    const key = `ts-${randomUUID()}`;
    const request = {
      idempotencyKey: key,
      transaction: { accountId: account.accountId, userId: member.userId,
                     kind: billing.TransactionKind.PAYMENT,
                     status: billing.TransactionStatus.SUCCEEDED,
                     currency: "USD", amountCents: 1999n, provider: "stripe" } };
    assert.equal(isSafeToRetry(billing.BillingService.method.recordTransaction, request), true);

    await suite.stopService("billing", "SIGKILL");
    let first;
    try {
      const recorded = billingAdmin.billing.recordTransaction(request);
      await new Promise((r) => setTimeout(r, 1000));
      await suite.startService("billing");
      first = await recorded;
    } finally {
      await suite.ensureRunning("billing");
    }
    assert.equal(first.transaction.idempotencyKey, key);
    const again = await billingAdmin.billing.recordTransaction(request);
    assert.equal(again.replayed, true);
    assert.equal(again.transaction.id, first.transaction.id);
    const { transactions } = await billingAdmin.billing.listTransactions({
      accountId: account.accountId });
    assert.equal(transactions.filter((t) => t.idempotencyKey === key).length, 1);
  });

  test("ImportQuestions streams batches: created, failed items named, a re-run skips", async () => {
    const slug = `imp-${hex(3)}`;
    const { tag } = await admin.questions.createTag({
      kind: questions.TagKind.TOPIC, slug, label: "Imported" });
    const item = (i, extra = {}) => ({
      externalKey: `${slug}-${i}`, stem: `Imported question ${i}?`, explanation: "A.",
      difficulty: questions.QuestionDifficulty.EASY, tagIds: [tag.id], publish: true,
      choices: [{ text: "A", isCorrect: true }, { text: "B" }], ...extra });
    async function* batches() {
      yield { items: [item(0), item(1)] };
      yield { items: [item(2), item(3, { stem: "" })] };
      yield { items: [item(4)] };
    }
    const first = await admin.questions.importQuestions(batches());
    assert.equal(first.createdCount, 4);
    assert.equal(first.failedCount, 1);
    assert.equal(first.errors.length, 1);
    assert.equal(first.errors[0].index, 3);
    assert.equal(first.errors[0].externalKey, `${slug}-3`);
    assert.equal(first.errors[0].field, "stem");

    const again = await admin.questions.importQuestions(batches());
    assert.equal(again.createdCount, 0);
    assert.equal(again.skippedCount, 4);

    const { questions: listed } = await admin.questions.listQuestions({
      pageSize: 100, filter: { anyTagIds: [tag.id] } });
    assert.equal(listed.length, 4);
    assert.ok(listed.every((q) => q.status === questions.QuestionStatus.PUBLISHED));

    // A member may not import: the stream's answer is a SuiteError like any other.
    const member = await newMember();
    const denied = await rejects(() => member.client.questions.importQuestions(batches()));
    assert.equal(denied.code, Code.PermissionDenied);
    assert.equal(denied.attempts, 1);
  });
});

describe("suite client over TLS", () => {
  let workdir;
  let suite;
  const clients = [];

  before(async () => {
    workdir = mkdtempSync(path.join(os.tmpdir(), "tsclient-tls-"));
    const tls = await makeTestPki(path.join(workdir, "pki"));
    suite = await Suite.start(workdir, tls);
    process.once("exit", () => suite?.killAll());
  });

  after(async () => {
    for (const c of clients) c.close();
    try {
      if (suite) await suite.close();
    } finally {
      if (workdir) rmSync(workdir, { recursive: true, force: true });
    }
  });

  test("tls: { ca } verifies the servers; another CA or plaintext gets nothing", async () => {
    const anon = createSuiteClient(suite.addresses, { tls: suite.clientTls() });
    clients.push(anon);
    const { sessionToken } = await anon.identity.login({ email: suite.adminEmail,
                                                         password: suite.adminPassword });
    // Questions authenticates the token through identity, over TLS too.
    const admin = anon.withToken(sessionToken);
    const { tag } = await admin.questions.createTag({
      kind: questions.TagKind.TOPIC, slug: `tls-${hex(3)}`, label: "Over TLS" });
    const { tags } = await admin.questions.listTags({ pageSize: 100 });
    assert.ok(tags.some((t) => t.id === tag.id));

    const otherPki = await makeTestPki(path.join(workdir, "other-pki"));
    const untrusting = createSuiteClient(suite.addresses, {
      token: sessionToken, retry: false, deadlineMs: 3000,
      tls: { ca: readFileSync(otherPki.ca) } });
    clients.push(untrusting);
    const refused = await rejects(() => untrusting.questions.listTags({}));
    assert.equal(refused.code, Code.Unavailable, refused.message);
    assert.equal(refused.attempts, 1);

    const plaintext = createSuiteClient(suite.addresses, {
      token: sessionToken, retry: false, deadlineMs: 3000 });
    clients.push(plaintext);
    const notTls = await rejects(() => plaintext.questions.listTags({}));
    assert.equal(notTls.code, Code.Unavailable, notTls.message);
  });
});
