// Builds the Fastify app: health, evaluation, stream and token-protected management routes.
import Fastify, { type FastifyInstance } from 'fastify';
import { flagRoutes } from '../manage/flags.js';
import { projectRoutes } from '../manage/projects.js';
import { requireAdmin, type AppContext } from './context.js';
import { errorHandler } from './errors.js';
import { evaluationRoutes } from './routes/evaluation.js';
import { healthRoutes } from './routes/health.js';
import { streamRoutes } from './routes/stream.js';

export function buildApp(ctx: AppContext): FastifyInstance {
  const app = Fastify({
    logger: { level: ctx.config.logLevel, redact: ['req.headers["x-api-key"]', 'req.headers.authorization'] },
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
