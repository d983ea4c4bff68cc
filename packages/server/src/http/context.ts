// What every route needs: the pool, the cache, the SSE hub and the config, plus request helpers.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { z } from 'zod';
import type { FlagCache } from '../cache/flag-cache.js';
import type { LastUsedTracker } from '../cache/last-used.js';
import type { RedisMirror } from '../cache/redis-mirror.js';
import type { ServerConfig } from '../config.js';
import { ServerError } from '../errors.js';
import type { ServerMetrics } from '../metrics.js';
import type { SseHub } from '../sse-hub.js';

export interface AppContext {
  config: ServerConfig;
  pool: pg.Pool;
  cache: FlagCache;
  hub: SseHub;
  redis?: RedisMirror;
  metrics: ServerMetrics;
  lastUsed: LastUsedTracker;
  schemaVersion: number;
  draining: boolean;
}

export function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return schema.parse(body ?? {});
}

export function requireAdmin(ctx: AppContext, req: FastifyRequest): void {
  const h = req.headers.authorization ?? '';
  const token = h.startsWith('Bearer ') ? h.slice(7) : '';
  const a = Buffer.from(token);
  const b = Buffer.from(ctx.config.adminToken);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new ServerError('FS_UNAUTHORIZED', 401, 'unauthorized', 'send Authorization: Bearer <FS_ADMIN_TOKEN>');
  }
}

export { inTx } from '../db/tx.js';
