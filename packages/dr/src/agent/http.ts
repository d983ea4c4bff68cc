// The agent's HTTP API (Fastify): GET /health (open, liveness), GET /status and GET /metrics
// (bearer token). Tokens are compared in constant time and never logged.
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AgentMetrics } from './metrics.js';

export interface HttpDeps {
  token?: string;
  metrics: AgentMetrics;
  status(): unknown;
  /** paths served without the token (the console's static shell, which holds no data) */
  publicPaths?: ReadonlySet<string>;
  /** more routes behind the same token hook (the web console) */
  routes?: (app: FastifyInstance) => void;
}

function sameToken(given: string, want: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(want).digest();
  return timingSafeEqual(a, b);
}

export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/health' || deps.publicPaths?.has(req.url.split('?')[0]!)) return;
    if (!deps.token) {
      return reply.code(403).send({ error: 'agent.token is not configured: /status and /metrics are closed' });
    }
    const h = req.headers.authorization ?? '';
    const given = h.startsWith('Bearer ') ? h.slice(7) : '';
    if (!given || !sameToken(given, deps.token)) return reply.code(401).send({ error: 'missing or wrong bearer token' });
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/status', async () => deps.status());
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  deps.routes?.(app);
  return app;
}
