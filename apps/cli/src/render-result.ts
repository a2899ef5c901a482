import type { ReplHistoryEntry, RlmResult, TokenUsage } from "@rlm/core";

const CODE_LINES = 30;
const OUTPUT_LINES = 6;
const LINE_CHARS = 160;

/**
 * The trajectory as a person reads it: per root iteration, each executed cell's code,
 * its output trimmed to a few lines, its sub-call count and any error.
 */
export function renderTrajectory(result: RlmResult): string {
  if (result.replHistory.length === 0) return "(no code was run)\n";
  const byIteration = new Map<number, ReplHistoryEntry[]>();
  for (const entry of result.replHistory) {
    const cells = byIteration.get(entry.iteration) ?? [];
    cells.push(entry);
    byIteration.set(entry.iteration, cells);
  }
  const parts: string[] = [];
  for (const [iteration, cells] of byIteration) {
    parts.push(rule(`iteration ${iteration}`));
    cells.forEach((cell, index) => {
      const subCalls = `${cell.subCalls} sub-call${cell.subCalls === 1 ? "" : "s"}`;
      const label = cells.length > 1 ? `cell ${index + 1} · ` : "";
      parts.push(`${label}${formatMs(cell.durationMs)} · ${subCalls}`);
      parts.push("code:", excerpt(cell.code, CODE_LINES));
      parts.push(
        "output:",
        cell.output.trim() === "" ? "  (none)" : excerpt(cell.output, OUTPUT_LINES),
      );
      if (cell.error !== undefined) parts.push(`error: ${oneLine(cell.error)}`);
    });
  }
  return `${parts.join("\n")}\n`;
}

/** The answer and the run's figures: finish reason, iterations, calls, tokens, cost, time. */
export function renderSummary(result: RlmResult): string {
  const usage = result.usage;
  const rows: [string, string][] = [
    ["finish reason", result.finishReason],
    ["iterations", String(result.iterations)],
    ["model calls", String(result.totalCalls)],
    ["tokens", formatTokens(usage)],
    ["cost", formatCost(usage.costUsd)],
    ["duration", formatMs(result.durationMs)],
  ];
  if (result.error !== undefined) {
    rows.push(["error", `${result.error.code}: ${oneLine(result.error.message)}`]);
  }
  const models = Object.entries(usage.byModel);
  if (models.length > 1) {
    for (const [model, modelUsage] of models) {
      rows.push([`  ${model}`, `${formatTokens(modelUsage)} · ${formatCost(modelUsage.costUsd)}`]);
    }
  }
  const width = Math.max(...rows.map(([key]) => key.length));
  // A typed answer reads better laid out than as its one-line JSON text.
  const text =
    result.output === undefined ? result.answer.trim() : JSON.stringify(result.output, null, 2);
  const answer = text === "" ? "(empty)" : indent(text);
  return [
    rule("answer"),
    answer,
    "",
    ...rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`),
    "",
  ].join("\n");
}

export function formatTokens(usage: TokenUsage): string {
  const cached = usage.cachedInputTokens > 0 ? ` (${group(usage.cachedInputTokens)} cached)` : "";
  return `${group(usage.inputTokens)} in${cached} · ${group(usage.outputTokens)} out`;
}

/** `$0.0123`, or `unknown` when a model without a known price was used. */
export function formatCost(costUsd: number | null): string {
  if (costUsd === null) return "unknown";
  return `$${costUsd < 0.01 ? costUsd.toFixed(4) : costUsd.toFixed(2)}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The first line of a message, for places that promise one line. */
export function oneLine(text: string): string {
  const first = text.trim().split("\n")[0] ?? "";
  return first.length > 300 ? `${first.slice(0, 299)}…` : first;
}

function excerpt(text: string, maxLines: number): string {
  const lines = text.replace(/\s+$/, "").split("\n");
  const shown = lines.slice(0, maxLines).map((line) => {
    const cut = line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line;
    return `  │ ${cut}`;
  });
  if (lines.length > maxLines) shown.push(`  │ … ${lines.length - maxLines} more lines`);
  return shown.join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

function rule(title: string): string {
  return `── ${title} ${"─".repeat(Math.max(3, 60 - title.length))}`;
}

function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
