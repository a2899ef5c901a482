import { ISOLATE_INSPECT_SOURCE } from "./isolate-inspect-source.js";

/**
 * Prefix of the script name each cell is evaluated under (`//# sourceURL=rlm-cell-N`), so
 * runtime errors can name the user's line.
 */
export const CELL_FILE_PREFIX = "rlm-cell-";

/**
 * Body of the bootstrap closure, run once per isolate with `context.evalClosure`.
 *
 * Arguments (never stored on a global, see advisory GHSA-mmhj-4w6j-76h7):
 * - `$0` Reference to the host sub-call function `(gen, index, query, kind, payload)`,
 *   which always resolves with a JSON envelope string. `kind` is `none`, `string` (the
 *   text as `payload`), `json` (JSON text) or `slice`: the sub-context is the document's
 *   text `[start, end)`, `payload` being `[start, end]`, and was not copied.
 * - `$1` Reference to the host "cell finished" callback `(gen)`.
 * - `$2` the document (a copy of the document's ExternalCopy).
 * - `$3` the output cap in characters.
 *
 * Returns the control function the host drives cells with:
 * `control("run", gen, source, w0, w1, w2, w3, clockBase)`, `control("collect", gen)`,
 * `control("read", name)`.
 *
 * Everything the runtime needs later is captured here, before any user code runs, and
 * the closure is strict, so stack-trace tricks (`CallSite#getFunction`) see nothing.
 */
