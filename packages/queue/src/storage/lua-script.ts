import { createHash } from "node:crypto";
import type { RedisClient } from "./redis-client.js";

/**
 * A Lua script run with EVALSHA, falling back to EVAL once when Redis has not cached it
 * (after a restart or SCRIPT FLUSH). Unlike `defineCommand`, it does not add methods to
 * a client the caller may share with other code.
 */
export class LuaScript {
  readonly sha1: string;

  /** `name`: the script's file in `storage/lua/`, for messages. */
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha1 = createHash("sha1").update(source).digest("hex");
  }

  /** Runs the script with `keys` as KEYS and `args` as ARGV. */
  async run(
    redis: RedisClient,
    keys: string[],
    args: Array<string | number | Buffer>,
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
