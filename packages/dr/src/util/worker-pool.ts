// A small pool of worker threads for CPU-bound repository work (zstd, AES-GCM and SHA-256 run
// synchronously on the calling thread, so parallelism across cores needs threads). A task is one
// message in; the worker answers with progress messages and then one result or one error.
import { Worker } from 'node:worker_threads';
import { FsdrError } from '../errors.js';

export type WorkerReply<R> = { type: 'progress'; bytes: number } | { type: 'done'; result: R } | { type: 'error'; error: string; code?: string };

interface Task<R> {
  resolve(r: R): void;
  reject(e: Error): void;
  onProgress?: (bytes: number) => void;
}

export class WorkerPool<M, R> {
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<(w: Worker) => void> = [];
  private readonly tasks = new Map<Worker, Task<R>>();
  private readonly workers: Worker[] = [];

  constructor(script: URL, workerData: unknown, size: number) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(script, { workerData });
      w.on('message', (m: WorkerReply<R>) => {
        const t = this.tasks.get(w);
        if (!t) return;
        if (m.type === 'progress') return t.onProgress?.(m.bytes);
        this.tasks.delete(w);
        this.release(w);
        if (m.type === 'done') t.resolve(m.result);
        else t.reject(new FsdrError(m.code ?? 'FSDR_WORKER_FAILED', m.error));
      });
      w.on('error', (err) => {
        const t = this.tasks.get(w);
        this.tasks.delete(w);
        t?.reject(err);
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

  async run(message: M, onProgress?: (bytes: number) => void): Promise<R> {
    const w = await this.acquire();
    return new Promise<R>((resolve, reject) => {
      this.tasks.set(w, { resolve, reject, onProgress });
      w.postMessage(message);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