export const ISOLATE_RUNTIME_SOURCE = String.raw`"use strict";
const subCallRef = $0;
const doneRef = $1;
const documentValue = $2;
const outputLimit = $3;
const global = globalThis;

// ---- intrinsics captured before user code can replace them ----
const uncurry = Function.prototype.call.bind.bind(Function.prototype.call);
const ReflectApply = Reflect.apply;
const ReflectConstruct = Reflect.construct;
const ObjectCreate = Object.create;
const ObjectKeys = Object.keys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectPrototype = Object.prototype;
const ArrayIsArray = Array.isArray;
const StringCtor = String;
const ErrorCtor = Error;
const TypeErrorCtor = TypeError;
const RegExpCtor = RegExp;
const MapCtor = Map;
const SetCtor = Set;
const RealDate = Date;
const PromiseCtor = Promise;
const MathObject = Math;
const JsonStringify = JSON.stringify;
const JsonParse = JSON.parse;
const indirectEval = global.eval;
const stringSlice = uncurry(String.prototype.slice);
const stringStartsWith = uncurry(String.prototype.startsWith);
const stringIndexOf = uncurry(String.prototype.indexOf);
const regExpExec = uncurry(RegExp.prototype.exec);
const regExpToString = uncurry(RegExp.prototype.toString);
const dateGetTime = uncurry(RealDate.prototype.getTime);
const dateToISOString = uncurry(RealDate.prototype.toISOString);
const dateToString = uncurry(RealDate.prototype.toString);
const mapForEach = uncurry(Map.prototype.forEach);
const mapSize = uncurry(ObjectGetOwnPropertyDescriptor(Map.prototype, "size").get);
const setForEach = uncurry(Set.prototype.forEach);
const setSize = uncurry(ObjectGetOwnPropertyDescriptor(Set.prototype, "size").get);
const setAdd = uncurry(Set.prototype.add);
const setHas = uncurry(Set.prototype.has);
const setDelete = uncurry(Set.prototype.delete);
const promiseThen = uncurry(Promise.prototype.then);
const referenceApply = subCallRef.apply;
const referenceApplyIgnored = doneRef.applyIgnored;

// Transfer options with no prototype: Object.prototype pollution cannot add options.
function options(entries) {
  const result = ObjectCreate(null);
  const keys = ObjectKeys(entries);
  for (let i = 0; i < keys.length; i++) result[keys[i]] = entries[keys[i]];
  return result;
}
const subCallOptions = options({
  arguments: options({ copy: true }),
  result: options({ promise: true, copy: true }),
});
const doneOptions = options({ arguments: options({ copy: true }) });

${ISOLATE_INSPECT_SOURCE}

// ---- sub-contexts that are slices of the document ----
// A chunk the code cut from the document is sent to the host as its offsets, not
// copied: a map over a 100 MB document would otherwise copy 100 MB of chunks out of the
// isolate. Map-style code cuts its chunks in order, so each search starts where the last
// slice ended; a scan of the whole document is tried only for chunks large relative to
// it, and at most a few passes over the document per cell (then the chunk is copied).
const documentText = typeof documentValue === "string" ? documentValue : null;
const SLICE_MIN_CHARS = 4096;
const SLICE_SCAN_RATIO = 256;
const SLICE_SCAN_PASSES = 8;
let sliceCursor = 0;
let sliceScansLeft = 0;

function locateInDocument(text) {
  if (documentText === null || text.length < SLICE_MIN_CHARS || text.length > documentText.length) {
    return -1;
  }
  let at = stringStartsWith(documentText, text, sliceCursor) ? sliceCursor : -1;
  if (at < 0 && text.length * SLICE_SCAN_RATIO >= documentText.length && sliceScansLeft > 0) {
    sliceScansLeft -= 1;
    at = stringIndexOf(documentText, text, sliceCursor);
    if (at < 0 && sliceCursor > 0 && sliceScansLeft > 0) {
      sliceScansLeft -= 1;
      at = stringIndexOf(documentText, text);
    }
  }
  if (at >= 0) sliceCursor = at + text.length;
  return at;
}

// ---- per-cell state ----
let cellGen = 0;
let launchedGen = 0;
let cellFinished = true;
let cellError = null;
let finalAnswer = null;
let finalVia = null;
let subCallIndex = 0;
let output = createWriter(outputLimit);
let outputStarted = false;

function writeLine(args) {
  if (outputStarted) output.put("\n");
  outputStarted = true;
  for (let i = 0; i < args.length; i++) {
    if (i > 0) output.put(" ");
    writeTop(output, args[i]);
  }
}

// ---- determinism: Math.random and Date replay per (seed, cellKey) ----
let ra = 0;
let rb = 0;
let rc = 0;
let rd = 0;
let clockNow = 0;
const CLOCK_STEP_MS = 1;

// sfc32: small, fast, and good enough for a model's sampling and shuffling.
function random() {
  const t = (((ra + rb) | 0) + rd) | 0;
  rd = (rd + 1) | 0;
  ra = rb ^ (rb >>> 9);
  rb = (rc + (rc << 3)) | 0;
  rc = (rc << 21) | (rc >>> 11);
  rc = (rc + t) | 0;
  return (t >>> 0) / 4294967296;
}

function reseed(w0, w1, w2, w3, clockBase) {
  ra = w0 | 0;
  rb = w1 | 0;
  rc = w2 | 0;
  rd = w3 | 0;
  for (let i = 0; i < 15; i++) random();
  clockNow = clockBase;
}

function nextNow() {
  const now = clockNow;
  clockNow += CLOCK_STEP_MS;
  return now;
}

const FakeDate = function Date(...args) {
  if (new.target === undefined) return dateToString(new RealDate(nextNow()));
  if (args.length === 0) return ReflectConstruct(RealDate, [nextNow()], new.target);
  return ReflectConstruct(RealDate, args, new.target);
};
ObjectDefineProperty(FakeDate, "length", { value: 7 });
ObjectDefineProperty(FakeDate, "prototype", { value: RealDate.prototype, writable: false });
ObjectDefineProperty(RealDate.prototype, "constructor", {
  value: FakeDate,
  writable: true,
  configurable: true,
  enumerable: false,
});
ObjectDefineProperty(FakeDate, "now", {
  value: function now() {
    return nextNow();
  },
  writable: true,
  configurable: true,
});
ObjectDefineProperty(FakeDate, "parse", { value: RealDate.parse, writable: true, configurable: true });
ObjectDefineProperty(FakeDate, "UTC", { value: RealDate.UTC, writable: true, configurable: true });

// ---- answers ----
function answerText(value) {
  if (typeof value === "string") return value;
  try {
    const json = JsonStringify(value, null, 2);
    if (typeof json === "string") return json;
  } catch (_) {
    // Cycles and BigInt: fall back to the printer, which handles both.
  }
  return inspectBounded(value, 1000000);
}

function describeThrown(thrown, gen) {
  try {
    if (thrown instanceof ErrorCtor) {
      let text = errorText(thrown);
      let stack;
      try {
        stack = thrown.stack;
      } catch (_) {
        stack = undefined;
      }
      if (typeof stack === "string") {
        const match = regExpExec(new RegExpCtor("${CELL_FILE_PREFIX}" + gen + ":(\\d+):\\d+"), stack);
        if (match !== null) text += " (line " + match[1] + ")";
      }
      return text;
    }
    return "Uncaught " + inspectBounded(thrown, 1000);
  } catch (_) {
    return "Uncaught exception (it could not be described)";
  }
}

// ---- the globals the model uses ----
const print = function print(...args) {
  writeLine(args);
};

function consoleMethod(name) {
  const method = function (...args) {
    writeLine(args);
  };
  ObjectDefineProperty(method, "name", { value: name });
  return method;
}

const consoleObject = {
  log: consoleMethod("log"),
  info: consoleMethod("info"),
  warn: consoleMethod("warn"),
  error: consoleMethod("error"),
  debug: consoleMethod("debug"),
};

const recursiveLm = async function recursiveLm(query, subContext) {
  if (typeof query !== "string" || query.length === 0) {
    throw new TypeErrorCtor("recursiveLm(query, subContext?): query must be a non-empty string");
  }
  if (cellFinished) {
    throw new ErrorCtor("recursiveLm() was called after its cell finished; await sub-calls inside the cell");
  }
  let kind = "none";
  let payload = "";
  if (typeof subContext === "string") {
    const at = locateInDocument(subContext);
    if (at >= 0) {
      kind = "slice";
      payload = [at, at + subContext.length];
    } else {
      kind = "string";
      payload = subContext;
    }
  } else if (subContext !== undefined) {
    const json = JsonStringify(subContext);
    if (typeof json !== "string") {
      throw new TypeErrorCtor("recursiveLm(query, subContext?): subContext must be a string or JSON data");
    }
    kind = "json";
    payload = json;
  }
  const gen = cellGen;
  const index = subCallIndex;
  subCallIndex += 1;
  let reply = await ReflectApply(referenceApply, subCallRef, [
    undefined,
    [gen, index, query, kind, payload],
    subCallOptions,
  ]);
  // isolated-vm resolves the call's promise with a second promise; if the model's code
  // broke Promise.prototype.then, that adoption is skipped and the inner promise arrives
  // as the value. Awaiting it (await does not look up "then") gets the answer anyway.
  if (reply instanceof PromiseCtor) reply = await reply;
  const envelope = typeof reply === "string" ? JsonParse(reply) : null;
  if (envelope !== null && typeof envelope === "object") {
    if (envelope.ok === true && typeof envelope.value === "string") return envelope.value;
    if (envelope.ok === false && typeof envelope.error === "string") {
      throw new ErrorCtor("sub-call failed: " + envelope.error);
    }
  }
  throw new ErrorCtor("sub-call failed: the host sent an invalid reply");
};

const FINAL = function FINAL(answer) {
  if (answer === undefined) throw new TypeErrorCtor("FINAL(answer): the answer is undefined");
  finalAnswer = answerText(answer);
  finalVia = "FINAL";
};

// Models often write FINAL_VAR(answer) in code, passing the value instead of its
// name. A non-string, or a string that cannot be a variable name, is taken as the
// value itself; a string that names no defined variable is an error the model sees.
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const FINAL_VAR = function FINAL_VAR(name) {
  if (name === undefined) {
    throw new TypeErrorCtor('FINAL_VAR(name) takes the variable name as a string, e.g. FINAL_VAR("answer")');
  }
  if (typeof name !== "string" || regExpExec(IDENTIFIER, name) === null) {
    finalAnswer = answerText(name);
    finalVia = "FINAL_VAR";
    return;
  }
  const value = global[name];
  if (value === undefined) {
    throw new ErrorCtor('FINAL_VAR: no variable named "' + name + '" is defined');
  }
  finalAnswer = answerText(value);
  finalVia = "FINAL_VAR";
};

global.context = documentValue;
global.print = print;
global.console = consoleObject;
global.recursiveLm = recursiveLm;
global.FINAL = FINAL;
global.FINAL_VAR = FINAL_VAR;
global.Date = FakeDate;
MathObject.random = random;

// ---- cell lifecycle ----
function finish(gen, failed, value) {
  if (gen !== cellGen || cellFinished) return;
  try {
    if (failed) cellError = describeThrown(value, gen);
    else if (value !== undefined) writeLine([value]);
  } catch (error) {
    cellError = describeThrown(error, gen);
  }
  cellFinished = true;
  try {
    ReflectApply(referenceApplyIgnored, doneRef, [undefined, [gen], doneOptions]);
  } catch (_) {
    // The host is gone (disposal); nothing is waiting.
  }
}

function runCell(gen, source, w0, w1, w2, w3, clockBase) {
  cellGen = gen;
  cellFinished = false;
  cellError = null;
  finalAnswer = null;
  finalVia = null;
  subCallIndex = 0;
  sliceScansLeft = SLICE_SCAN_PASSES;
  output = createWriter(outputLimit);
  outputStarted = false;
  reseed(w0, w1, w2, w3, clockBase);
  // Reinstalled every cell: a cell that replaced them must not change the next one.
  MathObject.random = random;
  global.Date = FakeDate;
  let promise;
  try {
    promise = indirectEval(source);
  } catch (error) {
    launchedGen = gen;
    finish(gen, true, error);
    return;
  }
  launchedGen = gen;
  promiseThen(
    promise,
    function (value) {
      finish(gen, false, value);
    },
    function (error) {
      finish(gen, true, error);
    },
  );
}

function collect(gen) {
  const snapshot = ObjectCreate(null);
  snapshot.gen = cellGen;
  snapshot.launched = launchedGen === gen;
  snapshot.finished = cellFinished;
  snapshot.output =
    output.dropped > 0
      ? output.text + "\n... [output truncated: " + output.dropped + " more characters not shown]"
      : output.text;
  snapshot.error = cellError;
  snapshot.finalAnswer = finalAnswer;
  snapshot.finalVia = finalVia;
  return snapshot;
}

function readVariable(name) {
  const value = global[name];
  return value === undefined ? undefined : answerText(value);
}

return function control(op, a, b, c, d, e, f, g) {
  if (op === "run") return runCell(a, b, c, d, e, f, g);
  if (op === "collect") return collect(a);
  if (op === "read") return readVariable(a);
  throw new TypeErrorCtor("unknown control operation");
};
`;
