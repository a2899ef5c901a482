import type { FigureRow } from "./bench-context.js";

/** The summary table on stdout: one row per figure line, with its goal and a verdict. */
export function printTable(rows: FigureRow[]): void {
  const header = ["figure", "metric", "value", "goal", "ok"];
  const cells = rows.map((row) => [
    row.figure,
    row.metric,
    row.value,
    row.goal,
    row.pass === undefined ? "" : row.pass ? "yes" : "NO",
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] ?? "").length)),
  );
  const line = (values: string[]) =>
    `| ${values.map((value, column) => value.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  const out = [
    line(header),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...cells.map(line),
  ];
  process.stdout.write(`\n${out.join("\n")}\n`);
}
