// Authenticates an SDK request from L1 alone (no DB call on the hot path): 401 for an unknown key
// only when the database could have told us otherwise; 503 while the cache is not warm or PG is down.
import type { FastifyRequest } from 'fastify';
import type { Ruleset } from '@featuresignals/sdk/eval';
import { hashApiKey } from '../api-keys.js';
import { ServerError, unavailable } from '../errors.js';
import type { AppContext } from './context.js';

export interface Authed { envId: string; type: 'server' | 'client'; ruleset: Ruleset }

/** `queryKey`: the stream also takes `?api_key=` (what every FS SDK sends), the header winning. */
export function authenticate(ctx: AppContext, req: FastifyRequest, envKey?: string, queryKey?: string): Authed {
  if (!ctx.cache.warm) throw unavailable('flag cache is not warm', 'wait for GET /ready to return 200');
  const header = req.headers['x-api-key'];
  const raw = typeof header === 'string' && header !== '' ? header : queryKey;
  if (typeof raw !== 'string' || raw === '') throw new ServerError('FS_UNAUTHORIZED', 401, 'missing X-API-Key header');
  const hash = hashApiKey(ctx.config.pepper, raw);
  const key = ctx.cache.keys.get(hash);
  if (!key) {
    if (!ctx.cache.listening) throw unavailable('database unavailable; cannot authenticate', 'retry when /ready is 200');
    throw new ServerError('FS_UNAUTHORIZED', 401, 'unauthorized', 'check the key and that the server runs with the same ENCRYPTION_MASTER_KEY');
  }
  if (key.expires_at && new Date(key.expires_at).getTime() < Date.now()) throw new ServerError('FS_UNAUTHORIZED', 401, 'api key expired');
  ctx.lastUsed.note(hash);
  const ruleset = ctx.cache.envs.get(key.env_id);
  if (!ruleset) throw unavailable('environment not loaded yet', 'retry shortly');
  if (envKey !== undefined && envKey !== ruleset.env.slug) {
    throw new ServerError('FS_FORBIDDEN', 403, 'api key does not belong to this environment');
  }
  return { envId: key.env_id, type: key.type, ruleset };
}
