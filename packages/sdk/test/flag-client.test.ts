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
