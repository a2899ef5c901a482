import { describe, expect, it } from "vitest";
import { type LiveRun, LiveRuns } from "../src/root-job/live-runs.js";

/** A stand-in run: only `release` matters to the cache. */
function fakeRun(released: string[], name: string): LiveRun {
  return { release: () => released.push(name) } as unknown as LiveRun;
}

describe("LiveRuns", () => {
  it("releases the runs it evicts past maxRuns, and the ones it discards", () => {
    const released: string[] = [];
    const live = new LiveRuns({ maxRuns: 2, idleMs: 60_000 });
    live.set("a", fakeRun(released, "a"));
    live.set("b", fakeRun(released, "b"));
    live.set("c", fakeRun(released, "c"));
    expect(live.size).toBe(2);
    expect(released).toEqual(["a"]);
    live.discard("b");
    expect(released).toEqual(["a", "b"]);
    live.delete("c"); // handed back to the caller: not released here
    expect(released).toEqual(["a", "b"]);
    live.clear();
  });

  it("counts resumes served from the cache and the ones that rebuild", () => {
    const live = new LiveRuns();
    live.set("a", fakeRun([], "a"));
    expect(live.get("a")).toBeDefined();
    expect(live.get("missing")).toBeUndefined();
    expect({ hits: live.hits, misses: live.misses }).toEqual({ hits: 1, misses: 1 });
    live.clear();
  });
});
