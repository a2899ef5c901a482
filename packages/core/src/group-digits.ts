/**
 * 1234567 → "1,234,567": a count written for a prompt.
 *
 * Why not `toLocaleString("en-US")`: its first call in a process loads ICU's locale data
 * (26 ms on the benchmark machine, on the way to a new worker's first root call), and
 * its output depends on the ICU data Node was built with, while prompts must be the
 * same text on every machine.
 */
export function groupDigits(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? "-" : "";
  const whole = String(Math.trunc(Math.abs(value)));
  return sign + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
