// A dedicated LISTEN connection that reconnects forever with capped backoff and calls
// `onConnect` after every (re)connect, because PostgreSQL never replays missed NOTIFYs.
import pg from 'pg';

export interface ListenerOptions {
  connectionString: string;
  channels: string[];
  onNotify(channel: string, payload: string): void;
  onConnect(client: pg.Client): Promise<void>;
  /**
   * The database is a hot standby (LISTEN is refused during recovery, and NOTIFY does not
   * replicate): called with the connection instead of onConnect, then again every
   * standbyPollMs until LISTEN works (the database was promoted).
   */
  onStandby?(client: pg.Client): Promise<void>;
  standbyPollMs?: number;
  onError?(err: Error): void;
}

type Outcome = 'up' | 'standby' | 'failed';

export class PgListener {
  private client?: pg.Client;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private attempt = 0;
  up = false;
  /** the database answered as a hot standby at the last attempt */
  standby = false;
  lostAt?: number = Date.now();

  constructor(private readonly opts: ListenerOptions) {}

  /** Resolves after the first successful connect (or close()); later failures reconnect by themselves. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      const tryConnect = async (): Promise<void> => {
        if (this.closed) return resolve();
        const got = await this.connectOnce();
        if (got === 'up') return resolve();
        if (got === 'standby') resolve(); // warm from the standby; keep polling for a promotion
        this.timer = setTimeout(() => void tryConnect(), this.nextDelay(got));
      };
      void tryConnect();
    });
  }

  private nextDelay(got: Outcome): number {
    return got === 'standby' ? (this.opts.standbyPollMs ?? 1000) : this.backoff();
  }

  private backoff(): number {
    this.attempt++;
    const base = Math.min(250 * 2 ** (this.attempt - 1), 5000);
    return base + Math.random() * base * 0.25;
  }

  private async connectOnce(): Promise<Outcome> {
    const c = new pg.Client({ connectionString: this.opts.connectionString, connectionTimeoutMillis: 2000, keepAlive: true, application_name: 'featuresignals-listen' });
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('listen connection ended')));
    c.on('notification', (n) => this.opts.onNotify(n.channel, n.payload ?? ''));
    try {
      await c.connect();
      for (const ch of this.opts.channels) await c.query(`LISTEN ${ch}`);
      if (this.closed) { await c.end(); return 'up'; }
      this.client = c;
      // LISTEN is up before the (re)sync reads anything, so no change can fall in between.
      await this.opts.onConnect(c);
      this.up = true;
      this.standby = false;
      this.lostAt = undefined;
      this.attempt = 0;
      return 'up';
    } catch (err) {
      this.client = undefined;
      // 25006 read_only_sql_transaction: "cannot execute LISTEN during recovery".
      if ((err as { code?: string }).code === '25006' && this.opts.onStandby && !this.closed) {
        try {
          await this.opts.onStandby(c);
          this.standby = true;
          this.attempt = 0;
          return 'standby';
        } catch (e) {
          this.opts.onError?.(e as Error);
          return 'failed';
        } finally {
          await c.end().catch(() => undefined);
        }
      }
      this.opts.onError?.(err as Error);
      await c.end().catch(() => undefined);
      return 'failed';
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
      if (this.closed) return;
      const got = await this.connectOnce();
      if (got === 'up') return;
      this.timer = setTimeout(() => void retry(), this.nextDelay(got));
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
