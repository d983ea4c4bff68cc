// A dedicated LISTEN connection that reconnects forever with capped backoff and calls
// `onConnect` after every (re)connect, because PostgreSQL never replays missed NOTIFYs.
import pg from 'pg';

export interface ListenerOptions {
  connectionString: string;
  channels: string[];
  onNotify(channel: string, payload: string): void;
  onConnect(client: pg.Client): Promise<void>;
  onError?(err: Error): void;
}

export class PgListener {
  private client?: pg.Client;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private attempt = 0;
  up = false;
  lostAt?: number = Date.now();

  constructor(private readonly opts: ListenerOptions) {}

  /** Resolves after the first successful connect (or close()); later failures reconnect by themselves. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      const tryConnect = async (): Promise<void> => {
        if (this.closed) return resolve();
        const ok = await this.connectOnce();
        if (ok) return resolve();
        this.timer = setTimeout(() => void tryConnect(), this.backoff());
      };
      void tryConnect();
    });
  }

  private backoff(): number {
    this.attempt++;
    const base = Math.min(250 * 2 ** (this.attempt - 1), 5000);
    return base + Math.random() * base * 0.25;
  }

  private async connectOnce(): Promise<boolean> {
    const c = new pg.Client({ connectionString: this.opts.connectionString, connectionTimeoutMillis: 2000, keepAlive: true, application_name: 'featuresignals-listen' });
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('listen connection ended')));
    c.on('notification', (n) => this.opts.onNotify(n.channel, n.payload ?? ''));
    try {
      await c.connect();
      for (const ch of this.opts.channels) await c.query(`LISTEN ${ch}`);
      if (this.closed) { await c.end(); return true; }
      this.client = c;
      // LISTEN is up before the (re)sync reads anything, so no change can fall in between.
      await this.opts.onConnect(c);
      this.up = true;
      this.lostAt = undefined;
      this.attempt = 0;
      return true;
    } catch (err) {
      this.opts.onError?.(err as Error);
      this.client = undefined;
      await c.end().catch(() => undefined);
      return false;
    }
  }

  private lost(c: pg.Client, err: Error): void {
    if (this.client !== c || this.closed) return;
    this.client = undefined;
    this.up = false;
    this.lostAt = Date.now();
    this.opts.onError?.(err);
    void c.end().catch(() => undefined);
    const retry = async (): Promise<void> => {
      if (this.closed || (await this.connectOnce())) return;
      this.timer = setTimeout(() => void retry(), this.backoff());
    };
    this.timer = setTimeout(() => void retry(), this.backoff());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.up = false;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
