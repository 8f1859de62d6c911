// createSuiteClient: typed clients of the suite's three services over gRPC (HTTP/2), with the
// behaviour every caller needs and should not rewrite: the bearer token on every call, an
// x-request-id per logical call (kept across its retries, so the servers' logs tie them
// together), one deadline per call that covers its retries, retries with backoff only where
// a repeat cannot do harm, and every failure turned into a SuiteError.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  createClient,
  type CallOptions,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { randomUUID } from "node:crypto";

import { classify, SuiteError } from "./errors.js";
import { BillingService } from "./gen/billing/v1/billing_service_pb.js";
import { IdentityService } from "./gen/identity/v1/identity_service_pb.js";
import { QuestionBankService } from "./gen/questions/v1/questions_service_pb.js";

/** Where each service listens: "host:port" or a URL ("https://identity.internal:443"). */
export interface SuiteAddresses {
  identity?: string;
  billing?: string;
  questions?: string;
}

/** TLS for every connection: `true` trusts the system's CAs; an object adds a private CA. */
export type TlsOptions =
  | boolean
  | {
      /** PEM of the CA(s) that signed the servers' certificates. */
      ca?: string | Buffer;
      /** Client certificate and key (PEM), for servers that ask for one. */
      cert?: string | Buffer;
      key?: string | Buffer;
      /** The name to verify the certificate against, when it differs from the host. */
      servername?: string;
    };

export interface RetryOptions {
  /** Total sends of one call, the first included (default 5; 1 = no retry). */
  maxAttempts?: number;
  /** Wait before the first retry (default 100 ms); doubles per retry, with jitter. */
  initialBackoffMs?: number;
  /** Upper bound of one wait (default 2000 ms). */
  maxBackoffMs?: number;
}

export type TokenProvider = () => string | undefined | Promise<string | undefined>;

export interface SuiteClientOptions {
  /** A session token (from IdentityService.Login), sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Asked before every send, for tokens that change (rotation, per-request users). */
  tokenProvider?: TokenProvider;
  /** TLS; plaintext HTTP/2 when unset (local runs and tests only). */
  tls?: TlsOptions;
  /** Deadline of each call, retries and their waits included (default 10000 ms). */
  deadlineMs?: number;
  /** Retry policy for UNAVAILABLE on calls safe to repeat; `false` never retries. */
  retry?: RetryOptions | false;
  /** Extra interceptors, run after the suite's own (they see the authorization header). */
  interceptors?: Interceptor[];
}

export type IdentityClient = Client<typeof IdentityService>;
export type BillingClient = Client<typeof BillingService>;
export type QuestionsClient = Client<typeof QuestionBankService>;

export interface SuiteClient {
  readonly identity: IdentityClient;
  readonly billing: BillingClient;
  readonly questions: QuestionsClient;
  /**
   * The same client acting as another caller (e.g. the end user whose request a backend is
   * serving): same connections, different bearer token.
   */
  withToken(token: string | TokenProvider): SuiteClient;
  /** Closes the connections; calls made afterwards fail. */
  close(): void;
}

const DEFAULT_DEADLINE_MS = 10_000;
const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
};

/** Sets `authorization: Bearer <token>` unless the call already carries an authorization. */
export function bearerAuthInterceptor(getToken: TokenProvider): Interceptor {
  return (next) => async (req) => {
    if (!req.header.has("authorization")) {
      const token = await getToken();
      if (token) req.header.set("authorization", `Bearer ${token}`);
    }
    return next(req);
  };
}

/** Sets a fresh x-request-id (a UUID, which is what the servers keep) when the call has none. */
export function requestIdInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.header.has("x-request-id")) req.header.set("x-request-id", randomUUID());
    return next(req);
  };
}

/**
 * Whether sending `request` to `method` twice does no more than sending it once, so an
 * UNAVAILABLE answer (which may come after the server acted) can be retried: reads
 * (Get*, List*, Validate*), and writes whose request carries a non-empty idempotency_key
 * (the server answers a repeat with the stored result, e.g. billing's RecordTransaction).
 * Read from the proto descriptors, so a new request with an idempotency_key is covered.
 */
