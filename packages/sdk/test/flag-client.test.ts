// FlagClient against a small scripted HTTP server speaking the ruleset/SSE protocol: ETag reuse,
// polling while the stream is unavailable, the `incarnation` event on a restore, and close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlagClient, type IncarnationEvent, type Ruleset } from '../src/index.js';

function ruleset(dbid: string, version: number, value: boolean): Ruleset {
  return { env: { id: 'e1', slug: 'prod' }, version, dbid,
    flags: [{ key: 'f', flag_type: 'boolean', default_value: false, prerequisites: [], mutual_exclusion_group: '', expires_at: null }],
    states: [{ flag_key: 'f', enabled: true, default_value: value, rules: [], percentage_rollout: 0, variants: [] }], segments: [] };
}

async function scriptedServer(opts: { stream: boolean }) {
  let current = ruleset('100:1', 5, true);
  const hits = { ruleset: 0, notModified: 0, stream: 0 };
  const streams = new Set<ServerResponse>();
  const srv = createServer((req, res) => {
    if (req.headers['x-api-key'] !== 'k') { res.writeHead(401).end(); return; }
    if (req.url === '/v1/ruleset/prod') {
      hits.ruleset++;
      const etag = `"${current.dbid}:${current.version}"`;
      if (req.headers['if-none-match'] === etag) { hits.notModified++; res.writeHead(304).end(); return; }
      res.writeHead(200, { 'content-type': 'application/json', etag }).end(JSON.stringify(current));
      return;
    }
    if (req.url === '/v1/stream/prod' && opts.stream) {
      hits.stream++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: connected\ndata: ${JSON.stringify({ env_id: 'e1', version: current.version, dbid: current.dbid })}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    hits,
    set(rs: Ruleset, notify: boolean) {
      current = rs;
      if (notify) for (const s of streams) s.write(`event: flag-update\ndata: ${JSON.stringify({ type: 'flag_update', env_id: 'e1', version: rs.version, dbid: rs.dbid })}\n\n`);
    },
    close: () => new Promise<void>((r) => { for (const s of streams) s.destroy(); srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

test('without a stream the client polls with If-None-Match and picks up changes', async () => {
  const srv = await scriptedServer({ stream: false });
  const c = new FlagClient({ baseURL: srv.url, sdkKey: 'k', envKey: 'prod', pollingIntervalMs: 50, sseRetryMs: 10_000 });
  try {
    await c.ready(2000);
    assert.equal(c.getBoolean('f', { key: 'u' }, false), true);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(srv.hits.notModified >= 1, 'unchanged polls are answered 304');
    srv.set(ruleset('100:1', 6, false), false);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.getBoolean('f', { key: 'u' }, true), false);
    assert.equal(c.rulesetVersion(), 6);
  } finally {
    c.close();
    c.close();
    await srv.close();
  }
});

test('a new database identity with a lower version emits `incarnation` and is accepted', async () => {
  const srv = await scriptedServer({ stream: true });
  const c = new FlagClient({ baseURL: srv.url, sdkKey: 'k', envKey: 'prod', pollingIntervalMs: 600_000 });
  try {
    await c.ready(2000);
    const seen = new Promise<IncarnationEvent>((r) => c.on('incarnation', r));
    srv.set(ruleset('200:2', 3, false), true); // restored: other dbid, older version
    const ev = await seen;
    assert.deepEqual(ev, { before: { dbid: '100:1', version: 5 }, after: { dbid: '200:2', version: 3 } });
    assert.equal(c.dbid(), '200:2');
    assert.equal(c.getBoolean('f', { key: 'u' }, true), false);
  } finally {
    c.close();
    await srv.close();
  }
});

test('before the first ruleset the getters return the fallback; ready() times out with a typed error', async () => {
  const c = new FlagClient({ baseURL: 'http://127.0.0.1:9', sdkKey: 'k', envKey: 'prod', streaming: false, timeoutMs: 200 });
  try {
    assert.equal(c.getString('f', { key: 'u' }, 'fb'), 'fb');
    assert.equal(c.evaluate('f', { key: 'u' }).reason, 'DEFAULT');
    await assert.rejects(c.ready(150), { code: 'SDK_NOT_READY' });
  } finally {
    c.close();
  }
});

// A stock FeatureSignals server: no /v1/ruleset (404), values from GET /v1/client/{env}/flags?key=
// (the key alone), full results from POST /v1/evaluate/bulk, and `flag-update` on the stream.
async function stockServer() {
  let limit = 5;
  const hits = { client: [] as string[], bulk: 0, ruleset: 0 };
  const streams = new Set<ServerResponse>();
  const valueFor = (key: string, plan?: unknown) => (plan === 'pro' ? limit * 10 : key === 'vip' ? 99 : limit);
  const srv = createServer((req, res) => {
    if (req.headers['x-api-key'] !== 'k') { res.writeHead(401).end(); return; }
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/v1/ruleset/prod') { hits.ruleset++; res.writeHead(404).end('404 page not found'); return; }
    if (url.pathname === '/v1/client/prod/flags') {
      const key = url.searchParams.get('key') ?? '';
      hits.client.push(key);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ limit: valueFor(key), on: true }));
      return;
    }
    if (url.pathname === '/v1/evaluate/bulk' && req.method === 'POST') {
      let raw = '';
      req.on('data', (d) => (raw += d)).on('end', () => {
        hits.bulk++;
        const b = JSON.parse(raw) as { flag_keys: string[]; context: { key: string; attributes?: Record<string, unknown> } };
        const out: Record<string, unknown> = {};
        for (const k of b.flag_keys) out[k] = k === 'limit' ? { flag_key: k, value: valueFor(b.context.key, b.context.attributes?.plan), reason: 'TARGETED' } : { flag_key: k, value: true, reason: 'FALLTHROUGH' };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      });
      return;
    }
    if (url.pathname === '/v1/stream/prod') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: connected\ndata: ${JSON.stringify({ env_id: 'e1' })}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    hits,
    setLimit(v: number, notify: boolean) {
      limit = v;
      if (notify) for (const s of streams) s.write(`event: flag-update\ndata: ${JSON.stringify({ type: 'flag_update', env_id: 'e1' })}\n\n`);
    },
    close: () => new Promise<void>((r) => { for (const s of streams) s.destroy(); srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

test('without /v1/ruleset the client falls back to server-side evaluation per context and follows the stream', async () => {
  const srv = await stockServer();
  const c = new FlagClient({ baseURL: srv.url, sdkKey: 'k', envKey: 'prod', pollingIntervalMs: 600_000, contexts: [{ key: 'vip' }] });
  try {
    const fellBack = new Promise((r) => c.once('fallback', r));
    await c.ready(2000);
    await fellBack;
    assert.equal(c.evaluationMode, 'server');
    assert.equal(srv.hits.ruleset, 1, 'the ruleset is not asked for again once absent');
    assert.deepEqual(c.flagKeys(), ['limit', 'on']);
    // A context given up front is ready with ready(); its values come from the client endpoint.
    assert.deepEqual(c.evaluate('limit', { key: 'vip' }), { flag_key: 'limit', value: 99, reason: 'CACHED' });
    assert.equal(c.evaluate('missing', { key: 'vip' }).reason, 'NOT_FOUND');
    // An unseen context answers the fallback until its background fetch lands.
    assert.equal(c.getNumber('limit', { key: 'u1' }, -1), -1);
    await waitFor(() => c.getNumber('limit', { key: 'u1' }, -1) === 5);
    // Attributes are not sent by FS's client endpoint: such a context goes through bulk.
    const withAttrs = await c.evaluateAllAsync({ key: 'u2', attributes: { plan: 'pro' } });
    assert.deepEqual(withAttrs.limit, { flag_key: 'limit', value: 50, reason: 'TARGETED' });
    assert.ok(srv.hits.bulk >= 1);
    assert.ok(srv.hits.client.includes('u1') && srv.hits.client.includes('vip'));
    await waitFor(() => c.isStreaming);
    // A flag-update (no version in FS's payload) refetches every watched context.
    srv.setLimit(7, true);
    await waitFor(() => c.getNumber('limit', { key: 'u1' }, -1) === 7);
    assert.equal(c.getNumber('limit', { key: 'vip' }, -1), 99);
  } finally {
    c.close();
    await srv.close();
  }
});

test('in fallback mode without a stream, polling picks up changes; maxContexts bounds what is kept', async () => {
  const srv = await stockServer();
  const c = new FlagClient({ baseURL: srv.url, sdkKey: 'k', envKey: 'prod', streaming: false, pollingIntervalMs: 50, maxContexts: 2 });
  try {
    await c.ready(2000);
    for (const k of ['a', 'b', 'c']) c.evaluate('limit', { key: k });
    await waitFor(() => c.getNumber('limit', { key: 'c' }, -1) === 5);
    srv.setLimit(8, false);
    await waitFor(() => c.getNumber('limit', { key: 'c' }, -1) === 8);
    const before = srv.hits.client.filter((k) => k === 'a').length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(srv.hits.client.filter((k) => k === 'a').length, before, 'the oldest context was dropped, not polled');
  } finally {
    c.close();
    await srv.close();
  }
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('remote mode: evaluateAllAsync goes through the server for every call (no ruleset fetched)', async () => {
  const srv = await stockServer();
  const c = new FlagClient({ baseURL: srv.url, sdkKey: 'k', envKey: 'prod', mode: 'remote' });
  try {
    assert.equal((await c.evaluateAllAsync({ key: 'vip' })).limit.value, 99);
    srv.setLimit(6, false);
    assert.equal((await c.evaluateAllAsync({ key: 'u' })).limit.value, 6);
    assert.equal((await c.evaluateAllAsync({ key: 'u', attributes: { plan: 'pro' } })).limit.reason, 'TARGETED');
    assert.equal(srv.hits.ruleset, 0);
  } finally {
    c.close();
    await srv.close();
  }
});
