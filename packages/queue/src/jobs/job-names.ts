import type { LlmCall } from "./job-types.js";

/**
 * Job names as Bull Board lists them, for a person to read: what the job is, its
 * analysis, and the first words of its query. Workers never read them: a job's kind is
 * in its data (`isNestedJobData`) and its queue.
 */
export const jobNames = {
  /** `analysis an_… · "How many incidents…"` */
  analysis: (analysisId: string, query: string) =>
    `analysis ${analysisId} · "${firstWords(query)}"`,
  /** `nested an_… · "Summarize this section…"` */
  nested: (analysisId: string, query: string) => `nested ${analysisId} · "${firstWords(query)}"`,
  /** `calls ×1 · an_… · "Summarize this section…"`, or `calls ×16 · an_…` */
  calls: (analysisId: string, calls: readonly Pick<LlmCall, "query">[]) =>
    calls.length === 1
      ? `calls ×1 · ${analysisId} · "${firstWords(calls[0]?.query ?? "")}"`
      : `calls ×${calls.length} · ${analysisId}`,
} as const;

/** Characters of a query shown in a job's name. */
const SHOWN_CHARS = 40;

/** The query on one line, cut at a word near `SHOWN_CHARS` with an ellipsis. */
export function firstWords(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line.length <= SHOWN_CHARS) return line;
  const cut = line.lastIndexOf(" ", SHOWN_CHARS);
  return `${line.slice(0, cut > SHOWN_CHARS / 2 ? cut : SHOWN_CHARS)}…`;
}
