/**
 * Number and table formatting for the sample report. Written by hand rather than with
 * `toLocaleString`/`Intl`, whose output depends on the ICU data Node was built with: the
 * report must be byte-identical everywhere.
 */

/** 1234567.891 → "1,234,567.89" (with `decimals` places). */
export function thousands(value: number, decimals = 0): string {
  const negative = value < 0;
  const [whole = "0", fraction] = Math.abs(value).toFixed(decimals).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const text = fraction === undefined ? grouped : `${grouped}.${fraction}`;
  return negative ? `(${text})` : text;
}

export function percent(value: number, decimals = 1): string {
  return `${value.toFixed(decimals)}%`;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;

export function monthName(index: number): string {
  return MONTHS[index % 12] ?? "January";
}

export const MONTH_NAMES: readonly string[] = MONTHS;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** An ISO date in 2025 for a month index (0–11) and a day clamped to that month. */
export function isoDate(month: number, day: number): string {
  const last = DAYS_IN_MONTH[month] ?? 28;
  const d = Math.min(Math.max(day, 1), last);
  return `2025-${String(month + 1).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * A plain-text table: the first row is the header, columns after the first are right
 * aligned (they hold numbers).
 */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const [header, ...body] = rows;
  if (header === undefined) return "";
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...body.map(line)].join("\n");
}

/** "1 load", "3 loads"; `plural` defaults to the singular plus "s". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
