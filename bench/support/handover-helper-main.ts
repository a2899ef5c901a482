// One of the other processes of figure 8's handover floor (handover-floor.ts): takes calls
// from a Redis list while it has a call slot free, sends each with plain node:http, and
// PUBLISHes the index of each one answered. Prints "ready" once connected.
// Env: HANDOVER_SLOTS, HANDOVER_LIST, HANDOVER_CHANNEL, HANDOVER_URL.
import { Redis } from "ioredis";
import { BarePoster } from "./bare-client.js";
import { splitHandoverEntry } from "./handover-floor.js";
import { REDIS } from "./redis-keys.js";

const slots = Number(process.env.HANDOVER_SLOTS);
const list = process.env.HANDOVER_LIST ?? "";
const channel = process.env.HANDOVER_CHANNEL ?? "";
const poster = new BarePoster(process.env.HANDOVER_URL ?? "");
const redis = new Redis(REDIS);
// BLPOP blocks its connection: a second one, so the publishes never wait behind it.
const blocking = new Redis(REDIS);
let free = slots;
let slotFreed: () => void = () => undefined;

function start(entry: string): void {
  const { index, body } = splitHandoverEntry(entry);
  poster
    .post(body)
    .then(() => redis.publish(channel, index))
    .catch((error: unknown) => console.error(error))
    .finally(() => {
      free += 1;
      slotFreed();
    });
}

await redis.ping();
await blocking.ping();
console.log("ready");
for (;;) {
  if (free === 0) await new Promise<void>((resolve) => (slotFreed = resolve));
  // As many as there are slots free, in one round trip; else wait for the next one.
  const taken = (await redis.lpop(list, free)) ?? [];
  if (taken.length === 0) {
    const popped = await blocking.blpop(list, 0);
    if (popped) taken.push(popped[1]);
  }
  for (const entry of taken) {
    free -= 1;
    start(entry);
  }
}
