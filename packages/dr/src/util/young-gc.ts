// Collects short-lived garbage in a thread that streams bulk data, before V8 would by itself.
//
// Node allocates every Buffer's memory outside the JS heap, and V8 frees it only when it collects
// the small Buffer object that owns it. A thread that moves data but allocates little else (a
// backup or restore worker: read, compress, encrypt, write) fills its young generation slowly, so
// dead buffers pile up until V8's external-memory limit (64 MB per isolate) forces a full
// collection: 35-50 MiB of garbage per worker thread was measured, most of a backup's RSS. A
// young-generation collection (a scavenge: well under a millisecond on these small heaps) after
// every few MiB of buffers keeps that bounded; the buffers are dead by then, so none is promoted.
//
// `gc` is exposed by setting --expose-gc at run time (flags cannot be given to worker threads).
// Only this one flag is set, once; if it does not take, this stays a no-op.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;
let allocated = 0;
/** Collect after this many bytes of buffers were handed out since the last collection. */
let every = 0;

/** Turn it on for this thread (each worker thread is its own isolate). */
export function enableYoungGc(everyBytes = 4 * 1024 * 1024): void {
  every = everyBytes;
  if (gc) return;
  const g = globalThis as { gc?: Gc };
  if (typeof g.gc === 'function') gc = g.gc;
  else {
    setFlagsFromString('--expose-gc');
    const exposed = runInNewContext('typeof gc === "function" ? gc : undefined') as Gc | undefined;
    gc = exposed;
  }
}

/** Record `bytes` of buffers allocated (and soon dead); collects the young generation when due. */
export function allocatedBytes(bytes: number): void {
  if (!gc) return;
  allocated += bytes;
  if (allocated < every) return;
  allocated = 0;
  gc({ type: 'minor' });
}
