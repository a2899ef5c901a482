/**
 * The part of an isolated-vm `Reference` the runtime uses. Captured at boot; never put on
 * a global (advisory GHSA-mmhj-4w6j-76h7).
 */
export interface HostReference {
  apply(receiver: undefined, args: unknown[], options: object): Promise<unknown>;
  applyIgnored(receiver: undefined, args: unknown[], options: object): void;
}
