/** What a strategy script needs to write its turns. */
export interface ScriptInput {
  /** The user's query as given between `<query>` marks. */
  query: string;
  /** The term the query is about (see `extractTerm`). */
  term: string;
  /** Chunk size for map-reduce and summarize. */
  chunkChars: number;
}

/** A reply that runs one `repl` block, with a line of reasoning before it. */
export function codeReply(intro: string, code: string): string {
  return `${intro}\n\n\`\`\`repl\n${code.trim()}\n\`\`\``;
}

/** A JavaScript string literal for any text: JSON string syntax is valid JavaScript. */
export function literal(text: string): string {
  // U+2028/2029 are legal in JSON strings and, since ES2019, in JavaScript strings too;
  // escaping them anyway keeps older parsers and log viewers happy.
  return JSON.stringify(text)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
