import {
  ArrayIsArray,
  dateGetTime,
  dateToISOString,
  ErrorCtor,
  JsonStringify,
  MapCtor,
  mapForEach,
  mapSize,
  ObjectGetPrototypeOf,
  ObjectKeys,
  ObjectPrototype,
  RealDate,
  RegExpCtor,
  regExpToString,
  SetCtor,
  setAdd,
  setDelete,
  setForEach,
  setHas,
  setSize,
  StringCtor,
} from "./intrinsics.js";
import { createWriter, type OutputWriter } from "./output-writer.js";
import { isPromise, promiseState } from "./promise-states.js";

/**
 * The value formatter behind `print`, `console.*`, the last-expression display and error
 * text: JSON-like for data, readable tags for everything else, cycles marked. It writes
 * pieces into a writer instead of building one big string, and uses only intrinsics
 * captured before any user code ran.
 */

const MAX_DEPTH = 24;

/** `Name: message` of an error, never throwing whatever its getters do. */
export function errorText(error: unknown): string {
  let name: unknown;
  let message: unknown;
  try {
    name = (error as Error).name;
    message = (error as Error).message;
  } catch {
    return "Error";
  }
  if (typeof name !== "string" || name === "") name = "Error";
  return typeof message === "string" && message !== ""
    ? `${name as string}: ${message}`
    : (name as string);
}

function functionName(fn: unknown): string {
  try {
    const name = (fn as { name?: unknown }).name;
    return typeof name === "string" && name !== "" ? name : "anonymous";
  } catch {
    return "anonymous";
  }
}

function classPrefix(value: object): string {
  const proto = ObjectGetPrototypeOf(value) as object | null;
  if (proto === null) return "[Object: null prototype] ";
  if (proto === ObjectPrototype) return "";
  let name: unknown;
  try {
    const ctor = (proto as { constructor?: unknown }).constructor;
    name = typeof ctor === "function" ? ctor.name : undefined;
  } catch {
    name = undefined;
  }
  return typeof name === "string" && name !== "" && name !== "Object" ? `${name} ` : "";
}

/** `Promise { <pending> }`, `Promise { "answer" }` or `Promise { <rejected> Error: … }`. */
function writePromise(
  writer: OutputWriter,
  value: Promise<unknown>,
  depth: number,
  seen: Set<unknown>,
): void {
  const known = promiseState(value);
  if (known === undefined) {
    // A promise the runtime did not create: its state cannot be read synchronously.
    writer.put("Promise { <unknown: await it> }");
  } else if (known.state === "pending") {
    writer.put("Promise { <pending> }");
  } else if (known.state === "fulfilled") {
    writer.put("Promise { ");
    writeValue(writer, known.value, depth + 1, seen);
    writer.put(" }");
  } else {
    writer.put("Promise { <rejected> ");
    writeValue(writer, known.reason, depth + 1, seen);
    writer.put(" }");
  }
}

/**
 * Writes a value. `seen` holds the objects on the current path (a Set driven through
 * captured methods), so cycles print as `[Circular]`.
 */
export function writeValue(
  writer: OutputWriter,
  value: unknown,
  depth: number,
  seen: Set<unknown>,
): void {
  switch (typeof value) {
    case "string":
      // Past the cap only the length matters; quoting a huge string would copy it.
      if (writer.full()) writer.dropped += value.length + 2;
      else writer.put(JsonStringify(value));
      return;
    case "number":
      writer.put(value === 0 && 1 / value < 0 ? "-0" : `${value}`);
      return;
    case "bigint":
      writer.put(`${value}n`);
      return;
    case "boolean":
      writer.put(value ? "true" : "false");
      return;
    case "undefined":
      writer.put("undefined");
      return;
    case "symbol":
      writer.put(StringCtor(value));
      return;
    case "function":
      writer.put(`[Function: ${functionName(value)}]`);
      return;
  }
  if (value === null) {
    writer.put("null");
    return;
  }
  if (setHas(seen, value)) {
    writer.put("[Circular]");
    return;
  }
  if (value instanceof ErrorCtor) {
    writer.put(errorText(value));
    return;
  }
  if (value instanceof RealDate) {
    const time = dateGetTime(value);
    writer.put(time === time ? JsonStringify(dateToISOString(value)) : "Invalid Date");
    return;
  }
  if (value instanceof RegExpCtor) {
    writer.put(regExpToString(value));
    return;
  }
  const isArray = ArrayIsArray(value);
  if (depth >= MAX_DEPTH) {
    writer.put(isArray ? "[Array]" : "[Object]");
    return;
  }
  setAdd(seen, value);
  try {
    if (isArray) writeArray(writer, value as unknown[], depth, seen);
    else if (isPromise(value)) writePromise(writer, value, depth, seen);
    else if (value instanceof MapCtor) writeMap(writer, value, depth, seen);
    else if (value instanceof SetCtor) writeSet(writer, value, depth, seen);
    else writeObject(writer, value as object, depth, seen);
  } finally {
    setDelete(seen, value);
  }
}

function writeArray(
  writer: OutputWriter,
  value: unknown[],
  depth: number,
  seen: Set<unknown>,
): void {
  writer.put("[");
  const length = value.length;
  for (let index = 0; index < length; index++) {
    if (index > 0) writer.put(", ");
    writeValue(writer, value[index], depth + 1, seen);
  }
  writer.put("]");
}

function writeMap(
  writer: OutputWriter,
  value: Map<unknown, unknown>,
  depth: number,
  seen: Set<unknown>,
): void {
  writer.put(`Map(${mapSize(value)}) {`);
  let first = true;
  mapForEach(value, (entryValue, key) => {
    if (!first) writer.put(", ");
    first = false;
    writeValue(writer, key, depth + 1, seen);
    writer.put(" => ");
    writeValue(writer, entryValue, depth + 1, seen);
  });
  writer.put("}");
}

function writeSet(
  writer: OutputWriter,
  value: Set<unknown>,
  depth: number,
  seen: Set<unknown>,
): void {
  writer.put(`Set(${setSize(value)}) {`);
  let first = true;
  setForEach(value, (entryValue) => {
    if (!first) writer.put(", ");
    first = false;
    writeValue(writer, entryValue, depth + 1, seen);
  });
  writer.put("}");
}

function writeObject(writer: OutputWriter, value: object, depth: number, seen: Set<unknown>): void {
  writer.put(`${classPrefix(value)}{`);
  const keys = ObjectKeys(value);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (index > 0) writer.put(", ");
    writer.put(`${JsonStringify(key)}: `);
    writeValue(writer, (value as Record<string, unknown>)[key], depth + 1, seen);
  }
  writer.put("}");
}

/** Like `print`: strings as they are, everything else formatted. */
export function writeTop(writer: OutputWriter, value: unknown): void {
  if (typeof value === "string") writer.put(value);
  else writeValue(writer, value, 0, new SetCtor());
}

/** A formatted value as a string of at most `limit` characters (for error and answer text). */
export function inspectBounded(value: unknown, limit: number): string {
  const writer = createWriter(limit);
  writeValue(writer, value, 0, new SetCtor());
  return writer.dropped > 0 ? `${writer.text}...` : writer.text;
}
