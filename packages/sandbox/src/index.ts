export { type CellSeed, deriveCellSeed } from "./cell-seed.js";
export type { CellBreach } from "./cell-watchdog.js";
export {
  createIsolatedVmSandboxFactory,
  type IsolatedVmSandboxFactoryOptions,
} from "./create-isolated-vm-sandbox-factory.js";
export { IsolatedVmDocument } from "./isolated-vm-document.js";
export { IsolatedVmSandbox, type IsolatedVmSandboxTuning } from "./isolated-vm-sandbox.js";
export { releaseBufferNow } from "./release-buffer.js";
export { CellSyntaxError, type RewrittenCell, rewriteCell } from "./rewrite-cell.js";
export { SandboxError, type SandboxErrorCode } from "./sandbox-errors.js";
