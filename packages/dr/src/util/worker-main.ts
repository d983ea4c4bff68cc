// The worker side of WorkerPool: run `handle` for each message, report progress, then one result
// or one error: its message, code and hint, and the object key of an integrity failure, so the
// main thread rebuilds an error of the same kind (restore explains a damaged object as tampering
// when the repository's versions say so; a plain error it would pass through).
import { parentPort } from 'node:worker_threads';
import { describeError, FsdrError, IntegrityError } from '../errors.js';
import { collectWhenGrown } from './young-gc.js';

/**
 * `collect`: once a task's reply is sent, a full collection if the heap grew by a few MiB since the
 * last one. A task's message and result (thousands of runs for an incremental's bundle) live long
 * enough to reach the old space, which V8 otherwise let grow task after task: 10 -> 22 MiB per
 * backup worker, measured.
 */
export function serveTasks<M, R>(handle: (message: M, progress: (bytes: number) => void) => Promise<R>, opts: { collect?: boolean } = {}): void {
  parentPort!.on('message', async (m: M) => {
    try {
      const result = await handle(m, (bytes) => parentPort!.postMessage({ type: 'progress', bytes }));
      parentPort!.postMessage({ type: 'done', result });
    } catch (err) {
      parentPort!.postMessage(err instanceof FsdrError
        ? { type: 'error', error: err.message, code: err.code, hint: err.hint, integrityKey: err instanceof IntegrityError ? err.key : undefined }
        : { type: 'error', error: describeError(err) });
    }
    if (opts.collect) collectWhenGrown();
  });
  // Its modules are loaded and its setup done (a pool may use another thread until then).
  parentPort!.postMessage({ type: 'ready' });
}
