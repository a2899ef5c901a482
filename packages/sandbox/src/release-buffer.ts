import ivm from "isolated-vm";

/**
 * Frees a Buffer's memory now instead of at some later garbage collection, when the
 * Buffer owns its whole ArrayBuffer: the ArrayBuffer is then detached (the Buffer's
 * length becomes 0) and true is returned. A Buffer that shares its ArrayBuffer (a slice,
 * or one from Node's pool) is left as is, and false returned.
 *
 * Why: a document read from Redis is garbage as soon as it is decoded, but V8 frees
 * external memory only when its own heap asks for a collection, which a worker that
 * mostly waits on I/O rarely does: a 100 MB document's bytes, its text and the sandbox
 * copy were all resident at once, and the bytes stayed for the whole analysis.
 *
 * How: isolated-vm's `transferOut` moves an ArrayBuffer's memory into an `ExternalCopy`
 * without copying it (documented, constant time); releasing that copy frees the memory.
 */
export function releaseBufferNow(buffer: Buffer): boolean {
  const owner = buffer.buffer;
  if (!(owner instanceof ArrayBuffer)) return false;
  if (buffer.byteOffset !== 0 || buffer.byteLength !== owner.byteLength || owner.byteLength === 0) {
    return false;
  }
  const moved = new ivm.ExternalCopy(owner, { transferOut: true });
  moved.release();
  return true;
}
