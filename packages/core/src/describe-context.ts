import type { RlmContext } from "./context.js";

/** What the root model is told about the context: never the whole of it. */
export interface ContextDescription {
  type: "string" | "array" | "object";
  /** Characters of the context as the REPL sees it (JSON length for objects). */
  totalChars: number;
  /** For arrays: how many items, and a summary of their lengths. */
  items?: { count: number; minChars: number; maxChars: number; firstLengths: number[] };
  /** For objects: the top-level keys (first 30). */
  keys?: string[];
  head: string;
  tail: string;
}

/** Measures the context and takes a head-and-tail preview of `previewChars` each. */
export function describeContext(context: RlmContext, previewChars: number): ContextDescription {
  if (typeof context === "string") {
    return { type: "string", totalChars: context.length, ...preview(context, previewChars) };
  }
  if (Array.isArray(context)) {
    const lengths = context.map((item) =>
      typeof item === "string" ? item.length : JSON.stringify(item).length,
    );
    const totalChars = lengths.reduce((sum, length) => sum + length, 0);
    // Preview the items joined: the model learns what an item looks like at both ends.
    const first = context.slice(0, 3).map(asText).join("\n---\n");
    const last = context.slice(-2).map(asText).join("\n---\n");
    // Three items or fewer: head and tail of their joined text, as for a string (the
    // end of a long last item is shown, not only the first characters of the first).
    const ends =
      context.length <= 3
        ? preview(first, previewChars)
        : { head: first.slice(0, previewChars), tail: tailOf(last, previewChars) };
    return {
      type: "array",
      totalChars,
      items: {
        count: context.length,
        // A loop, not Math.min(...lengths): spreading 300,000 items overflows the stack.
        minChars: lengths.reduce((least, length) => Math.min(least, length), lengths[0] ?? 0),
        maxChars: lengths.reduce((most, length) => Math.max(most, length), 0),
        firstLengths: lengths.slice(0, 10),
      },
      ...ends,
    };
  }
  const json = JSON.stringify(context);
  return {
    type: "object",
    totalChars: json.length,
    keys: Object.keys(context).slice(0, 30),
    ...preview(json, previewChars),
  };
}

function asText(item: unknown): string {
  return typeof item === "string" ? item : JSON.stringify(item);
}

function preview(text: string, chars: number): { head: string; tail: string } {
  if (text.length <= chars * 2) return { head: text, tail: "" };
  return { head: text.slice(0, chars), tail: tailOf(text, chars) };
}

/** The last `chars` characters (none for 0: `slice(-0)` would be the whole text). */
function tailOf(text: string, chars: number): string {
  if (chars <= 0) return "";
  return text.length > chars ? text.slice(-chars) : text;
}
