import type { AnalysisEventEntry } from "@rlm/queue";
import { describe, expect, it } from "vitest";
import { compareIds, MAX_BUFFERED_EVENTS, Subscription } from "../src/event-subscription.js";

function entry(id: string, type: "progress" | "cancelled" = "progress"): AnalysisEventEntry {
  const event =
    type === "cancelled"
      ? ({ type: "cancelled" } as const)
      : ({ type: "status", status: "running" } as const);
  return { id, time: Number(id.split("-")[0]), event };
}

describe("a subscription", () => {
  it("orders ids numerically, not as text", () => {
    expect(compareIds("9-0", "10-0")).toBe(-1);
    expect(compareIds("10-2", "10-10")).toBe(-1);
    expect(compareIds("1700000000000-0", "0")).toBe(1);
    expect(compareIds("5-1", "5-1")).toBe(0);
  });

  it("yields each entry after its position once, in order, and ends at the terminal one", async () => {
    const ends: string[] = [];
    const subscription = new Subscription("2-0", (end) => ends.push(end));
    // The hub re-reads from the oldest position any subscriber needs: repeats are skipped.
    for (const id of ["1-0", "2-0", "3-0", "3-0", "4-0"]) subscription.push(entry(id));
    subscription.push(entry("5-0", "cancelled"));
    subscription.push(entry("6-0"));
    const ids: string[] = [];
    for await (const item of subscription) ids.push(item.id);
    expect(ids).toEqual(["3-0", "4-0", "5-0"]);
    expect(subscription.ended).toBe("finished");
    expect(ends).toEqual(["finished"]);
  });

  it(`drops a client that falls ${MAX_BUFFERED_EVENTS} events behind`, async () => {
    const subscription = new Subscription("0", () => {});
    for (let i = 1; i <= MAX_BUFFERED_EVENTS + 5; i += 1) subscription.push(entry(`${i}-0`));
    expect(subscription.ended).toBe("lagging");
    let count = 0;
    for await (const _ of subscription) count += 1;
    expect(count).toBe(MAX_BUFFERED_EVENTS);
  });
});
