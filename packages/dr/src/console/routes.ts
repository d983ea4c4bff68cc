// The web console on the agent's HTTP server. The shell (/console/: HTML, JS, CSS) is served to
// anyone and holds no data; everything it shows comes from the JSON endpoints below and /status,
// which sit behind the agent's bearer token like /metrics. The page keeps the token in
// sessionStorage and sends it as an Authorization header, so it never appears in a URL or a log.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { describeError } from '../errors.js';
import { checksFiring, type AlertsView, type FiringAlert, type StatusLike } from './alerts.js';
import type { ConsoleData } from './data.js';

const ASSETS = new URL('../../../src/console/assets/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/console/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/** Paths the agent serves without the token: the console's static shell only. */
export const CONSOLE_PUBLIC_PATHS: ReadonlySet<string> = new Set(['/console', ...Object.keys(FILES)]);

// Scripts, styles and requests from the agent only; no inline script, no framing, no referrer.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface ConsoleDeps {
  data: ConsoleData;
  /** the agent's /status (shaped as StatusLike) */
  status(): unknown;
  /** the agent's alert evaluator (its firing alerts); without one the console judges /status itself */
  alerts?: () => FiringAlert[];
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const body = Object.fromEntries(Object.entries(FILES).map(([path, f]) => [path, readFileSync(new URL(f.file, ASSETS))]));
  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  for (const [path, f] of Object.entries(FILES)) {
    app.get(path, async (_req, reply) => {
      reply.header('content-type', f.type).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache');
      return body[path];
    });
  }
  const json = <T>(load: (params: Record<string, string>) => Promise<T> | T) => async (req: { params: unknown }, reply: { header(k: string, v: string): unknown; code(n: number): unknown }) => {
    reply.header('cache-control', 'no-store');
    try {
      return await load(req.params as Record<string, string>);
    } catch (err) {
      reply.code((err as { code?: string }).code === 'FSDR_DRILL_UNKNOWN' ? 404 : 500);
      return { error: describeError(err) };
    }
  };
  app.get('/console/api/pitr', json(() => deps.data.pitr()));
  app.get('/console/api/drills', json(() => deps.data.drills()));
  app.get('/console/api/drills/:id', json((p) => deps.data.drill(p.id!)));
  app.get('/console/api/alerts', json((): AlertsView => (deps.alerts ? { source: 'evaluator', alerts: deps.alerts() } : { source: 'agent-checks', alerts: checksFiring(deps.status() as StatusLike) })));
}
