// WAL files pushed by worker threads (one per archive.processes), so the async archiver
// compresses and encrypts several segments on several cores.
import type { Config } from '../../config/load.js';
import { WorkerPool } from '../../util/worker-pool.js';
import { assertMayWrite } from '../../failover/fence.js';
import type { PushedWal } from './push-described.js';

export class PushPool {
  private readonly pool: WorkerPool<{ path: string }, PushedWal>;

  constructor(private readonly config: Config, size: number) {
    this.pool = new WorkerPool(new URL('./push-worker.js', import.meta.url), { config }, size);
  }

  async push(path: string): Promise<PushedWal> {
    // The async archiver pushes ahead of PostgreSQL: it must respect the fence as wal-push does.
    if (this.config.regions) await assertMayWrite(this.config, `async wal-push of ${path.split('/').pop()}`);
    return this.pool.run({ path });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
