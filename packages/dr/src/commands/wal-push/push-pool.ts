// WAL files pushed by worker threads (one per archive.processes), so the async archiver
// compresses and encrypts several segments on several cores.
import { WorkerPool } from '../../util/worker-pool.js';

export class PushPool {
  private readonly pool: WorkerPool<{ path: string }, string>;

  constructor(configPath: string, size: number) {
    this.pool = new WorkerPool(new URL('./push-worker.js', import.meta.url), { configPath }, size);
  }

  async push(path: string): Promise<void> {
    await this.pool.run({ path });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
