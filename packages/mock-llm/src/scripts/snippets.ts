/**
 * Code fragments shared by the scripts. Written for the REPL contract: `context` may be
 * a string, an array (of strings or values) or an object; big documents are walked with
 * `indexOf`/`exec` rather than `split("\n")`, which can exhaust the isolate's memory.
 */

/** Declares the top-level `text`: the context as one string, whatever its shape. */
export const TEXT_DECLARATION =
  'const text = typeof context === "string" ? context : Array.isArray(context) ? context.map((item) => (typeof item === "string" ? item : JSON.stringify(item))).join("\\n") : JSON.stringify(context);';

/** The same conversion as an expression, for self-contained recovery cells. */
export const TEXT_EXPRESSION =
  '(typeof context === "string" ? context : Array.isArray(context) ? context.map((item) => (typeof item === "string" ? item : JSON.stringify(item))).join("\\n") : JSON.stringify(context))';

/** Prints the shape of the context and a short head. Needs `text`. */
export const PEEK_PRINTS = [
  'print("type:", Array.isArray(context) ? "array of " + context.length + " items" : typeof context);',
  'print("length:", text.length, "characters");',
  'print("head:", JSON.stringify(text.slice(0, 300)));',
].join("\n");

/**
 * Headings: Markdown `#`…`######` lines, `SECTION n …` lines, and ALL-CAPS title lines
 * of 4–80 characters (capitals, digits, spaces and `&,:'()/-`; no lower case).
 */
export const HEADING_PATTERN = String.raw`/^(?:#{1,6}[ \t]+\S.*|SECTION[ \t]+\d+\b.*|[A-Z][A-Z0-9 &,:'()\/-]{2,78}[A-Z0-9)])[ \t]*$/gm`;

/**
 * A top-level function splitting text into chunks of at most `size` characters, cut
 * after a newline when one exists in the chunk (so no line, and no term, is cut in two).
 */
export const SPLIT_FUNCTION = `function splitIntoChunks(source, size) {
  const pieces = [];
  for (let start = 0; start < source.length; ) {
    let end = Math.min(start + size, source.length);
    if (end < source.length) {
      const newline = source.lastIndexOf("\\n", end - 1);
      if (newline >= start) end = newline + 1;
    }
    pieces.push(source.slice(start, end));
    start = end;
  }
  return pieces;
}`;
