// The in-process cache (L1): every environment's ruleset and every live API key, warmed from
// PostgreSQL at start, kept current by NOTIFY + version resync, mirrored to Redis when configured.
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Ruleset } from '@featuresignals/sdk/eval';
import { readDbid } from '../db/identity.js';
import { PgListener } from '../db/listener.js';
import { listEnvVersions, loadApiKeys, loadRuleset, type KeyRow } from '../db/load-ruleset.js';
import type { RedisMirror } from './redis-mirror.js';

export interface ChangeEvent { envId: string; version: number; flagId?: string; action: string }

interface FlagNotice { env_id: string; version: number; table?: string; op?: string; flag_id?: string }

export class FlagCache extends EventEmitter {
  dbid?: string;
  readonly envs = new Map<string, Ruleset>();
  readonly keys = new Map<string, KeyRow>();
  warm = false;
  warmCompletedAt?: string;
  redisMirrored = false;
  lastError?: string;
  private chain: Promise<void> = Promise.resolve();
  private listener: PgListener;
  private resyncTimer?: NodeJS.Timeout;
  private remirrorQueued = false;

  constructor(private readonly pool: pg.Pool, connectionString: string, private readonly redis: RedisMirror | undefined,
    private readonly log: Logger, private readonly resyncIntervalMs: number) {
    super();
    this.listener = new PgListener({
      connectionString,
      channels: ['flag_changes', 'api_key_changes'],
      onNotify: (ch, payload) => this.enqueue(() => this.onNotify(ch, payload)),
      onConnect: (client) => this.enqueue(() => this.onListenConnected(client)),
      // A standby region's server: warm from the hot standby, re-read every second (no NOTIFY).
      onStandby: (client) => this.enqueue(() => this.onListenConnected(client)),
      onError: (err) => { this.lastError = err.message; this.log.warn({ err: err.message }, 'listen connection problem'); },
    });
  }

  get listening(): boolean { return this.listener.up; }
  /** the database is a hot standby: the cache is warm from it, refreshed by polling */
  get onStandby(): boolean { return this.listener.standby; }
  get listenLostAt(): number | undefined { return this.listener.lostAt; }

  /** Serialises warm-up, reloads and notifications so they never interleave; NOTIFYs that arrive
   * during warm-up simply wait their turn (the "buffer" of workload §2.4 step 3). */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch((err: Error) => { this.lastError = err.message; this.log.error({ err: err.message }, 'cache update failed'); });
    return run;
  }

  async start(): Promise<void> {
    await this.listener.start();
    this.resyncTimer = setInterval(() => { if (this.listener.up) void this.enqueue(() => this.resync('interval')).catch(() => undefined); }, this.resyncIntervalMs);
    this.resyncTimer.unref();
  }

  private async onListenConnected(client: pg.Client): Promise<void> {
    const dbid = await readDbid(client);
    if (!this.warm || dbid !== this.dbid) {
      if (this.dbid && dbid !== this.dbid) this.log.warn({ before: this.dbid, after: dbid }, 'database identity changed: re-warming from scratch');
      await this.fullWarm(dbid);
    } else {
      await this.resync('reconnect');
    }
  }

  private async fullWarm(dbid: string): Promise<void> {
    const started = Date.now();
    this.warm = false;
    this.dbid = dbid;
    const versions = await listEnvVersions(this.pool);
    const fresh = new Map<string, Ruleset>();
    for (const envId of versions.keys()) {
      const rs = await loadRuleset(this.pool, envId, dbid);
      if (rs) fresh.set(envId, rs);
    }
    const keys = await loadApiKeys(this.pool);
    this.envs.clear();
    for (const [id, rs] of fresh) this.envs.set(id, rs);
    this.keys.clear();
    for (const k of keys) this.keys.set(k.key_hash, k);
    await this.mirror();
    this.warm = true;
    this.warmCompletedAt = new Date().toISOString();
    this.log.info({ dbid, environments: fresh.size, ms: Date.now() - started }, 'cache warm');
    this.emit('warmed', (Date.now() - started) / 1000);
    for (const rs of fresh.values()) this.emit('change', { envId: rs.env.id, version: rs.version, action: 'WARM' } satisfies ChangeEvent);
  }

  private async mirror(): Promise<void> {
    if (!this.redis || !this.dbid) return;
    this.redisMirrored = false;
    try {
      await this.redis.mirrorAll(this.dbid, [...this.envs.values()]);
      this.redisMirrored = true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'redis mirror failed; /ready stays 503 until redis is refilled');
    }
  }

  /** Called by /ready when Redis answers but lacks this identity's warm marker (e.g. it restarted empty). */
  requestRemirror(): void {
    if (this.remirrorQueued || !this.warm) return;
    this.remirrorQueued = true;
    void this.enqueue(async () => { this.remirrorQueued = false; await this.mirror(); }).catch(() => undefined);
  }

  private async onNotify(channel: string, payload: string): Promise<void> {
    this.emit('notify', channel);
    if (!this.warm) return; // the next warm-up reads everything anyway
    if (channel === 'api_key_changes') {
      const { key_hash } = JSON.parse(payload) as { key_hash: string };
      const rows = await loadApiKeys(this.pool, key_hash);
      if (rows[0]) this.keys.set(key_hash, rows[0]);
      else this.keys.delete(key_hash);
      return;
    }
    const n = JSON.parse(payload) as FlagNotice;
    const current = this.envs.get(n.env_id);
    if (n.table === 'environments' && n.op === 'DELETE') return this.dropEnv(n.env_id);
    if (current && n.version <= current.version) return; // already have it (or newer)
    await this.reloadEnv(n.env_id, n.flag_id, n.op ?? 'UPDATE');
  }

  private async reloadEnv(envId: string, flagId: string | undefined, action: string): Promise<void> {
    const rs = await loadRuleset(this.pool, envId, this.dbid!);
    if (!rs) return this.dropEnv(envId);
    // Load first, then swap: evaluation never sees a half-built ruleset and never touches the DB.
    this.envs.set(envId, rs);
    if (this.redis) await this.redis.writeEnv(rs).catch((err: Error) => { this.redisMirrored = false; this.log.warn({ err: err.message }, 'redis write failed'); });
    this.emit('change', { envId, version: rs.version, flagId, action } satisfies ChangeEvent);
  }

  private async dropEnv(envId: string): Promise<void> {
    this.envs.delete(envId);
    if (this.redis && this.dbid) await this.redis.deleteEnv(this.dbid, envId).catch(() => undefined);
  }

  /** Reloads every environment whose version differs in either direction (covers lost NOTIFYs). */
  async resync(why: string): Promise<void> {
    const versions = await listEnvVersions(this.pool);
    let reloaded = 0;
    for (const [envId, v] of versions) {
      if (this.envs.get(envId)?.version !== v) { await this.reloadEnv(envId, undefined, 'RESYNC'); reloaded++; this.emit('resync-reload', why); }
    }
    for (const envId of [...this.envs.keys()]) if (!versions.has(envId)) await this.dropEnv(envId);
    const keys = await loadApiKeys(this.pool);
    this.keys.clear();
    for (const k of keys) this.keys.set(k.key_hash, k);
    if (reloaded > 0) this.log.info({ why, reloaded }, 'resync reloaded environments');
  }

  /** Waits for queued work (tests and shutdown). */
  async idle(): Promise<void> { await this.chain; }

  async close(): Promise<void> {
    clearInterval(this.resyncTimer);
    await this.listener.close();
    await this.chain.catch(() => undefined);
  }
}
