// The readiness verdict (workload §2.5): database, schema, listen, warm and redis checks, each named
// in the body so a drill or an orchestrator can see which one failed.
import { EXPECTED_SCHEMA_VERSION } from '../db/migrations.js';
import { withTimeout } from '../cache/redis-mirror.js';
import type { AppContext } from './context.js';

interface Check { status: 'ok' | 'fail'; [k: string]: unknown }
export interface Readiness { status: 'ready' | 'degraded' | 'not_ready'; dbid: string | null; checks: Record<string, Check> }

export async function readiness(ctx: AppContext): Promise<Readiness> {
  const checks: Record<string, Check> = {};
  const t0 = Date.now();
  try {
    // A primary made read-only on purpose (a fenced region after failover) cannot serve writes:
    // not ready, naming why (fsdr.fence). A standby in recovery is read-only by nature: not this.
    const r = await withTimeout(ctx.pool.query<{ ro: string; rec: boolean; why: string | null }>("SELECT current_setting('default_transaction_read_only') AS ro, pg_is_in_recovery() AS rec, current_setting('fsdr.fence', true) AS why"), 1000);
    checks.database = { status: 'ok', latency_ms: Date.now() - t0 };
    const row = r.rows[0]!;
    if (row.ro === 'on' && !row.rec) checks.writable = { status: 'fail', error: `database refuses writes (default_transaction_read_only = on)${row.why ? `: ${row.why}` : ''}` };
  } catch (err) {
    checks.database = { status: 'fail', error: (err as Error).message };
  }
  checks.schema = ctx.schemaVersion === EXPECTED_SCHEMA_VERSION
    ? { status: 'ok', version: ctx.schemaVersion }
    : { status: 'fail', version: ctx.schemaVersion, expected: EXPECTED_SCHEMA_VERSION };
  checks.listen = ctx.cache.listening ? { status: 'ok' }
    : ctx.cache.onStandby ? { status: 'fail', error: 'database in recovery (a standby): no LISTEN; the cache is re-read every second until it is promoted' }
    : { status: 'fail', error: ctx.cache.lastError ?? 'not connected' };
  checks.warm = ctx.cache.warm
    ? { status: 'ok', environments: ctx.cache.envs.size, completed_at: ctx.cache.warmCompletedAt }
    : { status: 'fail', error: 'warm-up not complete' };
  if (ctx.redis) {
    const r = await ctx.redis.check(ctx.cache.dbid);
    if (r.ok && !r.warm) ctx.cache.requestRemirror(); // e.g. Redis restarted empty: refill it
    checks.redis = r.ok && r.warm ? { status: 'ok' } : { status: 'fail', error: r.error ?? 'redis holds no warm marker for this database' };
  }
  if (ctx.draining) checks.draining = { status: 'fail', error: 'shutting down' };

  const failing = Object.entries(checks).filter(([, c]) => c.status === 'fail').map(([k]) => k);
  let status: Readiness['status'] = failing.length === 0 ? 'ready' : 'not_ready';
  // Within the staleness budget a database outage alone still serves from L1 ("degraded").
  const lostAt = ctx.cache.listenLostAt;
  const dbOnly = failing.length > 0 && failing.every((k) => k === 'database' || k === 'listen');
  if (dbOnly && ctx.cache.warm && lostAt !== undefined && Date.now() - lostAt < ctx.config.maxStalenessSeconds * 1000) status = 'degraded';
  return { status, dbid: ctx.cache.dbid ?? null, checks };
}