export function isSafeToRetry(method: DescMethod, request: unknown): boolean {
  if (method.methodKind !== "unary") return false;
  if (/^(Get|List|Validate)[A-Z]/.test(method.name)) return true;
  const keyField = method.input.fields.find((f) => f.name === "idempotency_key");
  if (!keyField || typeof request !== "object" || request === null) return false;
  const key = (request as Record<string, unknown>)[keyField.localName];
  return typeof key === "string" && key !== "";
}

function baseUrl(address: string, tls: TlsOptions | undefined): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return address;
  return `${tls ? "https" : "http"}://${address}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface Policy {
  deadlineMs: number;
  retry: Required<RetryOptions>;
}

type AnyCall = (request: unknown, options?: CallOptions) => unknown;

/**
 * What every call does before and after its sends, whatever its kind: one x-request-id (the
 * caller's or a new one) kept by every send, one deadline from the caller's timeoutMs or the
 * client's default that covers every send and wait, the options of each send with the time
 * still left, and each failure turned into a SuiteError. Unary calls, client streams and
 * server streams all go through it, so they cannot drift apart.
 */
class CallPolicy {
  readonly name: string;
  readonly headers: Headers;
  readonly requestId: string;
  readonly deadline: number;
  /** Total sends allowed: retries only where a repeat cannot do harm (isSafeToRetry). */
  readonly maxAttempts: number;

  constructor(
    service: DescService,
    method: DescMethod,
    request: unknown,
    private readonly options: CallOptions | undefined,
    private readonly policy: Policy,
  ) {
    this.name = `${service.typeName}/${method.name}`;
    this.headers = new Headers(options?.headers);
    if (!this.headers.has("x-request-id")) this.headers.set("x-request-id", randomUUID());
    this.requestId = this.headers.get("x-request-id") ?? "";
    this.deadline = Date.now() + (options?.timeoutMs ?? policy.deadlineMs);
    this.maxAttempts = isSafeToRetry(method, request) ? Math.max(1, policy.retry.maxAttempts) : 1;
  }

  get callerCancelled(): boolean {
    return this.options?.signal?.aborted ?? false;
  }

  /** The options of send number `attempt`: the call's headers and the time left. */
  sendOptions(attempt: number): CallOptions {
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) {
      throw new SuiteError({
        code: Code.DeadlineExceeded,
        rawMessage: "the call's deadline passed before it could be sent",
        method: this.name,
        requestId: this.requestId,
        attempts: attempt - 1,
      });
    }
    return { ...this.options, headers: this.headers, timeoutMs: remaining };
  }

  /** The SuiteError of a call that ends with `err` after `attempts` sends. */
  failure(err: unknown, attempts: number): SuiteError {
    return SuiteError.from(err, {
      method: this.name,
      requestId: this.requestId,
      attempts,
      callerCancelled: this.callerCancelled,
    });
  }

  /**
   * Whether to send again after send number `attempt` failed with `err`, and after how long:
   * a random wait between half and all of the backoff, so clients that failed together do not
   * come back together; a wait that would outlast the deadline is not started. undefined: do
   * not retry.
   */
  retryWait(err: unknown, attempt: number): number | undefined {
    const backoff = this.policy.retry.initialBackoffMs * 2 ** (attempt - 1);
    const wait = Math.min(backoff, this.policy.retry.maxBackoffMs) * (0.5 + Math.random() / 2);
    const retry =
      classify(err, this.callerCancelled).retryable &&
      attempt < this.maxAttempts &&
      !this.callerCancelled &&
      Date.now() + wait < this.deadline;
    return retry ? wait : undefined;
  }

  /** Waits `ms` before a retry; the caller's abort during the wait ends the call CANCELLED. */
  async backoff(ms: number, attempt: number, lastError: unknown): Promise<void> {
    try {
      await sleep(ms, this.options?.signal);
    } catch {
      // Aborted while waiting to retry: the caller's cancel, not the last UNAVAILABLE.
      throw new SuiteError({
        code: Code.Canceled,
        rawMessage: "cancelled by the caller while waiting to retry",
        method: this.name,
        requestId: this.requestId,
        attempts: attempt,
        cause: lastError,
      });
    }
  }
}

async function unaryWithPolicy(call: AnyCall, request: unknown, p: CallPolicy): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const options = p.sendOptions(attempt);
    try {
      return await call(request, options);
    } catch (err) {
      const wait = p.retryWait(err, attempt);
      if (wait === undefined) throw p.failure(err, attempt);
      await p.backoff(wait, attempt, err);
    }
  }
}

// Streams are sent once: the client's messages are consumed as they go, so there is nothing
// to send again (isSafeToRetry is false for every stream).
async function clientStreamOnce(call: AnyCall, request: unknown, p: CallPolicy): Promise<unknown> {
  const options = p.sendOptions(1);
  try {
    return await call(request, options);
  } catch (err) {
    throw p.failure(err, 1);
  }
}

async function* serverStreamOnce(
  call: AnyCall,
  request: unknown,
  p: CallPolicy,
): AsyncIterable<unknown> {
  const options = p.sendOptions(1);
  try {
    yield* call(request, options) as AsyncIterable<unknown>;
  } catch (err) {
    throw p.failure(err, 1);
  }
}

/** A client of `service` whose methods apply `policy` and throw only SuiteError. */
export function createServiceClient<S extends DescService>(
  service: S,
  transport: Transport,
  policy: Policy,
): Client<S> {
  const raw = createClient(service, transport) as unknown as Record<string, AnyCall>;
  const out: Record<string, AnyCall> = {};
  for (const method of service.methods) {
    const call = raw[method.localName]!;
    const send =
      method.methodKind === "unary"
        ? unaryWithPolicy
        : method.methodKind === "client_streaming"
          ? clientStreamOnce
          : serverStreamOnce;
    out[method.localName] = (req, opt) =>
      send(call, req, new CallPolicy(service, method, req, opt, policy));
  }
  return out as unknown as Client<S>;
}

function nodeOptions(tls: TlsOptions | undefined) {
  if (!tls || tls === true) return {};
  const { ca, cert, key, servername } = tls;
  return Object.fromEntries(
    Object.entries({ ca, cert, key, servername }).filter(([, v]) => v !== undefined),
  );
}

/**
 * Creates typed clients of the suite's services.
 *
 *   const suite = createSuiteClient(
 *     { identity: "identity:50051", billing: "billing:50052", questions: "questions:50053" },
 *     { token, tls: { ca }, deadlineMs: 5000 });
 *   const { user } = await suite.identity.getUser({ userId });
 */
export function createSuiteClient(
  addresses: SuiteAddresses,
  options: SuiteClientOptions = {},
): SuiteClient {
  if (options.token !== undefined && options.tokenProvider !== undefined) {
    throw new TypeError("createSuiteClient: give token or tokenProvider, not both");
  }
  const policy: Policy = {
    deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS,
    retry:
      options.retry === false
        ? { ...DEFAULT_RETRY, maxAttempts: 1 }
        : { ...DEFAULT_RETRY, ...(options.retry ?? {}) },
  };
  const sessions = new Map<string, Http2SessionManager>();
  for (const address of Object.values(addresses)) {
    if (address === undefined) continue;
    const url = baseUrl(address, options.tls);
    if (!sessions.has(url)) {
      sessions.set(url, new Http2SessionManager(url, undefined, nodeOptions(options.tls)));
    }
  }
  const build = (token: TokenProvider): SuiteClient => {
    const interceptors = [
      requestIdInterceptor(),
      bearerAuthInterceptor(token),
      ...(options.interceptors ?? []),
    ];
    const cache = new Map<string, unknown>();
    const lazy = <S extends DescService>(name: keyof SuiteAddresses, service: S): Client<S> => {
      const hit = cache.get(name);
      if (hit) return hit as Client<S>;
      const address = addresses[name];
      if (address === undefined) {
        throw new TypeError(`createSuiteClient: no address was given for ${name}`);
      }
      const url = baseUrl(address, options.tls);
      const transport = createGrpcTransport({
        baseUrl: url,
        sessionManager: sessions.get(url)!,
        interceptors,
      });
      const client = createServiceClient(service, transport, policy);
      cache.set(name, client);
      return client;
    };
    return {
      get identity() {
        return lazy("identity", IdentityService);
      },
      get billing() {
        return lazy("billing", BillingService);
      },
      get questions() {
        return lazy("questions", QuestionBankService);
      },
      withToken(next: string | TokenProvider) {
        return build(typeof next === "string" ? () => next : next);
      },
      close() {
        for (const s of sessions.values()) s.abort();
      },
    };
  };
  const token = options.token;
  return build(options.tokenProvider ?? (() => token));
}

