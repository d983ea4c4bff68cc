// The built-in integration suite run on a recovered server before traffic moves: read-only calls
// over the public API real SDKs make (evaluate, bulk, client flags, the SSE stream's `connected`),
// per environment. Nothing here writes, so it is safe on what is about to become production.
export interface IntegrationResult {
  ok: boolean;
  checks: Array<{ env: string; check: string; ok: boolean; status?: number; message?: string; ms: number }>;
}

const CTX = { key: 'fsdr-recover-check' };
const TIMEOUT = 10_000;

async function call(url: string, key: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method, signal: AbortSignal.timeout(TIMEOUT),
    headers: { 'X-API-Key': key, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json };
}

/** Opens the stream and resolves once an `event: connected` arrives (then closes it). */
async function sseConnected(url: string, key: string): Promise<{ status: number; connected: boolean }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), TIMEOUT);
  try {
    const res = await fetch(url, { headers: { 'X-API-Key': key, accept: 'text/event-stream' }, signal: ac.signal });
    if (res.status !== 200 || !res.body) return { status: res.status, connected: false };
    let buf = '';
    const dec = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      if (/^event: ?connected$/m.test(buf)) return { status: 200, connected: true };
    }
    return { status: 200, connected: false };
  } catch {
    return { status: 0, connected: false };
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

export async function runIntegrationChecks(baseUrl: string, keys: Record<string, string>, flagOf: (env: string) => string | undefined): Promise<IntegrationResult> {
  const checks: IntegrationResult['checks'] = [];
  const run = async (env: string, check: string, fn: () => Promise<{ ok: boolean; status?: number; message?: string }>) => {
    const t0 = performance.now();
    let r: { ok: boolean; status?: number; message?: string };
    try { r = await fn(); } catch (err) { r = { ok: false, message: (err as Error).message }; }
    checks.push({ env, check, ...r, ms: Math.round(performance.now() - t0) });
  };
  for (const [env, key] of Object.entries(keys)) {
    const e = encodeURIComponent(env);
    const flag = flagOf(env);
    await run(env, 'POST /v1/evaluate', async () => {
      if (!flag) return { ok: false, message: 'no flag in the golden capture to evaluate' };
      const r = await call(`${baseUrl}/v1/evaluate`, key, 'POST', { flag_key: flag, context: CTX });
      const ok = r.status === 200 && (r.json as { flag_key?: string }).flag_key === flag;
      return { ok, status: r.status, message: ok ? undefined : `expected 200 with flag_key ${flag}, got ${JSON.stringify(r.json).slice(0, 200)}` };
    });
    await run(env, 'POST /v1/evaluate/bulk', async () => {
      const r = await call(`${baseUrl}/v1/evaluate/bulk`, key, 'POST', { flag_keys: flag ? [flag] : [], context: CTX });
      const ok = r.status === 200 && typeof r.json === 'object' && r.json !== null && (!flag || flag in (r.json as object));
      return { ok, status: r.status, message: ok ? undefined : `expected 200 with ${flag ?? 'a map'}, got ${JSON.stringify(r.json).slice(0, 200)}` };
    });
    await run(env, `GET /v1/client/${env}/flags`, async () => {
      const r = await call(`${baseUrl}/v1/client/${e}/flags?key=${CTX.key}`, key, 'GET');
      const ok = r.status === 200 && typeof r.json === 'object' && (!flag || flag in (r.json as object));
      return { ok, status: r.status, message: ok ? undefined : `expected 200 with ${flag ?? 'the values'}, got ${JSON.stringify(r.json).slice(0, 200)}` };
    });
    await run(env, `SSE /v1/stream/${env}`, async () => {
      const r = await sseConnected(`${baseUrl}/v1/stream/${e}`, key);
      return { ok: r.connected, status: r.status, message: r.connected ? undefined : `no connected event within ${TIMEOUT / 1000} s (status ${r.status})` };
    });
  }
  return { ok: checks.every((c) => c.ok), checks };
}
