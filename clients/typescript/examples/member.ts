// README example 1: log in, then act as the member. Type-checked by `npm run build` against
// the code generated from protos/, so the documented usage cannot drift from the API.
import { createSuiteClient, questions } from "../src/index.js";

export async function practice(email: string, password: string) {
  const suite = createSuiteClient(
    { identity: "127.0.0.1:50051", billing: "127.0.0.1:50052", questions: "127.0.0.1:50053" },
    { deadlineMs: 5000 },
  );
  const { sessionToken, userId } = await suite.identity.login({ email, password });
  const member = suite.withToken(sessionToken); // same connections, this member's token
  const { entitlement } = await member.billing.getEntitlement({ userId });
  const { session, questions: drawn } = await member.questions.startPracticeSession({
    mode: questions.PracticeMode.TUTOR,
    questionCount: 10,
  });
  return { entitled: entitlement?.entitled ?? false, sessionId: session?.id, drawn };
}
