// The evaluation API as FeatureSignals serves it (issue 14): stream auth by header or ?api_key=, a flag-update after
// every `connected` (FS SDKs refetch only on flag-update), an unknown flag is 200 NOT_FOUND, 415 for a non-JSON body,
// the body is checked before the key, bulk answers exactly the flags asked for ({} for none), and ?api_key= never
// reaches the log.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../src/http/app.js';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
before(async () => { s = await startStack(); seeded = await seed(s); await waitSynced(s, 'prod', seeded.keys.prod); });
after(async () => { await s?.stop(); });

const post = (path: string, body: string, headers: Record<string, string> = {}, key = seeded.keys.prod) =>
  fetch(`${s.url}${path}`, { method: 'POST', headers: { 'X-API-Key': key, 'content-type': 'application/json', ...headers }, body });

/** Opens the stream and returns the status and the first event frame (or ''), then closes it. */
async function firstEvent(path: string, headers: Record<string, string> = {}): Promise<{ status: number; frame: string }> {
  const ac = new AbortController();
  const res = await fetch(`${s.url}${path}`, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  if (res.status !== 200) { await res.text(); return { status: res.status, frame: '' }; }
  const reader = res.body!.getReader();
  let buf = '';
  while (!buf.includes('\n\n')) buf += new TextDecoder().decode((await reader.read()).value);
  ac.abort();
  return { status: 200, frame: buf.slice(0, buf.indexOf('\n\n')) };
}

test('stream: ?api_key= (what every FS SDK sends) or the header; wrong key 401, other env 403', async () => {
  const q = await firstEvent(`/v1/stream/prod?api_key=${encodeURIComponent(seeded.keys.prod)}`);
  assert.equal(q.status, 200);
  assert.match(q.frame, /^event: connected\ndata: \{"env_id":"[0-9a-f-]{36}"/, 'FS sends {"env_id"} first; ours is a superset');
  assert.equal((await firstEvent('/v1/stream/prod', { 'X-API-Key': seeded.keys.prod })).status, 200);
  assert.equal((await firstEvent('/v1/stream/prod?api_key=fs_srv_' + 'f'.repeat(48))).status, 401);
  assert.equal((await firstEvent('/v1/stream/prod')).status, 401);
  assert.equal((await firstEvent(`/v1/stream/staging?api_key=${encodeURIComponent(seeded.keys.prod)}`)).status, 403);
  assert.equal(redactUrl(`/v1/stream/prod?x=1&api_key=${seeded.keys.prod}`), '/v1/stream/prod?x=1&api_key=[redacted]');
});

test('stream: every connection gets one flag-update right after connected, so FS SDKs (which ignore connected) refetch', async () => {
  // FS's SDKs never poll while streaming: without this, a change made while they were disconnected stayed stale.
  for (let i = 0; i < 2; i++) {
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/stream/prod?api_key=${encodeURIComponent(seeded.keys.prod)}`, { signal: ac.signal });
    const reader = res.body!.getReader();
    let buf = '';
    while (buf.split('\n\n').length < 3) buf += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const [connected, update] = buf.split('\n\n').map((f) => /^event: (.+)\ndata: (.+)$/.exec(f));
    assert.equal(connected?.[1], 'connected');
    assert.equal(update?.[1], 'flag-update', `connection ${i + 1}: a flag-update follows connected`);
    const c = JSON.parse(connected![2]) as { env_id: string; version: number; dbid: string };
    assert.deepEqual(JSON.parse(update![2]), { type: 'flag_update', env_id: c.env_id, flag_id: null, version: c.version, dbid: c.dbid, action: 'CONNECT' },
      'FS payload shape (type, env_id, flag_id, action) plus version and dbid');
  }
});

test('POST /v1/evaluate: unknown flag is 200 NOT_FOUND; 415 before 400 before 401', async () => {
  const nf = await post('/v1/evaluate', JSON.stringify({ flag_key: 'nope', context: { key: 'u' } }));
  assert.equal(nf.status, 200);
  assert.deepEqual(await nf.json(), { flag_key: 'nope', value: null, reason: 'NOT_FOUND' });
  const wrongKey = 'fs_srv_' + 'f'.repeat(48);
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', '']) {
    const r = await post('/v1/evaluate', JSON.stringify({ flag_key: 'banner', context: { key: 'u' } }), { 'content-type': ct }, wrongKey);
    assert.equal(r.status, 415, `content-type ${JSON.stringify(ct)}`);
    assert.equal((await r.json()).error, 'Content-Type must be application/json');
  }
  assert.equal((await post('/v1/evaluate/bulk', '{}', { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await post('/v1/evaluate', JSON.stringify({ flag_key: 'banner', context: { key: 'u' } }), { 'content-type': 'application/json; charset=utf-8' })).status, 200);
  // The body is checked before the key: a bad body with a wrong key is a 400, not a 401.
  const bad = await post('/v1/evaluate', JSON.stringify({ flag_key: 'banner', context: {} }), {}, wrongKey);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, 'flag_key and context.key are required');
  const unknownField = await post('/v1/evaluate', JSON.stringify({ flag_key: 'banner', context: { key: 'u' }, extra: 1 }), {}, wrongKey);
  assert.equal(unknownField.status, 400);
  assert.equal((await unknownField.json()).error, 'invalid request body');
  assert.equal((await post('/v1/evaluate', JSON.stringify({ flag_key: 'banner', context: { key: 'u' } }), {}, wrongKey)).status, 401);
});

test('POST /v1/evaluate/bulk: exactly the flags asked for, {} for none or an absent list', async () => {
  const ask = async (body: unknown) => { const r = await post('/v1/evaluate/bulk', JSON.stringify(body)); assert.equal(r.status, 200); return r.json(); };
  assert.deepEqual(await ask({ flag_keys: [], context: { key: 'u' } }), {});
  assert.deepEqual(await ask({ context: { key: 'u' } }), {});
  assert.deepEqual(await ask({ flag_keys: null, context: { key: 'u' } }), {});
  const two = await ask({ flag_keys: ['killed', 'nope'], context: { key: 'u' } });
  assert.deepEqual(two, { killed: { flag_key: 'killed', value: false, reason: 'DISABLED' }, nope: { flag_key: 'nope', value: null, reason: 'NOT_FOUND' } });
  const noCtx = await post('/v1/evaluate/bulk', JSON.stringify({ flag_keys: ['killed'] }), {}, 'fs_srv_' + 'f'.repeat(48));
  assert.equal(noCtx.status, 400);
  assert.equal((await noCtx.json()).error, 'context.key is required');
});
