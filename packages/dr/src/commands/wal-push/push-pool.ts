// WAL files pushed by worker threads (one per archive.processes), so the async archiver
// compresses and encrypts several segments on several cores.
import type { Config } from '../../config/load.js';
import { WorkerPool } from '../../util/worker-pool.js';

export class PushPool {
  private readonly pool: WorkerPool<{ path: string }, string>;

  constructor(config: Config, size: number) {
    this.pool = new WorkerPool(new URL('./push-worker.js', import.meta.url), { config }, size);
  }

  async push(path: string): Promise<void> {
    await this.pool.run({ path });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
