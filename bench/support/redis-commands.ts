// Counts the Redis commands that touch one bench prefix, with MONITOR: the commands the
// clients send (`sent`: an EVALSHA counts once) and those the Lua scripts run inside
// Redis (`inScripts`). MONITOR sees every client of the shared server, so only commands
// naming a key (or channel) under the prefix are counted.
import { Redis } from "ioredis";
import { REDIS } from "./redis-keys.js";

export interface CommandCount {
  sent: number;
  inScripts: number;
  /** Sent commands by name, for reading where they come from. */
  byName: Record<string, number>;
  /** Sent commands by name and the family of the first key under the prefix (ids elided). */
  byKey: Record<string, number>;
}

/** Starts counting; `stop()` ends the MONITOR and returns the counts. */
export async function countCommands(prefix: string): Promise<{ stop(): Promise<CommandCount> }> {
  const client = new Redis(REDIS);
  client.on("error", () => undefined);
  const monitor = await client.monitor();
  // A MONITOR stream on a busy shared Redis can confuse ioredis's reply queue ("Command
  // queue state error"): the count goes on without the line it could not place.
  monitor.on("error", () => undefined);
  const count: CommandCount = { sent: 0, inScripts: 0, byName: {}, byKey: {} };
  const mark = `${prefix}:`;
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (!args.some((arg) => typeof arg === "string" && arg.startsWith(mark))) return;
    if (source === "lua") {
      count.inScripts += 1;
      return;
    }
    count.sent += 1;
    const name = String(args[0]).toLowerCase();
    count.byName[name] = (count.byName[name] ?? 0) + 1;
    const key = args.find((arg) => typeof arg === "string" && arg.startsWith(mark)) ?? "";
    const family = `${name} ${keyFamily(key.slice(mark.length))}`;
    count.byKey[family] = (count.byKey[family] ?? 0) + 1;
  });
  return {
    async stop() {
      // MONITOR lines still in the socket are read before it closes.
      await new Promise((resolve) => setTimeout(resolve, 200));
      monitor.disconnect();
      client.disconnect();
      return count;
    },
  };
}

/** A key with its ids elided: `journal:an_…`, `rlm-llm:an_…-b…:lock`. */
function keyFamily(key: string): string {
  return key
    .replace(/an_[a-z2-7]{20}/g, "an_…")
    .replace(/-[bc][0-9a-f]{32}/g, "-…")
    .replace(/[0-9a-f]{64}/g, "…")
    .replace(/:\d+/g, ":n");
}
