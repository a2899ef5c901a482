/**
 * Finds what a query is looking for: the first double-quoted phrase (straight or curly
 * quotes), else a single-quoted or backticked one, else "the value of X" / "called X",
 * else the query's first few content words ("What is the access code?" → "access code").
 */
export function extractTerm(query: string): string {
  const quoted =
    /"([^"\n]+)"/.exec(query) ??
    /\u201c([^\u201d\n]+)\u201d/.exec(query) ??
    /`([^`\n]+)`/.exec(query) ??
    /(?:^|[\s(])'([^'\n]+)'(?=$|[\s).,;:?!])/.exec(query);
  if (quoted?.[1]?.trim()) return quoted[1];
  const named = /\b(?:value of|called|named)\s+(?:the\s+)?([\w.$-]+)/i.exec(query);
  if (named?.[1]) return named[1];
  const words = query
    .replace(/[^\p{L}\p{N}_\s-]+/gu, " ")
    .split(/\s+/)
    .filter((word) => word.length > 0 && !STOPWORDS.has(word.toLowerCase()));
  if (words.length > 0) return words.slice(0, 3).join(" ");
  // Nothing usable: a word that almost every English text contains, so the script still runs.
  return "the";
}

/** Escapes a literal for use in a `RegExp` source (no `u` flag needed). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const STOPWORDS = new Set(
  (
    "a an the of in on at to for from by with and or is are was were be been what which who " +
    "whom whose where when why how many much times time does do did appear appears occur occurs " +
    "mentioned stated given written said find tell me give show list please this that these " +
    "those there it its document text context file report in into about any all count number " +
    "can you i we our your value say says"
  ).split(" "),
);
