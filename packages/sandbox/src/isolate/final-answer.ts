import { cell } from "./cell-state.js";
import {
  globalObject,
  JsonStringify,
  RangeErrorCtor,
  regExpExec,
  TypeErrorCtor,
} from "./intrinsics.js";
import { inspectBounded } from "./inspect.js";

/** Thrown by the size-counting replacer: the JSON would be over the limit. */
const OVER_LIMIT = {};

/**
 * The answer text of a value: strings as they are, anything else as JSON (else printed).
 *
 * The JSON's size is counted while it is built, and building stops past the limit: a
 * FINAL of a value whose JSON runs to hundreds of megabytes would otherwise exhaust the
 * isolate's memory (losing the REPL) or V8's string length, before its size could be seen.
 */
function answerText(value: unknown, limit: number): string {
  if (typeof value === "string") return checkedLength(value, limit);
  let budget = limit;
  const countingReplacer = function (key: string, item: unknown): unknown {
    // A lower bound of what the item adds: its key and, for a string, its text.
    budget -= key.length + (typeof item === "string" ? item.length : 1);
    if (budget < 0) throw OVER_LIMIT;
    return item;
  };
  let json: string | undefined;
  try {
    json = JsonStringify(value, countingReplacer, 2) as string | undefined;
  } catch (error) {
    // Past the limit, or too large to become one string at all ("Invalid string length").
    if (error === OVER_LIMIT || error instanceof RangeErrorCtor) throw tooLong(undefined, limit);
    // Cycles and BigInt: fall back to the printer, which handles both.
    json = undefined;
  }
  if (typeof json === "string") return checkedLength(json, limit);
  return inspectBounded(value, limit);
}

function checkedLength(text: string, limit: number): string {
  if (text.length > limit) throw tooLong(text.length, limit);
  return text;
}

function tooLong(length: number | undefined, limit: number): RangeError {
  const size = length === undefined ? "too large" : `${length} characters`;
  return new RangeErrorCtor(
    `FINAL: the answer is ${size}, over the limit of ${limit} characters; answer with a summary, or keep the data in a variable and report what it holds`,
  );
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `FINAL(answer)` and `FINAL_VAR(name)`, answers bounded by `limit` characters. */
export function createFinalFunctions(limit: number): {
  FINAL: (answer: unknown) => void;
  FINAL_VAR: (name: unknown) => void;
} {
  const FINAL = function FINAL(answer: unknown): void {
    if (answer === undefined) throw new TypeErrorCtor("FINAL(answer): the answer is undefined");
    cell.finalAnswer = answerText(answer, limit);
    cell.finalVia = "FINAL";
  };

  // Models write FINAL_VAR(answer) in code as often as FINAL_VAR("answer"): a string that
  // names a defined variable means that variable; any other value (a string naming no
  // variable included) is the answer itself.
  const FINAL_VAR = function FINAL_VAR(name: unknown): void {
    if (name === undefined) {
      throw new TypeErrorCtor(
        'FINAL_VAR(name) takes the variable name as a string, e.g. FINAL_VAR("answer")',
      );
    }
    let value = name;
    if (typeof name === "string" && regExpExec(IDENTIFIER, name) !== null) {
      const named = (globalObject as Record<string, unknown>)[name];
      if (named !== undefined) value = named;
    }
    cell.finalAnswer = answerText(value, limit);
    cell.finalVia = "FINAL_VAR";
  };

  return { FINAL, FINAL_VAR };
}

/** A global's value as answer text, or undefined (text `FINAL_VAR(name)`). */
export function readVariable(name: string, limit: number): string | undefined {
  const value = (globalObject as Record<string, unknown>)[name];
  return value === undefined ? undefined : answerText(value, limit);
}
