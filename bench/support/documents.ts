import { makeDocument, type TestDocument } from "../../test/support/documents.js";

export type { TestDocument };

/** How the mock's map-reduce script cuts text (snippets.ts SPLIT_FUNCTION), to predict N. */
export function chunkCount(text: string, size: number): number {
  let count = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + size, text.length);
    if (end < text.length) {
      const newline = text.lastIndexOf("\n", end - 1);
      if (newline >= start) end = newline + 1;
    }
    count += 1;
    start = end;
  }
  return count;
}

/**
 * A deterministic document that the mock's map-reduce cuts into exactly `chunks`
 * sub-calls of `chunkChars` (the generator overshoots its size a little, so aim low).
 */
export function documentForChunks(chunks: number, chunkChars: number, seed = 11): TestDocument {
  for (let fill = 0.985; fill > 0.9; fill -= 0.005) {
    const document = makeDocument({
      chars: Math.floor(chunks * chunkChars * fill),
      markerCount: chunks,
      seed,
    });
    if (chunkCount(document.text, chunkChars) === chunks) return document;
  }
  throw new Error(`could not size a document for ${chunks} chunks of ${chunkChars}`);
}

/** A large document of about `chars` characters, built by repeating a 1 MB block (fast). */
export function largeDocument(chars: number): TestDocument {
  const block = makeDocument({ chars: 1_000_000, markerCount: 7, seed: 5 });
  const copies = Math.max(1, Math.round(chars / block.text.length));
  return {
    ...block,
    text: `${block.text}\n`.repeat(copies),
    markerCount: block.markerCount * copies,
  };
}

export function querySubject(document: TestDocument): string {
  return `How many times does "${document.marker}" appear?`;
}
