// GET /v1/stream/{envKey}: SSE, key in X-API-Key or `?api_key=` (as FS). `connected` carries {env_id, version, dbid};
// `flag-update` carries the new version. Every new stream gets one `flag-update` (action CONNECT) right after
// `connected`: FS's SDKs ignore `connected` and never poll while streaming, so without it a change made while they were
// disconnected (a failover to another region's server) stayed stale until the next change. Our SDK skips it.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authenticate } from '../eval-auth.js';

export function streamRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { envKey: string }; Querystring: { api_key?: string } }>('/v1/stream/:envKey', async (req, reply) => {
    const a = authenticate(ctx, req, req.params.envKey, req.query.api_key);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    ctx.hub.add(a.envId, res);
    const rs = ctx.cache.envs.get(a.envId) ?? a.ruleset;
    res.write(`event: connected\ndata: ${JSON.stringify({ env_id: a.envId, version: rs.version, dbid: rs.dbid })}\n\n`);
    // FS's payload shape (type, env_id, flag_id, action) plus our version and dbid, as every change's.
    const update = { type: 'flag_update', env_id: a.envId, flag_id: null, version: rs.version, dbid: rs.dbid, action: 'CONNECT' };
    res.write(`event: flag-update\ndata: ${JSON.stringify(update)}\n\n`);
  });
}

