/**
 * Stored string contexts whose text this process holds anyway (a run's document), by
 * hash. A sub-call's chunk travels as a byte range of its document; an LM job in the
 * same process takes that chunk as a substring of the text it already has (V8 shares
 * the memory) instead of reading a copy from Redis.
 */
export class ResidentTexts {
  private readonly texts = new Map<string, { text: string; holders: number }>();

  /** Holds `text` as the content `sha256` until the returned function is called. */
  hold(sha256: string, text: string): () => void {
    const entry = this.texts.get(sha256);
    if (entry) entry.holders += 1;
    else this.texts.set(sha256, { text, holders: 1 });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = this.texts.get(sha256);
      if (!held) return;
      held.holders -= 1;
      if (held.holders === 0) this.texts.delete(sha256);
    };
  }

  /** The held text of `sha256`, if any. */
  get(sha256: string): string | undefined {
    return this.texts.get(sha256)?.text;
  }

  /** How many texts are held. */
  get size(): number {
    return this.texts.size;
  }
}
