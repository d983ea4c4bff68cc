// startServer(config): migrate, warm the cache (LISTEN first), then listen for HTTP.
// Returns {url, close()}; the DR drills start it against a restored database.
import pg from 'pg';
import { pino } from 'pino';
import { FlagCache } from './cache/flag-cache.js';
import { LastUsedTracker } from './cache/last-used.js';
import { RedisMirror } from './cache/redis-mirror.js';
import { DEV_PEPPER, type ServerConfig } from './config.js';
import { migrate, schemaState } from './db/migrate.js';
import type { AppContext } from './http/context.js';
import { buildApp } from './http/app.js';
import { readiness, type Readiness } from './http/readiness.js';
import { createMetrics } from './metrics.js';
import { overdueSchedules, Scheduler } from './scheduler.js';
import { SseHub } from './sse-hub.js';

export type StartServerConfig = Partial<ServerConfig> & Pick<ServerConfig, 'databaseUrl' | 'adminToken'>;

export interface RunningServer {
  url: string;
  port: number;
  /** Resolves when the first warm-up finished (the server may already answer /health before). */
  warmed: Promise<void>;
  readiness(): Promise<Readiness>;
  /** Graceful: /ready turns 503, streams end, in-flight requests finish, connections close. Idempotent. */
  close(): Promise<void>;
}

export function withDefaults(c: StartServerConfig): ServerConfig {
  return {
    port: 0, host: '127.0.0.1', pepper: DEV_PEPPER, auditKey: c.pepper ?? DEV_PEPPER, skipMigrations: false,
    maxStalenessSeconds: 0, resyncIntervalMs: 60_000, logLevel: 'warn', scheduler: true, schedulerIntervalMs: 30_000, lastUsedFlushMs: 60_000, disableRuleset: false, ...c,
  };
}

export async function startServer(input: StartServerConfig, opts: { waitForWarm?: boolean } = {}): Promise<RunningServer> {
  const config = withDefaults(input);
  const log = pino({ level: config.logLevel, name: 'featuresignals' });
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: 2000, idleTimeoutMillis: 10_000 });
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle database connection lost'));
  // A hot standby (a standby region's warm server) cannot be migrated: its schema is read as it is.
  const inRecovery = async () => (await pool.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
  const schema = await (config.skipMigrations ? schemaState(pool) : inRecovery().then((r) => (r ? schemaState(pool) : migrate(pool)))).catch(async (err: unknown) => {
    await pool.end().catch(() => undefined); // nothing may outlive a failed start
    throw err;
  });
  const redis = config.redisUrl ? new RedisMirror(config.redisUrl) : undefined;
  await redis?.connect();
  const cache = new FlagCache(pool, config.databaseUrl, redis, log, config.resyncIntervalMs);
  const hub = new SseHub();
  const lastUsed = new LastUsedTracker(pool, config.lastUsedFlushMs, (err) => log.warn({ err: err.message }, 'last_used_at flush failed'));
  const ctx: AppContext = { config, pool, cache, hub, redis, lastUsed, metrics: createMetrics(cache, hub), schemaVersion: schema.version, draining: false };
  let lastDbid: string | undefined;
  cache.on('change', (e: { envId: string; version: number; flagId?: string; action: string }) => {
    const rs = cache.envs.get(e.envId);
    if (lastDbid && cache.dbid !== lastDbid) hub.closeAll(); // a restore: SDKs reconnect and see the new dbid
    lastDbid = cache.dbid;
    hub.send(e.envId, 'flag-update', { type: 'flag_update', env_id: e.envId, flag_id: e.flagId ?? null, version: e.version, dbid: rs?.dbid, action: e.action });
  });
  const app = buildApp(ctx);
  await app.listen({ port: config.port, host: config.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const warmed = cache.start();
  const scheduler = new Scheduler(pool, config.auditKey, (err) => log.warn({ err: err.message }, 'scheduler run failed'));
  if (config.scheduler) {
    scheduler.start(config.schedulerIntervalMs);
  } else {
    const due = await overdueSchedules(pool).catch(() => []);
    if (due.length > 0) log.warn({ overdue: due.map((d) => ({ flag: d.flag_key, env_id: d.env_id, kind: d.kind, at: d.at })) }, 'scheduler off: overdue schedules not applied');
  }
  if (opts.waitForWarm) await warmed;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
    port,
    warmed,
    readiness: () => readiness(ctx),
    close: () => (closing ??= (async () => {
      ctx.draining = true;
      hub.stop();
      await scheduler.stop();
      await app.close();
      await lastUsed.stop();
      await cache.close();
      await redis?.close();
      await pool.end().catch(() => undefined);
    })()),
  };
}
