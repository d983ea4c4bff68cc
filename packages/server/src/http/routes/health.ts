// GET /health (liveness: the process answers), GET /ready (readiness: 200 or 503 naming the check)
// and GET /metrics (Prometheus text format).
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { readiness } from '../readiness.js';

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/health', async (_req, reply) => {
    void reply.header('Cache-Control', 'no-store');
    return { status: 'ok', service: 'featuresignals' };
  });
  app.get('/ready', async (_req, reply) => {
    const r = await readiness(ctx);
    void reply.code(r.status === 'not_ready' ? 503 : 200).header('Cache-Control', 'no-store');
    return r;
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('Content-Type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
