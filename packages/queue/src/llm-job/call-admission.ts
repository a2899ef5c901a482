import type { Redis } from "ioredis";
import { LuaScript } from "../storage/lua-script.js";

/**
 * Admits one model call under the global request limit, across every LM worker.
 *
 * KEYS[1] the window counter's key stem; ARGV[1] most calls per window, ARGV[2] window
 * length in ms. Returns 0 when the call may start, else the ms until the next window.
 * Fixed windows on Redis's clock (not the workers'), so workers on machines whose clocks
 * disagree still share one window. The window's key is built here from KEYS[1]: the
 * stem names the only key family the script touches (as BullMQ's own scripts do).
 */
const ADMIT_SCRIPT = new LuaScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local windowMs = tonumber(ARGV[2])
local window = math.floor(now / windowMs)
local key = KEYS[1] .. ':' .. window
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, windowMs * 2) end
if count <= tonumber(ARGV[1]) then return 0 end
return (window + 1) * windowMs - now
`);

/** Options of `CallAdmission`. */
export interface CallAdmissionOptions {
  redis: Redis;
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
  private readonly pauseKey: string;
  private readonly windowKey: string;

  constructor(private readonly options: CallAdmissionOptions) {
    this.pauseKey = `${options.prefix}:llm:pause`;
    this.windowKey = `${options.prefix}:llm:window`;
  }

  /** Resolves when a call may start. */
  async admit(): Promise<void> {
    const sleep = this.options.sleep ?? defaultSleep;
    for (;;) {
      const paused = this.pausedUntil - Date.now();
      if (paused > 0) {
        await sleep(paused);
        continue;
      }
      const limiter = this.options.limiter;
      if (!limiter) return;
      const waitMs = Number(
        await ADMIT_SCRIPT.run(
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

  /** Adopts a pause another worker set (read when a job starts, with its other reads). */
  async refresh(): Promise<void> {
    const remaining = await this.options.redis.pttl(this.pauseKey);
    if (remaining > 0) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + remaining);
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
