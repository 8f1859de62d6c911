// README example 3: a token that changes, and the client-streamed import. Type-checked by
// `npm run build`.
import { createSuiteClient, type questions, type SuiteAddresses } from "../src/index.js";

export async function importBank(
  addresses: SuiteAddresses,
  sessions: { current(): Promise<string> },
  bank: questions.ImportQuestionItem[],
) {
  const suite = createSuiteClient(addresses, { tokenProvider: () => sessions.current() });

  async function* batches(items: questions.ImportQuestionItem[]) {
    for (let i = 0; i < items.length; i += 500) yield { items: items.slice(i, i + 500) };
  }
  const result = await suite.questions.importQuestions(batches(bank), { timeoutMs: 120_000 });
  console.log(result.createdCount, result.skippedCount, result.failedCount);
  for (const e of result.errors) console.log(`item ${e.index} (${e.externalKey}): ${e.field}: ${e.message}`);
  suite.close();
}
