import type { StrategyName, StrategySetting } from "./options.js";

/**
 * Picks a strategy the way a sensible model would: summaries (and overviews) are
 * hierarchical; counts are exact code, fanned out to sub-calls only when the context is
 * more than about two chunks; anything else is a search for a line (needle).
 */
export function chooseStrategy(
  setting: StrategySetting,
  query: string,
  totalChars: number,
  chunkChars: number,
): StrategyName {
  if (setting !== "auto") return setting;
  const q = query.toLowerCase();
  if (q.includes("summar") || q.includes("overview")) return "summarize";
  if (q.includes("how many") || /\bcount/.test(q)) {
    return totalChars > 2 * chunkChars ? "map-reduce" : "peek-grep";
  }
  return "needle";
}
