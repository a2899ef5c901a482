/**
 * JavaScript source (run inside the isolate, as part of the bootstrap closure) for the
 * value formatter behind `print`, `console.*`, the last-expression display and error
 * text.
 *
 * It writes pieces into a writer instead of building one big string, so printing a
 * 100 MB value costs no more isolate memory than the output cap, and it only uses
 * intrinsics captured before any user code ran (`$intrinsics`), so a cell that replaces
 * `JSON`, `Array.prototype.join` or `Object.keys` cannot break printing for later cells.
 *
 * Kept as a string (no template literals or `${` inside) because it is evaluated in the
 * isolate, never in Node.
 */
export const ISOLATE_INSPECT_SOURCE = `
const MAX_DEPTH = 24;

// A writer that keeps at most "limit" characters and counts the rest. Built as a literal
// so no property is ever assigned through a (possibly polluted) prototype chain.
function createWriter(limit) {
  const w = {
    text: "",
    stored: 0,
    dropped: 0,
    put(piece) {
      const len = piece.length;
      const room = limit - w.stored;
      if (room >= len) {
        w.text += piece;
        w.stored += len;
      } else if (room > 0) {
        w.text += stringSlice(piece, 0, room);
        w.stored += room;
        w.dropped += len - room;
      } else {
        w.dropped += len;
      }
    },
    full() {
      return w.stored >= limit;
    },
  };
  return w;
}

function errorText(error) {
  let name;
  let message;
  try {
    name = error.name;
    message = error.message;
  } catch (_) {
    return "Error";
  }
  if (typeof name !== "string" || name === "") name = "Error";
  return typeof message === "string" && message !== "" ? name + ": " + message : name;
}

function functionName(fn) {
  try {
    const name = fn.name;
    return typeof name === "string" && name !== "" ? name : "anonymous";
  } catch (_) {
    return "anonymous";
  }
}

function classPrefix(value) {
  const proto = ObjectGetPrototypeOf(value);
  if (proto === null) return "[Object: null prototype] ";
  if (proto === ObjectPrototype) return "";
  let name;
  try {
    const ctor = proto.constructor;
    name = typeof ctor === "function" ? ctor.name : undefined;
  } catch (_) {
    name = undefined;
  }
  return typeof name === "string" && name !== "" && name !== "Object" ? name + " " : "";
}

// Writes a value: JSON-like for data, readable tags for everything else, cycles marked.
// "seen" holds the objects on the current path (a Set driven through captured methods).
function writeValue(w, value, depth, seen) {
  switch (typeof value) {
    case "string":
      // Past the cap only the length matters; quoting a huge string would copy it.
      if (w.full()) w.dropped += value.length + 2;
      else w.put(JsonStringify(value));
      return;
    case "number":
      w.put(value === 0 && 1 / value < 0 ? "-0" : "" + value);
      return;
    case "bigint":
      w.put("" + value + "n");
      return;
    case "boolean":
      w.put(value ? "true" : "false");
      return;
    case "undefined":
      w.put("undefined");
      return;
    case "symbol":
      w.put(StringCtor(value));
      return;
    case "function":
      w.put("[Function: " + functionName(value) + "]");
      return;
  }
  if (value === null) {
    w.put("null");
    return;
  }
  if (setHas(seen, value)) {
    w.put("[Circular]");
    return;
  }
  if (value instanceof ErrorCtor) {
    w.put(errorText(value));
    return;
  }
  if (value instanceof RealDate) {
    const time = dateGetTime(value);
    w.put(time === time ? JsonStringify(dateToISOString(value)) : "Invalid Date");
    return;
  }
  if (value instanceof RegExpCtor) {
    w.put(regExpToString(value));
    return;
  }
  const isArray = ArrayIsArray(value);
  if (depth >= MAX_DEPTH) {
    w.put(isArray ? "[Array]" : "[Object]");
    return;
  }
  setAdd(seen, value);
  try {
    if (isArray) {
      w.put("[");
      const length = value.length;
      for (let i = 0; i < length; i++) {
        if (i > 0) w.put(", ");
        writeValue(w, value[i], depth + 1, seen);
      }
      w.put("]");
    } else if (value instanceof MapCtor) {
      w.put("Map(" + mapSize(value) + ") {");
      let first = true;
      mapForEach(value, function (entryValue, key) {
        if (!first) w.put(", ");
        first = false;
        writeValue(w, key, depth + 1, seen);
        w.put(" => ");
        writeValue(w, entryValue, depth + 1, seen);
      });
      w.put("}");
    } else if (value instanceof SetCtor) {
      w.put("Set(" + setSize(value) + ") {");
      let first = true;
      setForEach(value, function (entryValue) {
        if (!first) w.put(", ");
        first = false;
        writeValue(w, entryValue, depth + 1, seen);
      });
      w.put("}");
    } else {
      w.put(classPrefix(value) + "{");
      const keys = ObjectKeys(value);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) w.put(", ");
        w.put(JsonStringify(keys[i]) + ": ");
        writeValue(w, value[keys[i]], depth + 1, seen);
      }
      w.put("}");
    }
  } finally {
    setDelete(seen, value);
  }
}

// Like print: strings as they are, everything else formatted.
function writeTop(w, value) {
  if (typeof value === "string") w.put(value);
  else writeValue(w, value, 0, new SetCtor());
}

// A formatted value as a string of at most "limit" characters (for error and answer text).
function inspectBounded(value, limit) {
  const w = createWriter(limit);
  writeValue(w, value, 0, new SetCtor());
  return w.dropped > 0 ? w.text + "..." : w.text;
}
`;
