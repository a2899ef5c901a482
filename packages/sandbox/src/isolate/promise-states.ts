import { PromiseCtor, WeakMapCtor, weakMapGet, weakMapSet } from "./intrinsics.js";

/** What the runtime knows of a promise it handed to the model's code. */
export type PromiseState =
  | { state: "pending" }
  | { state: "fulfilled"; value: unknown }
  | { state: "rejected"; reason: unknown };

// JavaScript cannot read a promise's state synchronously; the runtime records it for the
// promises it creates (sub-calls), so printing one says `Promise { <pending> }` as Node
// does: the hint a model needs when it forgot an `await`.
//
// The state is set by the code that settles the promise, never through a `then` handler
// on it: a handler would mark a rejection as handled (an un-awaited failed call would then
// go unreported) and would hide the cell's line from the error's async stack trace.
const states = new WeakMapCtor<object, PromiseState>();

/** Records `promise`'s state holder; the settling code updates `holder` in place. */
export function trackPromise<T>(promise: Promise<T>, holder: PromiseState): Promise<T> {
  weakMapSet(states, promise, holder);
  return promise;
}

/** The recorded state of a promise, or undefined for one the runtime did not create. */
export function promiseState(value: object): PromiseState | undefined {
  return weakMapGet(states, value) as PromiseState | undefined;
}

/** True for a native promise of this realm. */
export function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof PromiseCtor;
}
