import {
  dateToString,
  globalObject,
  MathObject,
  ObjectDefineProperty,
  RealDate,
  ReflectConstruct,
} from "./intrinsics.js";

/**
 * `Math.random` and `Date` replayed per cell: the host reseeds both from (analysis seed,
 * cell key) before each cell, so a cell draws the same numbers and reads the same clock
 * whatever ran before it, and a rebuilt REPL replays identically.
 */

let ra = 0;
let rb = 0;
let rc = 0;
let rd = 0;
let clockNow = 0;
// Each reading of the clock moves it on by a millisecond: time passes, deterministically.
const CLOCK_STEP_MS = 1;

/** sfc32: small, fast, and good enough for a model's sampling and shuffling. */
function random(): number {
  const t = (((ra + rb) | 0) + rd) | 0;
  rd = (rd + 1) | 0;
  ra = rb ^ (rb >>> 9);
  rb = (rc + (rc << 3)) | 0;
  rc = (rc << 21) | (rc >>> 11);
  rc = (rc + t) | 0;
  return (t >>> 0) / 4294967296;
}

function nextNow(): number {
  const now = clockNow;
  clockNow += CLOCK_STEP_MS;
  return now;
}

const FakeDate = function Date(this: unknown, ...args: unknown[]) {
  if (new.target === undefined) return dateToString(new RealDate(nextNow()));
  if (args.length === 0) return ReflectConstruct(RealDate, [nextNow()], new.target);
  return ReflectConstruct(RealDate, args, new.target);
} as unknown as DateConstructor;

ObjectDefineProperty(FakeDate, "length", { value: 7 });
ObjectDefineProperty(FakeDate, "prototype", { value: RealDate.prototype, writable: false });
ObjectDefineProperty(FakeDate, "now", {
  value: function now() {
    return nextNow();
  },
  writable: true,
  configurable: true,
});
ObjectDefineProperty(FakeDate, "parse", {
  value: RealDate.parse,
  writable: true,
  configurable: true,
});
ObjectDefineProperty(FakeDate, "UTC", { value: RealDate.UTC, writable: true, configurable: true });

/** Makes `Date` (and `new Date().constructor`) the replayed clock. Run once at boot. */
export function installDeterminism(): void {
  ObjectDefineProperty(RealDate.prototype, "constructor", {
    value: FakeDate,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  reinstallDeterminism();
}

/** Puts `Math.random` and `Date` back: a cell that replaced them must not change the next. */
export function reinstallDeterminism(): void {
  MathObject.random = random;
  (globalObject as { Date: DateConstructor }).Date = FakeDate;
}

/** Reseeds the generator and the clock for the next cell (the host derives the words). */
export function reseed(w0: number, w1: number, w2: number, w3: number, clockBase: number): void {
  ra = w0 | 0;
  rb = w1 | 0;
  rc = w2 | 0;
  rd = w3 | 0;
  for (let index = 0; index < 15; index++) random();
  clockNow = clockBase;
}
