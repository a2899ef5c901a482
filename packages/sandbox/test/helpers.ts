import type {
  CellResult,
  RlmContext,
  Sandbox,
  SandboxDocument,
  SandboxLimits,
  SubCallHandler,
} from "@rlm/core";
import { createIsolatedVmSandboxFactory } from "../src/index.js";

/** Small limits keep the suite fast. */
export const TEST_LIMITS: SandboxLimits = {
  cellTimeoutMs: 2000,
  cellCpuMs: 500,
  memoryMb: 64,
  outputChars: 2000,
  answerChars: 100_000,
  maxPendingSubCalls: 200,
  subCallChars: 2_000_000,
};

/** Echoes the query: "answer: <query>". */
export const echoHandler: SubCallHandler = async ({ query }) => `answer: ${query}`;

export interface TestSandbox {
  sandbox: Sandbox;
  document: SandboxDocument;
  /** Runs a cell; cell keys default to "c1", "c2", ... */
  run(code: string, cellKey?: string): Promise<CellResult>;
  close(): void;
}

const factory = createIsolatedVmSandboxFactory();
const open: TestSandbox[] = [];

export async function openSandbox(
  options: {
    context?: RlmContext;
    limits?: Partial<SandboxLimits>;
    onSubCall?: SubCallHandler;
    seed?: string;
    clockStartMs?: number;
  } = {},
): Promise<TestSandbox> {
  const document = await factory.loadDocument(options.context ?? "the document");
  const sandbox = await factory.create({
    document,
    seed: options.seed ?? "test-seed",
    ...(options.clockStartMs === undefined ? {} : { clockStartMs: options.clockStartMs }),
    limits: { ...TEST_LIMITS, ...options.limits },
    onSubCall: options.onSubCall ?? echoHandler,
  });
  let cells = 0;
  const handle: TestSandbox = {
    sandbox,
    document,
    run: (code, cellKey) => {
      cells += 1;
      return sandbox.execute({ code, cellKey: cellKey ?? `c${cells}` });
    },
    close: () => {
      sandbox.dispose();
      document.release();
    },
  };
  open.push(handle);
  return handle;
}

/** Disposes every sandbox opened by the current test file (call from afterEach). */
export function closeAll(): void {
  for (const handle of open.splice(0)) handle.close();
}
