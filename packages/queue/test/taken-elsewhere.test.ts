import { describe, expect, it } from "vitest";
import { takenElsewhere } from "../src/root-job/taken-elsewhere.js";

describe("takenElsewhere", () => {
  const away = [{ jobId: "a" }, { jobId: "b" }];

  it("keeps the slot while the children are still queued", () => {
    expect(takenElsewhere(away, ["waiting", "prioritized"], new Map(), 5, 1_000)).toBe(false);
  });

  it("gives the slot up for a child that is retrying or gone", () => {
    expect(takenElsewhere(away, ["waiting", "delayed"], new Map(), 5, 1_000)).toBe(true);
    expect(takenElsewhere(away, ["unknown", "waiting"], new Map(), 5, 1_000)).toBe(true);
  });

  it("waits the grace before taking an active child for another worker's", () => {
    const activeSince = new Map<string, number>();
    // Just fetched: this process's LM processor may not have registered it yet.
    expect(takenElsewhere(away, ["active", "waiting"], activeSince, 5, 1_000)).toBe(false);
    expect(takenElsewhere(away, ["active", "waiting"], activeSince, 5, 1_004)).toBe(false);
    // Still active and still not here after the grace: another worker has it.
    expect(takenElsewhere(away, ["active", "waiting"], activeSince, 5, 1_005)).toBe(true);
  });

  it("counts the grace per job, from when each was first seen active", () => {
    const activeSince = new Map<string, number>([["a", 990]]);
    expect(takenElsewhere([{ jobId: "b" }], ["active"], activeSince, 5, 1_000)).toBe(false);
    expect(activeSince.get("b")).toBe(1_000);
    expect(takenElsewhere([{ jobId: "a" }], ["active"], activeSince, 5, 1_000)).toBe(true);
  });
});
