// WAL segments fetched by worker threads (one per archive.processes) for the prefetcher: zstd,
// AES-GCM and SHA-256 run synchronously, so decoding several segments at once needs threads.
import type { Config } from '../../config/load.js';
import { WorkerPool } from '../../util/worker-pool.js';
import type { Fetched, FetchSegment } from './prefetch.js';

export interface FetchTask {
  name: string;
  dest: string;
  durable: boolean;
}

export class FetchPool {
  private readonly pool: WorkerPool<FetchTask, Fetched>;

  /**
   * `meanwhile` fetches on the calling thread until a worker is ready: workers take a few hundred
   * milliseconds to load their modules and open the repository, and the first segments PostgreSQL
   * asks for would wait that long (measured: 0.43 s for the second segment of a recovery).
   */
  constructor(config: Config, repoName: string, size: number, private readonly meanwhile?: FetchSegment) {
    this.pool = new WorkerPool(new URL('./fetch-worker.js', import.meta.url), { config, repoName }, size);
  }

  readonly fetch: FetchSegment = (name, dest, durable) =>
    this.meanwhile && !this.pool.anyReady ? this.meanwhile(name, dest, durable) : this.pool.run({ name, dest, durable });

  close(): Promise<void> {
    return this.pool.close();
  }
}
