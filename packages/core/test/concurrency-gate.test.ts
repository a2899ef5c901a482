import { describe, expect, it } from "vitest";
import { BudgetExceededError, CancelledError, checkedGate, FifoGate } from "../src/index.js";

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("FifoGate", () => {
  it("hands out at most `size` slots and the rest in the order they were asked for", async () => {
    const gate = new FifoGate(2);
    const order: number[] = [];
    const releases = [0, 1, 2, 3, 4].map((index) =>
      gate.acquire().then((release) => {
        order.push(index);
        return release;
      }),
    );
    await settle();
    expect(order).toEqual([0, 1]);
    expect(gate.inUse).toBe(2);

    (await releases[1]!)();
    await settle();
    expect(order).toEqual([0, 1, 2]);
    (await releases[0]!)();
    (await releases[2]!)();
    await settle();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    (await releases[3]!)();
    (await releases[4]!)();
    expect(gate.inUse).toBe(0);
  });

  it("counts a release given twice once", async () => {
    const gate = new FifoGate(1);
    const release = await gate.acquire();
    release();
    release();
    expect(gate.inUse).toBe(0);
    await gate.acquire();
    expect(gate.inUse).toBe(1);
  });

  it("rejects a wait whose signal fires with `cancelled`, and passes the slot on", async () => {
    const gate = new FifoGate(1);
    const first = await gate.acquire();
    const controller = new AbortController();
    const cancelled = gate.acquire(controller.signal);
    let thirdGotIt = false;
    const third = gate.acquire().then((release) => {
      thirdGotIt = true;
      return release;
    });

    controller.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    await expect(cancelled).rejects.toMatchObject({ code: "cancelled", retryable: false });
    first();
    (await third)();
    expect(thirdGotIt).toBe(true);
    expect(gate.inUse).toBe(0);
  });

  it("rejects at once when the signal has already fired", async () => {
    const gate = new FifoGate(1);
    await expect(gate.acquire(AbortSignal.abort())).rejects.toMatchObject({ code: "cancelled" });
    expect(gate.inUse).toBe(0);
  });

  it("runs a task within a slot and frees it when the task fails", async () => {
    const gate = new FifoGate(1);
    await expect(gate.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(gate.inUse).toBe(0);
    expect(await gate.run(() => 7)).toBe(7);
  });

  it("refuses a size below one", () => {
    expect(() => new FifoGate(0)).toThrow(RangeError);
  });
});

describe("checkedGate", () => {
  it("checks when the slot is obtained, not when the wait begins", async () => {
    const inner = new FifoGate(1);
    let spent = false;
    const gate = checkedGate(inner, () => {
      if (spent) throw new BudgetExceededError("maxTokens", "the token budget is spent");
    });
    const first = await gate.acquire();
    const queued = gate.acquire();
    spent = true;
    first();
    await expect(queued).rejects.toBeInstanceOf(BudgetExceededError);
    // The refused slot went back.
    expect(inner.inUse).toBe(0);
  });
});
