// Bad input gets a clear 4xx and stores nothing: malformed rules, unknown operators, bad regexes,
// variant weights, wrong or missing API keys, missing flags, wrong environment.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { verifyAuditChain } from '../src/index.js';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
before(async () => { s = await startStack(); seeded = await seed(s); await waitSynced(s, 'prod', seeded.keys.prod); });
after(async () => { await s?.stop(); });

async function snapshot(): Promise<string> {
  const r = await s.pg.query(`SELECT (SELECT count(*) FROM audit_logs) AS audits, (SELECT count(*) FROM flags) AS flags,
    (SELECT count(*) FROM segments) AS segments, (SELECT json_agg(f ORDER BY f.id) FROM flag_states f) AS states,
    (SELECT json_agg(config_version ORDER BY id) FROM environments) AS versions`);
  return JSON.stringify(r.rows[0]);
}

test('management: malformed input is a 400 naming the problem, and nothing is stored', async () => {
  const P = `/v1/projects/${seeded.projectId}`;
  const stateUrl = `${P}/flags/new-checkout/environments/${seeded.envs.prod}`;
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['PUT', stateUrl, { rules: [{ conditions: [{ attribute: 'country', operator: 'like', values: ['US'] }], value: true }] }, /unknown operator/],
    ['PUT', stateUrl, { rules: [{ conditions: 'country=US', value: true }] }, /rules\.0\.conditions/],
    ['PUT', stateUrl, { rules: [{ conditions: [], value: true, percentage: 10001 }] }, /percentage/],
    ['PUT', stateUrl, { rules: [{ conditions: [{ attribute: 'e', operator: 'regex', values: ['(a)\\1'] }], value: true }] }, /invalid regex/],
    ['PUT', stateUrl, { enabled: true, variants: [{ key: 'a', value: 1, weight: 5000 }] }, /sum to 10000/],
    ['PUT', stateUrl, { percentage_rollout: -1 }, /percentage_rollout/],
    ['PUT', stateUrl, { enabled: 'yes' }, /enabled/],
    ['POST', `${P}/flags`, { key: 'Bad Key', name: 'x' }, /key/],
    ['POST', `${P}/flags`, { key: 'ok-key', name: 'x', flag_type: 'float' }, /flag_type/],
    ['POST', `${P}/segments`, { key: 'seg', name: 's', rules: [{ attribute: 'a', operator: 'between', values: [] }] }, /unknown operator/],
    ['PUT', `${P}/environments/${seeded.envs.prod}`, { slug: 'Prod Env' }, /slug/],
  ];
  const before = await snapshot();
  for (const [method, path, body, msg] of cases) {
    const r = await s.admin(method, path, body);
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(r.body.error, msg);
    assert.equal(r.body.code, 'FS_BAD_REQUEST');
  }
  assert.equal((await s.admin('PUT', `${P}/flags/no-such-flag/environments/${seeded.envs.prod}`, { enabled: true })).status, 404);
  assert.equal((await s.admin('PUT', `${P}/flags/new-checkout/environments/not-a-uuid`, { enabled: true })).status, 400);
  const dup = await s.admin('POST', `${P}/flags`, { key: 'banner', name: 'dup' });
  assert.equal(dup.status, 409);
  const noAuth = await fetch(`${s.url}${P}/flags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'x1', name: 'x' }) });
  assert.equal(noAuth.status, 401);
  assert.equal(await snapshot(), before, 'nothing stored, no audit rows, no version bumps');
  const v0 = Number((await s.pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE id = $1', [seeded.envs.staging])).rows[0].v);
  const renamed = await s.admin('PUT', `${P}/environments/${seeded.envs.staging}`, { name: 'Staging EU' });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.name, 'Staging EU');
  assert.equal(Number(renamed.body.config_version), v0 + 1, 'a rename is a new ruleset version');
});

test('evaluation: wrong key 401, other env 403, missing fields 400', async () => {
  const post = (path: string, body: unknown, key = seeded.keys.prod) =>
    fetch(`${s.url}${path}`, { method: 'POST', headers: { 'X-API-Key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const wrong = await post('/v1/evaluate', { flag_key: 'banner', context: { key: 'u' } }, 'fs_srv_' + 'f'.repeat(48));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, 'unauthorized');
  assert.equal((await fetch(`${s.url}/v1/client/prod/flags`)).status, 401, 'no key at all');
  assert.equal((await fetch(`${s.url}/v1/client/staging/flags?key=u`, { headers: { 'X-API-Key': seeded.keys.prod } })).status, 403);
  const noKey = await post('/v1/evaluate', { flag_key: 'banner', context: {} });
  assert.equal(noKey.status, 400);
  assert.match((await noKey.json()).error, /context\.key/);
  assert.equal((await post('/v1/evaluate', { context: { key: 'u' } })).status, 400);
  assert.equal((await post('/v1/evaluate/bulk', { flag_keys: Array.from({ length: 101 }, (_, i) => `f${i}`), context: { key: 'u' } })).status, 400);
  const bad = await fetch(`${s.url}/v1/evaluate`, { method: 'POST', headers: { 'X-API-Key': seeded.keys.prod, 'content-type': 'application/json' }, body: '{not json' });
  assert.equal(bad.status, 400);
});

test('API keys are stored hashed, never raw; last_used_at is written in batches', async () => {
  await s.restartServer({ lastUsedFlushMs: 100 });
  await s.waitReady();
  const before = (await s.pg.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE last_used_at IS NOT NULL')).rows[0].n;
  await fetch(`${s.url}/v1/client/staging/flags?key=u`, { headers: { 'X-API-Key': seeded.keys.staging } }); // first use of this key
  await new Promise((r) => setTimeout(r, 400));
  const afterUse = (await s.pg.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE last_used_at IS NOT NULL')).rows[0].n;
  assert.equal(afterUse, before + 1);
  const rows = (await s.pg.query<{ key_hash: string; key_prefix: string }>('SELECT key_hash, key_prefix FROM api_keys')).rows;
  assert.ok(rows.length >= 2);
  for (const raw of Object.values(seeded.keys)) {
    assert.ok(!rows.some((r) => r.key_hash === raw || r.key_hash.includes(raw.slice(7))), 'raw key not in the table');
    assert.ok(rows.some((r) => r.key_prefix === raw.slice(0, 12)));
  }
  const audit = (await s.pg.query<{ n: string }>("SELECT count(*) AS n FROM audit_logs WHERE action = 'flag_state.updated'")).rows[0];
  assert.ok(Number(audit.n) >= 18, 'every state change audited');
});

test('the audit chain recomputes from the stored rows, and an edited row is named', async () => {
  const key = Buffer.from('featuresignals-dev-pepper-32byte!');
  const good = await verifyAuditChain(await pool(), key);
  assert.equal(good.ok, true, JSON.stringify(good.firstBad));
  assert.ok(good.checked > 20);
  const wrongKey = await verifyAuditChain(await pool(), Buffer.from('another-key'));
  assert.equal(wrongKey.ok, false);
  await s.pg.query(`UPDATE audit_logs SET after_state = jsonb_set(after_state, '{percentage_rollout}', '1') WHERE seq = (SELECT max(seq) FROM audit_logs WHERE action = 'flag_state.updated')`);
  const bad = await verifyAuditChain(await pool(), key);
  assert.equal(bad.ok, false);
  assert.match(bad.firstBad!.reason, /hash does not match/);
});

async function pool() {
  const { default: pg } = await import('pg');
  const p = new pg.Pool({ connectionString: s.pg.connectionString, max: 1 });
  // The stack's PostgreSQL may stop before this pool ends (the hooks' order is not fixed): its
  // idle client then reports "terminating connection", which is not a failure of the test.
  p.on('error', () => undefined);
  after(() => p.end());
  return p;
}
