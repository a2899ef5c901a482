import {
  type CellRecord,
  type Journal,
  journalKeys,
  type RlmResult,
  type RootCallRecord,
  type SubCallRecord,
  type TokenUsage,
} from "@rlm/core";

/** Usage of one small model call. */
export function usage(inputTokens = 100, outputTokens = 20): TokenUsage {
  return { inputTokens, outputTokens, cachedInputTokens: 0, costUsd: 0.0012 };
}

/** A root-model turn record. */
export function rootRecord(content: string): RootCallRecord {
  return { kind: "root", content, model: "root-model", usage: usage(), durationMs: 800 };
}

/** A cell record. */
export function cellRecord(code: string, output: string, extra: Partial<CellRecord> = {}) {
  const record: CellRecord = {
    kind: "cell",
    code,
    output,
    durationMs: 40,
    subCalls: 0,
    sandboxLost: false,
    ...extra,
  };
  return record;
}

/** A finished sub-call record. */
export function subRecord(query: string, answer: string): SubCallRecord {
  return {
    kind: "sub",
    argumentsHash: "f".repeat(64),
    query,
    contextChars: 1200,
    answer,
    usage: usage(50, 10),
    byModel: { "sub-model": usage(50, 10) },
    calls: 1,
    durationMs: 300,
  };
}

/** The journal key of the `occurrence`-th sub-call with hash `hashChar` ×64 in a cell. */
export function subKey(iteration: number, block: number, hashChar: string, occurrence = 0) {
  return journalKeys.subCall(`${iteration}.${block}`, hashChar.repeat(64), occurrence);
}

/** Keys of the journal that `writeSampleJournal` writes. */
export const SAMPLE_KEYS = {
  plainSub: subKey(1, 0, "a"),
  nestedSub: subKey(1, 0, "b"),
  nestedInnerSub: subKey(1, 0, "c"),
  pendingNestedSub: subKey(2, 1, "d"),
  runningCellSub: subKey(3, 0, "e"),
} as const;

/**
 * A journal as a depth-2 analysis leaves it mid-run:
 *
 * - iteration 1: a turn, cell 1.0 with a plain sub-call and a nested one (whose own
 *   analysis has a turn, a cell and a sub-call);
 * - iteration 2: a turn, cell 2.0 that finished with FINAL, cell 2.1 still running with a
 *   nested sub-call that has only started (steps journaled, no record yet);
 * - iteration 3: cell 3.0 still running with a finished sub-call, and no turn record;
 * - the forced final turn (`root:final`).
 *
 * `hostile` goes into the texts, for escaping tests.
 */
export async function writeSampleJournal(journal: Journal, hostile = ""): Promise<void> {
  await journal.putIfAbsent(journalKeys.root(1), rootRecord(`Let me look.${hostile}`));
  await journal.putIfAbsent(
    journalKeys.cell(1, 0),
    cellRecord("const a = await recursiveLm('q1', context)", `printed${hostile}`, { subCalls: 2 }),
  );
  await journal.putIfAbsent(SAMPLE_KEYS.plainSub, subRecord("plain question", "plain answer"));
  await journal.putIfAbsent(SAMPLE_KEYS.nestedSub, subRecord("nested question", "nested answer"));
  const nested = journal.scope(journalKeys.nested(SAMPLE_KEYS.nestedSub));
  await nested.putIfAbsent(journalKeys.root(1), rootRecord("inner turn"));
  await nested.putIfAbsent(journalKeys.cell(1, 0), cellRecord("inner code", "inner output"));
  await nested.putIfAbsent(SAMPLE_KEYS.nestedInnerSub, subRecord("deep question", "deep answer"));

  await journal.putIfAbsent(journalKeys.root(2), rootRecord("Two blocks."));
  await journal.putIfAbsent(
    journalKeys.cell(2, 0),
    cellRecord("FINAL('x')", "", { final: { answer: "x", via: "FINAL" }, error: "oops" }),
  );
  const pending = journal.scope(journalKeys.nested(SAMPLE_KEYS.pendingNestedSub));
  await pending.putIfAbsent(journalKeys.root(1), rootRecord("pending inner turn"));

  await journal.putIfAbsent(SAMPLE_KEYS.runningCellSub, subRecord("running q", "running a"));
  await journal.putIfAbsent(journalKeys.finalPrompt(), rootRecord("FINAL(done)"));
}

/** A completed result. */
export function sampleResult(answer: string): RlmResult {
  const total = usage(300, 60);
  return {
    answer,
    finishReason: "final",
    iterations: 2,
    totalCalls: 5,
    replHistory: [
      { iteration: 1, code: "print(1)", output: "1", durationMs: 5, subCalls: 0 },
      { iteration: 1, code: "print(2)", output: "2", durationMs: 6, subCalls: 0 },
      {
        iteration: 2,
        code: "boom()",
        output: "",
        error: "ReferenceError",
        durationMs: 1,
        subCalls: 0,
      },
    ],
    messages: [],
    usage: { ...total, byModel: { "root-model": usage(200, 40), "sub-model": usage(100, 20) } },
    durationMs: 4321,
  };
}
