// README example 2: a backend serving many users, with TLS and errors handled by kind.
// Type-checked by `npm run build`.
import { readFileSync } from "node:fs";
import { Code, createSuiteClient, questions, SuiteError } from "../src/index.js";

const suite = createSuiteClient(
  { identity: "identity.internal:50051", billing: "billing.internal:50052",
    questions: "questions.internal:50053" },
  { tls: { ca: readFileSync("/etc/suite/ca.crt") }, deadlineMs: 3000,
    retry: { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 1000 } },
);

export async function startExam(userToken: string, requestId: string) {
  const user = suite.withToken(userToken);
  try {
    return await user.questions.startPracticeSession(
      { mode: questions.PracticeMode.EXAM, questionCount: 40 },
      { headers: { "x-request-id": requestId } }, // continue the caller's request id
    );
  } catch (err) {
    if (!(err instanceof SuiteError)) throw err;
    if (err.code === Code.Unauthenticated) return { status: 401 };
    if (err.reason === "ENTITLEMENT_REQUIRED") return { status: 402, upgrade: true };
    if (err.code === Code.InvalidArgument) return { status: 400, field: err.field };
    throw err; // its message names method, code, reason, field and request id
  }
}
