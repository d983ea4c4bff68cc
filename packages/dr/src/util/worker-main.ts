// The worker side of WorkerPool: run `handle` for each message, report progress, then one result
// or one error (described for the terminal, with its code).
import { parentPort } from 'node:worker_threads';
import { describeError, FsdrError } from '../errors.js';

export function serveTasks<M, R>(handle: (message: M, progress: (bytes: number) => void) => Promise<R>): void {
  parentPort!.on('message', async (m: M) => {
    try {
      const result = await handle(m, (bytes) => parentPort!.postMessage({ type: 'progress', bytes }));
      parentPort!.postMessage({ type: 'done', result });
    } catch (err) {
      parentPort!.postMessage({ type: 'error', error: describeError(err), code: err instanceof FsdrError ? err.code : undefined });
    }
  });
}
