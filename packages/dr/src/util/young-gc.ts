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
// It is set once; if it does not take, collecting stays a no-op.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;
let exposed: Gc | undefined;
let allocated = 0;
/** Collect after this many bytes of buffers were handed out since the last collection. */
let every = 0;

/** V8's gc function for this thread, exposed once through the one flag. */
function exposeGc(): Gc | undefined {
  if (exposed) return exposed;
  const g = globalThis as { gc?: Gc };
  if (typeof g.gc === 'function') exposed = g.gc;
  else {
    setFlagsFromString('--expose-gc');
    exposed = runInNewContext('typeof gc === "function" ? gc : undefined') as Gc | undefined;
  }
  return exposed;
}

/** Turn it on for this thread (each worker thread is its own isolate). */
export function enableYoungGc(everyBytes = 4 * 1024 * 1024): void {
  every = everyBytes;
  gc = exposeGc();
}

/** Record `bytes` of buffers allocated (and soon dead); collects the young generation when due. */
export function allocatedBytes(bytes: number): void {
  if (!gc) return;
  allocated += bytes;
  if (allocated < every) return;
  allocated = 0;
  gc({ type: 'minor' });
}

/**
 * Keeps this thread's young generation at the size it starts with (1 MiB semi-spaces). V8 doubles
 * it, up to 16 MiB each, whenever many objects survive a scavenge, and never gives it back: parsing
 * one manifest of an incremental (thousands of pieces) took a backup's main thread from 17 to
 * 46 MiB of heap, 30 MiB of RSS for the rest of the run. Small semi-spaces only mean that such
 * objects move to the old space sooner. Worker threads get the same through resourceLimits; the
 * main thread's limit is fixed at start, but the growth factor is read at each growth.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * A full collection now, after a phase whose objects are all dead (a parsed manifest once its
 * plan is made), so that the RSS it used is free again before the bulk of the work starts.
 */
export function collectNow(): void {
  // Without arguments: on Node 20, gc({ type: 'major' }) collected next to nothing (measured).
  exposeGc()?.();
}

/** Heap and external memory in use right after the last collectWhenGrown collection (0: none yet). */
let collectedAt = 0;

/**
 * Heap in use plus the buffers V8 accounts for: a worker's result (an incremental's packed pieces,
 * ~800 KiB each) is an ArrayBuffer the heap barely sees, and V8 alone waits for 64 MiB of those.
 */
const inUse = () => {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
};

/**
 * A full collection when the heap (with its buffers) has grown by `growthBytes` since the last
 * one: after a unit of work whose objects are dead, without paying a collection after every one
 * (each is ~5 ms; after every bundle of a restore that was 3-4 % of its CPU).
 */
export function collectWhenGrown(growthBytes = 2 << 20): void {
  if (collectedAt && inUse() - collectedAt < growthBytes) return;
  collectNow();
  collectedAt = inUse();
}

/**
 * V8's memory-saving mode for the rest of the process (all its threads): smaller heap growth and
 * more compaction. For a restore of an incremental, whose manifest holds thousands of pieces, the
 * main thread's heap stayed at 15 instead of 30 MiB (peak RSS 134 -> 122 MiB) with no cost in
 * wall time that alternating runs could tell from the noise; a restore of a full backup is unchanged.
 */
export function favourMemory(): void {
  setFlagsFromString('--optimize-for-size');
}
