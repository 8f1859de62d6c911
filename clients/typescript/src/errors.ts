// SuiteError: the one error every call of a suite client throws. It carries what the servers
// put in the gRPC status (code, message) and in its details (the grpc-status-details-bin
// trailer: google.rpc.ErrorInfo, google.rpc.BadRequest, google.rpc.RetryInfo), already
// decoded, so a caller branches on `code`, `reason` and `fieldViolations`, never on message
// text (which the services may reword).
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";

export { Code };

/** The gRPC code names, as the servers' logs and grpcurl spell them. */
export type CodeName =
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

const CODE_NAMES: Record<number, CodeName> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** The Node error of a failed TLS handshake or certificate check in `err`'s cause chain. */
function tlsFailure(err: unknown): Error | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" &&
        /CERT|SSL|TLS|UNABLE_TO_|SELF_SIGNED|EPROTO|HANDSHAKE/.test(code)) {
      return e;
    }
  }
  return undefined;
}

/**
 * The code a failure stands for, as gRPC reports it: the server's status when it sent one;
 * for failures of the connection itself, UNAVAILABLE — a TLS handshake or certificate error
 * (which Connect reports as INTERNAL, though the server never ran the call), or a stream the
 * peer dropped (CANCELLED from Connect) while the caller had not cancelled. `retryable` is
 * false for TLS failures: sending again cannot fix a certificate.
 */
export function classify(
  err: unknown,
  callerCancelled: boolean,
): { code: Code; rawMessage: string; retryable: boolean } {
  const ce = ConnectError.from(err);
  if (!isWireError(ce)) {
    const tls = tlsFailure(ce);
    if (tls) {
      return { code: Code.Unavailable, rawMessage: `TLS handshake failed: ${tls.message}`,
               retryable: false };
    }
    if (ce.code === Code.Canceled && !callerCancelled) {
      return { code: Code.Unavailable, rawMessage: ce.rawMessage, retryable: true };
    }
  }
  return { code: ce.code, rawMessage: ce.rawMessage, retryable: ce.code === Code.Unavailable };
}

/** Whether the status came from the server (grpc-status), not from the client's transport. */
function isWireError(ce: ConnectError): boolean {
  return (ce as unknown as { isWireError?: boolean }).isWireError === true;
}

/** One offending request field (google.rpc.BadRequest.FieldViolation). */
export interface FieldViolation {
  /** The field's proto name, e.g. "password" or "choices[1].text". */
  field: string;
  /** What is wrong with it (human text; may change between releases). */
  description: string;
}

export class SuiteError extends Error {
  override readonly name = "SuiteError";
  /** The gRPC status code (numeric, equal to the gRPC wire value). */
  readonly code: Code;
  /** The code's gRPC name, e.g. "PERMISSION_DENIED". */
  readonly codeName: CodeName;
  /** The server's message, without any prefix. Human text: do not parse it. */
  readonly rawMessage: string;
  /** google.rpc.ErrorInfo reason, e.g. "ENTITLEMENT_REQUIRED"; "" when the server sent none. */
  readonly reason: string;
  /** google.rpc.ErrorInfo domain, e.g. "questions.suite"; "" when none. */
  readonly domain: string;
  /** google.rpc.ErrorInfo metadata, e.g. { field: "user_id" } or { retry_after_seconds: "4" }. */
  readonly metadata: Readonly<Record<string, string>>;
  /** google.rpc.BadRequest field violations (INVALID_ARGUMENT names the offending field here). */
  readonly fieldViolations: readonly FieldViolation[];
  /** google.rpc.RetryInfo retry_delay in milliseconds, when the server asked to wait. */
  readonly retryDelayMs: number | undefined;
  /** The fully qualified method, e.g. "identity.v1.IdentityService/Login". */
  readonly method: string;
  /** The x-request-id the call was sent with (the servers log it): quote it in bug reports. */
  readonly requestId: string;
  /** How many times the call was sent (more than 1 only for retried UNAVAILABLE answers). */
  readonly attempts: number;

  constructor(init: {
    code: Code;
    rawMessage: string;
    method: string;
    requestId: string;
    attempts: number;
    reason?: string;
    domain?: string;
    metadata?: Record<string, string>;
    fieldViolations?: FieldViolation[];
    retryDelayMs?: number;
    cause?: unknown;
  }) {
    const codeName = CODE_NAMES[init.code] ?? "UNKNOWN";
    const parts = [`${init.method}: ${codeName}`];
    if (init.reason) parts.push(init.reason);
    let text = parts.join(" ");
    if (init.rawMessage) text += `: ${init.rawMessage}`;
    const fields = (init.fieldViolations ?? []).map((v) => v.field).filter((f) => f !== "");
    if (fields.length > 0) text += ` [field ${fields.join(", ")}]`;
    if (init.requestId) text += ` (request id ${init.requestId})`;
    super(text, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.codeName = codeName;
    this.rawMessage = init.rawMessage;
    this.reason = init.reason ?? "";
    this.domain = init.domain ?? "";
    this.metadata = Object.freeze({ ...(init.metadata ?? {}) });
    this.fieldViolations = Object.freeze([...(init.fieldViolations ?? [])]);
    this.retryDelayMs = init.retryDelayMs;
    this.method = init.method;
    this.requestId = init.requestId;
    this.attempts = init.attempts;
  }

  /** The first violation's field name, or "" (INVALID_ARGUMENT usually names exactly one). */
  get field(): string {
    return this.fieldViolations[0]?.field ?? this.metadata["field"] ?? "";
  }

  /** Turns whatever a call threw into a SuiteError (a SuiteError is returned as it is). */
  static from(
    err: unknown,
    context: { method: string; requestId: string; attempts: number; callerCancelled?: boolean },
  ): SuiteError {
    if (err instanceof SuiteError) return err;
    const ce = ConnectError.from(err);
    const { code, rawMessage } = classify(err, context.callerCancelled ?? false);
    const init: ConstructorParameters<typeof SuiteError>[0] = {
      code,
      rawMessage,
      cause: err,
      method: context.method,
      // The id the server used and logged (it replaces one that is not a UUID), else ours.
      requestId: ce.metadata.get("x-request-id") || context.requestId,
      attempts: context.attempts,
    };
    // A detail that does not decode is left out rather than failing the error itself.
    try {
      const info = ce.findDetails(ErrorInfoSchema)[0];
      if (info) {
        init.reason = info.reason;
        init.domain = info.domain;
        init.metadata = { ...info.metadata };
      }
    } catch {
      /* undecodable ErrorInfo: the code and message still stand */
    }
    try {
      init.fieldViolations = ce
        .findDetails(BadRequestSchema)
        .flatMap((b) => b.fieldViolations)
        .map((v) => ({ field: v.field, description: v.description }));
    } catch {
      /* undecodable BadRequest */
    }
    try {
      const retry = ce.findDetails(RetryInfoSchema)[0];
      if (retry?.retryDelay) {
        init.retryDelayMs =
          Number(retry.retryDelay.seconds) * 1000 + Math.floor(retry.retryDelay.nanos / 1e6);
      }
    } catch {
      /* undecodable RetryInfo */
    }
    return new SuiteError(init);
  }
}
