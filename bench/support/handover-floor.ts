// The floor of figure 8's rows with more than one worker: one fan-out's requests sent by
// plain node:http from W processes that share its call slots and hand calls over through
// Redis as cheaply as Redis allows. No BullMQ, no journal, no SDK, no engine: what any
// queue-based split of one fan-out over processes costs on the machine, beside what the
// queue's split costs (bench/scale-out.ts).
//
// The first process (this one) starts its share of the calls and RPUSHes the rest in one
// command; each other process (handover-helper-main.ts) takes them with one LPOP of as many
// as it has slots free, or a BLPOP when the list is empty, and PUBLISHes each answer's
// index; the first process takes the next call from the list (LPOP) as each of its slots
// frees, and the fan-out ends when it has every answer.
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { BarePoster } from "./bare-client.js";
import { REDIS } from "./redis-keys.js";
import { spawnTs, type TsProcess } from "./spawn-ts.js";

const HELPER = fileURLToPath(new URL("./handover-helper-main.ts", import.meta.url));

/** A list entry: the call's index, a newline, its request body. */
export const handoverEntry = (index: number, body: string) => `${index}\n${body}`;

/** Splits a list entry back into its index and body. */
export function splitHandoverEntry(entry: string): { index: string; body: string } {
  const cut = entry.indexOf("\n");
  return { index: entry.slice(0, cut), body: entry.slice(cut + 1) };
}

/** What a {@link HandoverFloor} is set up with. */
export interface HandoverFloorSettings {
  mockUrl: string;
  /** Redis key prefix of the bench run (its list and channel go under it). */
  prefix: string;
  /** The call slots of each process, this one first. */
  slots: number[];
}

/** W processes sharing a fan-out's call slots, with this one first; `fanOut` times one. */
export class HandoverFloor {
  readonly #poster: BarePoster;
  readonly #redis = new Redis(REDIS);
  readonly #subscriber = new Redis(REDIS);
  #onAnswer: () => void = () => undefined;

  private constructor(
    private readonly settings: HandoverFloorSettings,
    private readonly helpers: TsProcess[],
    private readonly list: string,
  ) {
    this.#poster = new BarePoster(settings.mockUrl);
    this.#subscriber.on("message", () => this.#onAnswer());
  }

  static async start(settings: HandoverFloorSettings): Promise<HandoverFloor> {
    const name = `${settings.prefix}:handover:${settings.slots.join("+")}`;
    const list = `${name}:calls`;
    const channel = `${name}:answers`;
    const helpers = await Promise.all(
      settings.slots.slice(1).map((slots) =>
        spawnTs(HELPER, {
          HANDOVER_SLOTS: String(slots),
          HANDOVER_LIST: list,
          HANDOVER_CHANNEL: channel,
          HANDOVER_URL: settings.mockUrl,
        }),
      ),
    );
    const floor = new HandoverFloor(settings, helpers, list);
    await floor.#subscriber.subscribe(channel);
    return floor;
  }

  /** Sends every request of one fan-out (JSON bodies); resolves with the wall in ms. */
  async fanOut(bodies: string[]): Promise<number> {
    if (bodies.length === 0) throw new Error("handover floor: a fan-out of no calls");
    const started = performance.now();
    const own = Math.min(this.settings.slots[0] ?? 1, bodies.length);
    if (this.helpers.length === 0) {
      // One process: its slots take the calls in order, the next leaving as one ends.
      let next = 0;
      const lane = async () => {
        while (next < bodies.length) await this.#poster.post(bodies[next++]!);
      };
      await Promise.all(Array.from({ length: own }, lane));
      return performance.now() - started;
    }
    let answered = 0;
    let done: () => void = () => undefined;
    let failed: (error: unknown) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      done = resolve;
      failed = reject;
    });
    const count = () => {
      answered += 1;
      if (answered === bodies.length) done();
    };
    this.#onAnswer = count;
    const runHere = (body: string): void => {
      this.#poster
        .post(body)
        .then(async () => {
          count();
          // This process's slot is free: the next call on the list, if any.
          const entry = await this.#redis.lpop(this.list);
          if (entry) runHere(splitHandoverEntry(entry).body);
        })
        .catch(failed);
    };
    for (let index = 0; index < own; index += 1) runHere(bodies[index]!);
    const rest = bodies.slice(own).map((body, index) => handoverEntry(own + index, body));
    if (rest.length > 0) await this.#redis.rpush(this.list, ...rest);
    await finished;
    return performance.now() - started;
  }

  async stop(): Promise<void> {
    for (const helper of this.helpers) helper.kill("SIGKILL");
    this.#poster.close();
    this.#subscriber.disconnect();
    await this.#redis.del(this.list);
    this.#redis.disconnect();
  }
}
