// Builds the Fastify app: health, evaluation, stream and token-protected management routes.
import Fastify, { type FastifyInstance } from 'fastify';
import { flagRoutes } from '../manage/flags.js';
import { projectRoutes } from '../manage/projects.js';
import { requireAdmin, type AppContext } from './context.js';
import { errorHandler } from './errors.js';
import { evaluationRoutes } from './routes/evaluation.js';
import { healthRoutes } from './routes/health.js';
import { streamRoutes } from './routes/stream.js';

/** The URL with the value of any `api_key` query parameter replaced. */
export const redactUrl = (url: string): string => url.replace(/([?&]api_key=)[^&]*/gi, '$1[redacted]');

export function buildApp(ctx: AppContext): FastifyInstance {
  const app = Fastify({
    logger: {
      level: ctx.config.logLevel, redact: ['req.headers["x-api-key"]', 'req.headers.authorization'],
      // FS SDKs put the key in the stream URL (?api_key=): never log it.
      serializers: { req: (r: { method: string; url: string; id?: string }) => ({ id: r.id, method: r.method, url: redactUrl(r.url) }) },
    },
    bodyLimit: 1024 * 1024,
  });
  app.setErrorHandler(errorHandler);
  healthRoutes(app, ctx);
  evaluationRoutes(app, ctx);
  streamRoutes(app, ctx);
  void app.register(async (manage) => {
    manage.addHook('onRequest', async (req) => requireAdmin(ctx, req));
    projectRoutes(manage, ctx);
    flagRoutes(manage, ctx);
  });
  return app;
}
