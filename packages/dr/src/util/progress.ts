// Progress of a long operation: bytes, rate and ETA on one rewritten line when stderr is a
// terminal; a JSON log line every few seconds otherwise.
import { log } from './log.js';

const fmtBytes = (n: number) => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);
const fmtTime = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}` : '--:--');

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private last = Date.now();
  private readonly tty = !!process.stderr.isTTY;

  constructor(private readonly what: string, private readonly total: number, private readonly quiet = false) {}

  add(bytes: number): void {
    this.done += bytes;
    const now = Date.now();
    if (now - this.last < (this.tty ? 250 : 5000)) return;
    this.last = now;
    this.report();
  }

  private report(final = false): void {
    if (this.quiet) return;
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const eta = rate > 0 ? Math.max(0, (this.total - this.done) / rate) : Infinity;
    if (this.tty) {
      const pct = this.total ? Math.min(100, (100 * this.done) / this.total).toFixed(0) : '?';
      process.stderr.write(`\r${this.what}: ${fmtBytes(this.done)} / ${fmtBytes(this.total)} (${pct}%)  ${fmtBytes(rate)}/s  ETA ${fmtTime(eta)}   ${final ? '\n' : ''}`);
    } else {
      log().info({ op: this.what, bytes: this.done, total: this.total, bytesPerSecond: Math.round(rate), etaSeconds: Number.isFinite(eta) ? Math.round(eta) : null }, `${this.what} progress`);
    }
  }

  finish(): void {
    this.report(true);
  }
}
