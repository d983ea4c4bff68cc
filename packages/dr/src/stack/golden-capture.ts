// Records a golden evaluation set through the live FeatureSignals server. First a preflight over
// the public API real SDKs call (the health path, then GET /v1/client/{env}/flags per key), so a
// server that is down or a key it rejects is one line naming the cause and the environment; then
// recordFromServer, which also checks a second path agrees with the server (workload §3.3): the eval
// module on GET /v1/ruleset when the server serves it, else (stock FeatureSignals) the public
// client endpoint by value — so a capture needs nothing beyond the API real SDKs call.
import { recordFromServer, type GoldenRecord } from '@featuresignals/server';
import { FsdrError } from '../errors.js';

export interface GoldenSource {
  url: string;
  /** resolved server API keys per environment slug */
  keys: Record<string, string>;
  healthPath: string;
  contextCount?: number;
}

const TIMEOUT_MS = 10_000;
const base = (url: string) => url.replace(/\/+$/, '');
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 200);

function unreachable(url: string, err: unknown): FsdrError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(err));
  return new FsdrError('FSDR_STACK_UNREACHABLE', `the FeatureSignals server at ${url} is unreachable: ${why}`, { hint: 'check stack.url and that the server is running', cause: err });
}

async function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(base(url) + path, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw unreachable(url, err);
  }
}

async function preflight(src: GoldenSource): Promise<void> {
  const health = await get(src.url, src.healthPath);
  if (!health.ok) throw new FsdrError('FSDR_STACK_UNHEALTHY', `GET ${src.healthPath} on ${src.url} answered ${health.status}`, { hint: 'the server is up but not healthy: check its log' });
  for (const [env, key] of Object.entries(src.keys)) {
    const res = await get(src.url, `/v1/client/${encodeURIComponent(env)}/flags?key=fsdr-golden-check`, { 'X-API-Key': key });
    if (res.ok) continue;
    const body = oneLine(await res.text());
    if (res.status === 401) {
      throw new FsdrError('FSDR_STACK_KEY_REJECTED', `the server rejected the API key of environment ${env} (401 unauthorized)`, {
        hint: `stack.keys.${env} must be a live server key (fs_srv_…) of ${env}; on a restored database a 401 means the keys or the server's ENCRYPTION_MASTER_KEY were not restored`,
      });
    }
    if (res.status === 403) throw new FsdrError('FSDR_STACK_KEY_REJECTED', `the API key of stack.keys.${env} belongs to another environment (403 forbidden)`, { hint: `use a server key created in environment ${env}` });
    throw new FsdrError('FSDR_STACK_CHECK_FAILED', `GET /v1/client/${env}/flags answered ${res.status}${body ? `: ${body}` : ''}`, { hint: res.status === 503 ? 'the server is not ready (cache warming or database down): try again' : 'check the server log' });
  }
}

export async function captureGolden(src: GoldenSource): Promise<GoldenRecord> {
  await preflight(src);
  try {
    return await recordFromServer({ url: base(src.url), keys: src.keys, contextCount: src.contextCount });
  } catch (err) {
    const msg = oneLine((err as Error).message ?? String(err));
    if (/disagree/.test(msg)) {
      throw new FsdrError('FSDR_GOLDEN_DISAGREE', `golden capture refused: ${msg}`, { hint: 'the server does not evaluate as its own rulesets say (a stale cache, or engine drift): nothing was written; check the server before trusting it', cause: err });
    }
    if (err instanceof TypeError && /fetch failed/.test(msg)) throw unreachable(src.url, err);
    throw new FsdrError('FSDR_GOLDEN_CAPTURE_FAILED', `golden capture through ${src.url} failed: ${msg}`, { hint: 'nothing was written; check the server and stack.keys', cause: err });
  }
}
