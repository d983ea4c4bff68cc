// Batches api_keys.last_used_at: the hot path only notes the key hash; a timer writes them all
// in one UPDATE (FS writes once per request, which also makes evaluation depend on the database).
import type pg from 'pg';

export class LastUsedTracker {
  private pending = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pool: pg.Pool, intervalMs: number, private readonly onError: (err: Error) => void) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  note(keyHash: string): void { this.pending.add(keyHash); }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const hashes = [...this.pending];
    this.pending = new Set();
    await this.pool.query('UPDATE api_keys SET last_used_at = now() WHERE key_hash = ANY($1)', [hashes]).catch((err: Error) => {
      for (const h of hashes) this.pending.add(h); // keep them for the next try (database outage)
      this.onError(err);
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
