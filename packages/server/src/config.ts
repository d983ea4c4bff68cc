// Server configuration from environment variables (FeatureSignals names where they exist).
import { ServerError } from './errors.js';

export interface ServerConfig {
  databaseUrl: string;
  redisUrl?: string;
  port: number;
  host: string;
  /** Bearer token for the management API. */
  adminToken: string;
  /** HMAC pepper for API key hashes (hex of ENCRYPTION_MASTER_KEY, or FS's dev constant). */
  pepper: Buffer;
  /** Key for the audit hash chain. */
  auditKey: Buffer;
  skipMigrations: boolean;
  /** How long /ready may stay 200 ("degraded") while PostgreSQL is unreachable; 0 = not at all. */
  maxStalenessSeconds: number;
  /** Safety-net resync of every environment's version (catches lost NOTIFYs). */
  resyncIntervalMs: number;
  logLevel: string;
  /** Apply scheduled enable/disable times (off in drill/verify mode: FS_SCHEDULER=off or --no-scheduler). */
  scheduler: boolean;
  schedulerIntervalMs: number;
  /** How often api_keys.last_used_at is written (batched). */
  lastUsedFlushMs: number;
  /** Test aid: serve no GET /v1/ruleset, imitating a stock FeatureSignals server (FS_DISABLE_RULESET=1). */
  disableRuleset: boolean;
}

/** FeatureSignals' development pepper, used when ENCRYPTION_MASTER_KEY is unset (as FS does). */
export const DEV_PEPPER = Buffer.from('featuresignals-dev-pepper-32byte!', 'utf8');

function secretBytes(raw: string | undefined): Buffer {
  if (!raw) return DEV_PEPPER;
  return /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'utf8');
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new ServerError('FS_CONFIG_MISSING', 0, 'DATABASE_URL is not set', 'export DATABASE_URL=postgres://user@host:5432/db');
  const adminToken = env.FS_ADMIN_TOKEN;
  if (!adminToken) throw new ServerError('FS_CONFIG_MISSING', 0, 'FS_ADMIN_TOKEN is not set', 'set a long random token for the management API');
  const pepper = secretBytes(env.ENCRYPTION_MASTER_KEY);
  return {
    databaseUrl,
    redisUrl: env.REDIS_URL || undefined,
    port: Number(env.PORT ?? 8080),
    host: env.HOST ?? '0.0.0.0',
    adminToken,
    pepper,
    auditKey: env.FS_AUDIT_KEY ? secretBytes(env.FS_AUDIT_KEY) : pepper,
    skipMigrations: env.SKIP_MIGRATIONS === 'true' || env.SKIP_MIGRATIONS === '1',
    maxStalenessSeconds: Number(env.FS_MAX_STALENESS_SECONDS ?? 0),
    resyncIntervalMs: Number(env.FS_RESYNC_INTERVAL_MS ?? 60_000),
    logLevel: env.LOG_LEVEL ?? 'info',
    scheduler: !['off', 'false', '0'].includes((env.FS_SCHEDULER ?? 'on').toLowerCase()),
    schedulerIntervalMs: Number(env.FS_SCHEDULER_INTERVAL_MS ?? 30_000),
    lastUsedFlushMs: Number(env.FS_LAST_USED_FLUSH_MS ?? 60_000),
    disableRuleset: ['1', 'true'].includes((env.FS_DISABLE_RULESET ?? '').toLowerCase()),
  };
}
