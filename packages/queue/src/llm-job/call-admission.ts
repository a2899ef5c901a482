import type { RedisClient } from "../storage/redis-client.js";
import { redisKeys } from "../storage/keys.js";
import { luaScripts } from "../storage/lua-scripts.js";

/** Options of `CallAdmission`. */
export interface CallAdmissionOptions {
  redis: RedisClient;
  prefix: string;
  /** Most model calls started per `durationMs`, across all workers. Unset: no limit. */
  limiter?: { max: number; durationMs: number };
  /** Sleeps (injectable for tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Decides when a sub-call's model request may start: after any provider-imposed pause
 * (a 429 seen by this process or, through Redis, by another) and within the global
 * limit of calls per window. Calls are counted one by one, whatever job carries them.
 */
export class CallAdmission {
  private pausedUntil = 0;
  private refreshedAt = 0;
  private readonly pauseKey: string;
  private readonly windowKey: string;

  constructor(private readonly options: CallAdmissionOptions) {
    const keys = redisKeys(options.prefix);
    this.pauseKey = keys.llmPause();
    this.windowKey = keys.llmWindow();
  }

  /** Resolves when a call may start. */
  async admit(): Promise<void> {
    const sleep = this.options.sleep ?? defaultSleep;
    // A pause another worker set is adopted once read: read in the background, at most
    // every REFRESH_MS, instead of a round trip before each call.
    if (Date.now() - this.refreshedAt >= REFRESH_MS) this.refresh().catch(() => undefined);
    for (;;) {
      const paused = this.pausedUntil - Date.now();
      if (paused > 0) {
        await sleep(paused);
        continue;
      }
      const limiter = this.options.limiter;
      if (!limiter) return;
      const waitMs = Number(
        await luaScripts.admitCall.run(
          this.options.redis,
          [this.windowKey],
          [limiter.max, limiter.durationMs],
        ),
      );
      if (waitMs <= 0) return;
      await sleep(waitMs);
    }
  }

  /** Pauses every call for `ms`: here at once, in other workers when they next look. */
  async pause(ms: number): Promise<void> {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
    await this.options.redis.set(this.pauseKey, "1", "PX", Math.max(1, Math.ceil(ms)));
  }

  /** Adopts a pause another worker set. */
  async refresh(): Promise<void> {
    this.refreshedAt = Date.now();
    const remaining = await this.options.redis.pttl(this.pauseKey);
    if (remaining > 0) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + remaining);
  }
}

/** How often the pause another worker may have set is read while calls are made. */
const REFRESH_MS = 500;

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
