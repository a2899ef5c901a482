import { describe, expect, it } from "vitest";
import { CancelledCallError, CancelWatch } from "../src/answers/cancel-watch.js";

describe("CancelWatch", () => {
  it("aborts the holds of an analysis once its flag reads set, and only its own", async () => {
    const flagged = new Set<string>();
    const asked: string[][] = [];
    const watch = new CancelWatch({
      pollMs: 5,
      callsUnwanted: async (ids) => {
        asked.push([...ids]);
        return ids.map((id) => flagged.has(id));
      },
    });
    const a = watch.hold("a");
    const b = watch.hold("b");
    flagged.add("a");
    await new Promise<void>((resolve) => a.signal.addEventListener("abort", () => resolve()));
    expect(a.signal.reason).toBeInstanceOf(CancelledCallError);
    expect(b.signal.aborted).toBe(false);
    expect(asked[0]).toEqual(["a", "b"]);
    // A later call of a cancelled analysis starts aborted, even once nothing was held.
    a.release();
    expect(watch.hold("a").signal.aborted).toBe(true);
    b.release();
  });

  it("forgets an analysis once its last hold is released (twice is harmless)", async () => {
    let reads = 0;
    const watch = new CancelWatch({
      pollMs: 5,
      callsUnwanted: async (ids) => {
        reads += 1;
        return ids.map(() => false);
      },
    });
    const hold = watch.hold("a");
    await new Promise<void>((resolve) => {
      const check = () => (reads > 0 ? resolve() : void setTimeout(check, 2));
      check();
    });
    hold.release();
    hold.release();
    expect(watch.watching).toBe(0);
  });
});
