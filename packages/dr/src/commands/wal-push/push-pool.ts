// WAL files pushed by worker threads (one per archive.processes), so the async archiver
// compresses and encrypts several segments on several cores.
import type { Config } from '../../config/load.js';
import { WorkerPool } from '../../util/worker-pool.js';
import type { PushedWal } from './push-described.js';

export class PushPool {
  private readonly pool: WorkerPool<{ path: string }, PushedWal>;

  constructor(config: Config, size: number) {
    this.pool = new WorkerPool(new URL('./push-worker.js', import.meta.url), { config }, size);
  }

  push(path: string): Promise<PushedWal> {
    return this.pool.run({ path });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
