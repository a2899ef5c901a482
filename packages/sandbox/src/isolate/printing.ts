import { cell } from "./cell-state.js";
import { ObjectDefineProperty } from "./intrinsics.js";
import { writeTop } from "./inspect.js";

/** Writes one line of output: the values separated by spaces, as `console.log` does. */
export function writeLine(values: readonly unknown[]): void {
  const output = cell.output;
  if (cell.outputStarted) output.put("\n");
  cell.outputStarted = true;
  for (let index = 0; index < values.length; index++) {
    if (index > 0) output.put(" ");
    writeTop(output, values[index]);
  }
}

/** `print(...values)`. */
export const print = function print(...values: unknown[]): void {
  writeLine(values);
};

function consoleMethod(name: string): (...values: unknown[]) => void {
  const method = function (...values: unknown[]): void {
    writeLine(values);
  };
  ObjectDefineProperty(method, "name", { value: name });
  return method;
}

/** `console.log` and friends: all print to the output the model sees. */
export const consoleObject = {
  log: consoleMethod("log"),
  info: consoleMethod("info"),
  warn: consoleMethod("warn"),
  error: consoleMethod("error"),
  debug: consoleMethod("debug"),
};
