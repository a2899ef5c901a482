/**
 * The REPL's runtime: the code that runs inside each isolate, bundled at build time
 * (`npm run build:isolate`, esbuild) into one script the host evaluates with
 * `context.evalClosure`. Typechecked on its own (tsconfig.json here: no Node types, no
 * DOM), since nothing of Node exists in the isolate.
 *
 * Everything it needs later is captured while it boots, before any of the model's code
 * runs, and it is strict code, so stack-trace tricks (`CallSite#getFunction`) see nothing.
 */
import type { RuntimeBootArguments } from "../isolate-protocol.js";
import { createCellRunner } from "./cell-runner.js";
import { installDeterminism } from "./determinism.js";
import { setDocumentText } from "./document-slices.js";
import { createFinalFunctions, readVariable } from "./final-answer.js";
import type { HostReference } from "./host-reference.js";
import {
  globalObject,
  ObjectGetOwnPropertyNames,
  setAdd,
  SetCtor,
  setHas,
  TypeErrorCtor,
} from "./intrinsics.js";
import { consoleObject, print } from "./printing.js";
import { createSubCalls } from "./sub-calls.js";

/** The function the host drives cells with (kept by the host as a Reference). */
export type Control = (op: string, ...args: unknown[]) => unknown;

/**
 * Boots the runtime in a fresh isolate. The host references are arguments, never globals
 * (advisory GHSA-mmhj-4w6j-76h7).
 *
 * @param subCallRef - the host's sub-call function (see `HostSubCallArguments`).
 * @param doneRef - the host's "cell `gen` settled" callback.
 * @param documentValue - the document (a copy of the host's ExternalCopy).
 * @returns `control("run", gen, source, w0, w1, w2, w3, clockBase)`,
 * `control("collect", gen)`, `control("read", name)`, `control("variables")`.
 */
export function boot(
  subCallRef: HostReference,
  doneRef: HostReference,
  documentValue: unknown,
  settings: RuntimeBootArguments,
): Control {
  setDocumentText(typeof documentValue === "string" ? documentValue : null);
  const subCalls = createSubCalls(subCallRef, settings);
  const finals = createFinalFunctions(settings.answerLimit);
  const runner = createCellRunner(doneRef, settings.outputLimit);

  const globals = globalObject as Record<string, unknown>;
  // Removed, not merely unused: WebAssembly memory lives outside the isolate's heap, so
  // the memory limit does not bound it (a cell reached 2.4 GB of RSS under 512 MB).
  delete globals.WebAssembly;
  globals.context = documentValue;
  globals.print = print;
  globals.console = consoleObject;
  globals.recursiveLm = subCalls.recursiveLm;
  // The reference implementation's names, which models trained on its prompts use.
  globals.llm_query = subCalls.recursiveLm;
  globals.rlm_query = subCalls.recursiveLm;
  globals.llm_query_batched = subCalls.llmQueryBatched;
  globals.FINAL = finals.FINAL;
  globals.FINAL_VAR = finals.FINAL_VAR;
  installDeterminism();

  // What exists before the model's code: everything else on the global is its variables.
  const builtins = new SetCtor<string>();
  const names = ObjectGetOwnPropertyNames(globalObject);
  for (let index = 0; index < names.length; index++) setAdd(builtins, names[index]);

  function variables(): string[] {
    const result: string[] = [];
    const current = ObjectGetOwnPropertyNames(globalObject);
    for (let index = 0; index < current.length; index++) {
      const name = current[index]!;
      if (!setHas(builtins, name) && globals[name] !== undefined) result[result.length] = name;
    }
    return result;
  }

  // Positional parameters, not destructuring: destructuring goes through the array
  // iterator, which the model's code can replace.
  return function control(
    op: string,
    a?: unknown,
    b?: unknown,
    c?: unknown,
    d?: unknown,
    e?: unknown,
    f?: unknown,
    g?: unknown,
  ): unknown {
    if (op === "run") {
      return runner.run(
        a as number,
        b as string,
        c as number,
        d as number,
        e as number,
        f as number,
        g as number,
      );
    }
    if (op === "collect") return runner.collect(a as number);
    if (op === "read") return readVariable(a as string, settings.answerLimit);
    if (op === "variables") return variables();
    throw new TypeErrorCtor("unknown control operation");
  };
}
