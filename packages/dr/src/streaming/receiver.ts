// pg_receivewal, supervised: the physical replication slot is created if missing, then
// pg_receivewal streams into the spool (--no-loop: this module restarts it, with backoff, so a
// restart is logged and bounded here rather than retried silently inside the child). Knows
// PostgreSQL's client program and nothing of the repository.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { log } from '../util/log.js';

const run = promisify(execFile);

export interface ReceiverOptions {
  binDir: string;
  connection: string;
  spool: string;
  slot: string;
  synchronous: boolean;
  /** first restart delay; doubles up to maxBackoffMs, back to the first after a run of a minute */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface ReceiverState {
  running: boolean;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string; stderr: string };
}

export class Receiver {
  readonly state: ReceiverState = { running: false, restarts: 0 };
  private child?: ChildProcess;
  private stopped = false;
  private wake?: () => void;
  private done?: Promise<void>;

  constructor(private readonly o: ReceiverOptions) {}

  start(): void {
    this.done = this.loop();
  }

  private async createSlot(): Promise<void> {
    await run(join(this.o.binDir, 'pg_receivewal'), ['--create-slot', '--if-not-exists', '--slot', this.o.slot, '--no-password', '-d', this.o.connection], { timeout: 30_000 });
  }

  private async loop(): Promise<void> {
    const first = this.o.backoffMs ?? 1000;
    const max = this.o.maxBackoffMs ?? 30_000;
    let backoff = first;
    while (!this.stopped) {
      const startedAt = Date.now();
      let stderr = '';
      const exit = await (async () => {
        try {
          await this.createSlot();
        } catch (err) {
          return { code: null, signal: null, stderr: String((err as { stderr?: string }).stderr ?? (err as Error).message).trim() };
        }
        if (this.stopped) return undefined;
        const args = ['-D', this.o.spool, '--slot', this.o.slot, '--no-loop', '--no-password', '--status-interval', '1', '-d', this.o.connection];
        if (this.o.synchronous) args.push('--synchronous');
        const child = spawn(join(this.o.binDir, 'pg_receivewal'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
        this.child = child;
        this.state.running = true;
        child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
        return new Promise<{ code: number | null; signal: string | null; stderr: string }>((res) => {
          child.on('error', (e) => res({ code: null, signal: null, stderr: e.message }));
          child.on('exit', (code, signal) => res({ code, signal, stderr: stderr.trim() }));
        });
      })();
      this.state.running = false;
      this.child = undefined;
      if (!exit || this.stopped) break;
      this.state.lastExit = { ...exit, at: new Date().toISOString() };
      this.state.restarts++;
      if (Date.now() - startedAt > 60_000) backoff = first;
      log().warn({ code: exit.code, signal: exit.signal, stderr: exit.stderr.split('\n').at(-1), retryInMs: backoff }, 'pg_receivewal stopped; restarting');
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      backoff = Math.min(max, backoff * 2);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.child?.kill('SIGTERM');
    await this.done;
  }
}
