// A pool of worker threads that push WAL files, so the async archiver compresses and encrypts
// on every core (zstd-napi and AES run synchronously on the calling thread). Each worker opens
// its own repository from the config file; the pool hands out one file per idle worker.
import { Worker } from 'node:worker_threads';
import { FsdrError } from '../../errors.js';

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

export class PushPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<(w: Worker) => void> = [];
  private readonly pending = new Map<Worker, Pending>();
  private readonly workers: Worker[] = [];

  constructor(configPath: string, size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./push-worker.js', import.meta.url), { workerData: { configPath } });
      w.on('message', (m: { ok: boolean; error?: string; code?: string }) => {
        const p = this.pending.get(w);
        this.pending.delete(w);
        this.release(w);
        if (m.ok) p?.resolve();
        else p?.reject(new FsdrError(m.code ?? 'FSDR_PUSH_FAILED', m.error ?? 'push failed'));
      });
      w.on('error', (err) => {
        const p = this.pending.get(w);
        this.pending.delete(w);
        p?.reject(err);
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  private acquire(): Promise<Worker> {
    const w = this.idle.pop();
    return w ? Promise.resolve(w) : new Promise((r) => this.waiting.push(r));
  }

  async push(path: string): Promise<void> {
    const w = await this.acquire();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(w, { resolve, reject });
      w.postMessage({ path });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
