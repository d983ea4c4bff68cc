// drill verify's golden step: the FeatureSignals server of stack.start started on the restored
// copy (a free loopback port; never stack.start.checkUrl, which may be production's), /health and
// /ready, then the newest golden capture at or before the recovered point re-evaluated through
// the server and the SDK, as recover does. Without stack.start the step says so in the evidence.
import { join } from 'node:path';
import type pg from 'pg';
import type { Config } from '../../config/load.js';
import { resolveSecret } from '../../config/secret-ref.js';
import type { StepOutcome } from '../../drills/steps.js';
import type { Repository } from '../../repository/repository.js';
import { waitReady } from '../../stack/readiness.js';
import { startServer } from '../../stack/start-server.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import { goldenCheck } from '../recover/golden-step.js';
import { pgUrl } from '../recover/recovered-stack.js';

export const GOLDEN_NOT_CONFIGURED = 'not run: stack.start is not configured, so no FeatureSignals server can be started on the copy (golden evaluations through the SDK need one)';

export async function goldenOnCopy(cfg: Config, repo: Repository, copy: pg.ClientConfig & { host: string; port: number; user: string; database: string }, workDir: string, at: Date, readyTimeoutMs: number): Promise<StepOutcome> {
  const stack = cfg.stack;
  if (!stack?.start) return { ok: true, detail: { skipped: GOLDEN_NOT_CONFIGURED } };
  const keys = Object.fromEntries(Object.entries(stack.keys).map(([env, ref]) => [env, resolveSecret(`stack.keys.${env}`, ref)]));
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const server = startServer(stack.start, pgUrl({ ...copy, password: typeof copy.password === 'string' ? copy.password : undefined }), port, join(workDir, 'fsdr-server.log'));
  try {
    const ready = await waitReady(server, url, { health: stack.healthPath, ready: stack.readyPath }, readyTimeoutMs);
    const out = await goldenCheck(repo, keys, url, copy, at);
    return { ...out, detail: { server: { url, pid: server.pid, ready }, ...out.detail } };
  } finally {
    await server.stop();
  }
}
