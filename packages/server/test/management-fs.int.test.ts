// The management API where it follows FeatureSignals (issue 14 item 4): the paginated list
// envelope {data,total,limit,offset,has_more} with validated limit/offset, environment colour,
// API keys with expires_in_days, and rotation whose old key works until the grace ends, then 401.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '@featuresignals/testkit';
import { seed, startStack, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
before(async () => { s = await startStack(); seeded = await seed(s); });
after(async () => { await s?.stop(); });

const P = () => `/v1/projects/${seeded.projectId}`;
/** An evaluation with this key: 200 while it is valid, 401 once it is not (after the cache saw it). */
const evalStatus = async (key: string) => (await fetch(`${s.url}/v1/client/prod/flags?key=u`, { headers: { 'X-API-Key': key } })).status;
const version = async (env: string) => Number((await s.pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE id = $1', [env])).rows[0].v);

test('lists are paginated as FS: {data, total, limit, offset, has_more}, default limit 50', async () => {
  const all = await s.admin('GET', `${P()}/flags`);
  assert.equal(all.status, 200);
  assert.deepEqual(Object.keys(all.body).sort(), ['data', 'has_more', 'limit', 'offset', 'total']);
  assert.equal(all.body.total, 9);
  assert.equal(all.body.data.length, 9);
  assert.equal(all.body.limit, 50);
  assert.equal(all.body.has_more, false);
  const keys = all.body.data.map((f: { key: string }) => f.key);
  const pages: string[] = [];
  for (let offset = 0; offset < 9; offset += 4) {
    const r = await s.admin('GET', `${P()}/flags?limit=4&offset=${offset}`);
    assert.equal(r.body.total, 9);
    assert.equal(r.body.limit, 4);
    assert.equal(r.body.offset, offset);
    assert.equal(r.body.has_more, offset + 4 < 9);
    pages.push(...r.body.data.map((f: { key: string }) => f.key));
  }
  assert.deepEqual(pages, keys, 'pages in order, no overlap or gap');
  assert.deepEqual((await s.admin('GET', `${P()}/flags?offset=100`)).body, { data: [], total: 9, limit: 50, offset: 100, has_more: false });
  const projects = await s.admin('GET', '/v1/projects?limit=1');
  assert.equal(projects.body.total, 1);
  assert.equal(projects.body.data[0].id, seeded.projectId);
  const envs = await s.admin('GET', `${P()}/environments`);
  assert.deepEqual(envs.body.data.map((e: { slug: string }) => e.slug), ['prod', 'staging']);
  assert.equal((await s.admin('GET', `${P()}/segments`)).body.total, 1);
  const keyList = await s.admin('GET', `/v1/environments/${seeded.envs.prod}/api-keys`);
  assert.equal(keyList.body.total, 1);
  assert.equal(keyList.body.data[0].key_prefix, seeded.keys.prod.slice(0, 12));
  assert.ok(!('key_hash' in keyList.body.data[0]) && !('key' in keyList.body.data[0]), 'never the hash or the key');
});

test('a bad limit or offset is a 400 naming the parameter, on every list', async () => {
  const lists = ['/v1/projects', `${P()}/environments`, `${P()}/flags`, `${P()}/segments`, `/v1/environments/${seeded.envs.prod}/api-keys`];
  const bad: Array<[string, RegExp]> = [
    ['limit=0', /^limit must be an integer from 1 to 100 \(got "0"\)$/], ['limit=101', /^limit must be/], ['limit=-1', /^limit must be/],
    ['limit=abc', /^limit must be/], ['limit=1.5', /^limit must be/], ['limit=', /^limit must be/], ['limit=1e2', /^limit must be/],
    ['offset=-1', /^offset must be an integer from 0 to 2147483647/], ['offset=x', /^offset must be/], ['offset=99999999999', /^offset must be/],
  ];
  for (const path of lists) {
    for (const [q, msg] of bad) {
      const r = await s.admin('GET', `${path}?${q}`);
      assert.equal(r.status, 400, `${path}?${q} → ${r.status}`);
      assert.match(r.body.error, msg, `${path}?${q}`);
      assert.equal(r.body.code, 'FS_BAD_REQUEST');
    }
  }
});

test('environments have FS\'s colour (default #6B7280); a colour change is not a ruleset change', async () => {
  const created = await s.admin('POST', `${P()}/environments`, { name: 'QA', slug: 'qa', color: '#FF8800' });
  assert.equal(created.status, 201);
  assert.equal(created.body.color, '#FF8800');
  const plain = await s.admin('POST', `${P()}/environments`, { name: 'Dev', slug: 'dev' });
  assert.equal(plain.body.color, '#6B7280');
  const v0 = await version(seeded.envs.prod);
  const upd = await s.admin('PUT', `${P()}/environments/${seeded.envs.prod}`, { color: '#00aa00' });
  assert.equal(upd.status, 200);
  assert.equal(upd.body.color, '#00aa00');
  assert.equal(upd.body.slug, 'prod');
  assert.equal(await version(seeded.envs.prod), v0, 'colour is not part of the ruleset');
  for (const color of ['red', '#FFF', '#GG0000', '', 12]) {
    const r = await s.admin('POST', `${P()}/environments`, { name: 'X', slug: 'x-env', color });
    assert.equal(r.status, 400, JSON.stringify(color));
    assert.match(r.body.error, /color/);
  }
  assert.equal((await s.admin('PUT', `${P()}/environments/${seeded.envs.prod}`, { color: 'blue' })).status, 400);
  assert.equal((await s.admin('GET', `${P()}/environments`)).body.data.find((e: { slug: string }) => e.slug === 'prod').color, '#00aa00');
});

test('an API key created with expires_in_days expires then; bad values are a 400 and create nothing', async () => {
  const t0 = Date.now();
  const r = await s.admin('POST', `/v1/environments/${seeded.envs.prod}/api-keys`, { name: 'week', type: 'server', expires_in_days: 7 });
  assert.equal(r.status, 201);
  const exp = Date.parse(r.body.expires_at);
  assert.ok(Math.abs(exp - (t0 + 7 * 86_400_000)) < 60_000, r.body.expires_at);
  await waitUntil(async () => ((await evalStatus(r.body.key)) === 200 ? true : undefined), 10_000, 'new key usable');
  const never = await s.admin('POST', `/v1/environments/${seeded.envs.prod}/api-keys`, { name: 'forever' });
  assert.equal(never.body.expires_at, null);
  const count = async () => Number((await s.pg.query<{ n: string }>('SELECT count(*) AS n FROM api_keys')).rows[0].n);
  const n = await count();
  for (const days of [0, -1, 1.5, '7', 3651, null]) {
    const bad = await s.admin('POST', `/v1/environments/${seeded.envs.prod}/api-keys`, { name: 'bad', expires_in_days: days });
    assert.equal(bad.status, 400, JSON.stringify(days));
    assert.match(bad.body.error, /expires_in_days/);
  }
  assert.equal(await count(), n);
});

test('rotation: the new key works at once, the old one until the grace ends, then 401', async () => {
  const made = await s.admin('POST', `/v1/environments/${seeded.envs.prod}/api-keys`, { name: 'svc', type: 'server' });
  const oldKey = made.body.key as string;
  await waitUntil(async () => ((await evalStatus(oldKey)) === 200 ? true : undefined), 10_000, 'old key usable');
  for (const body of [{ grace_minutes: -1 }, { grace_minutes: 'x' }, { grace_minutes: 43_201 }, { grace_minutes: 1.5 }, { grace: 5 }]) {
    const bad = await s.admin('POST', `/v1/api-keys/${made.body.id}/rotate`, body);
    assert.equal(bad.status, 400, JSON.stringify(body));
  }
  assert.equal(await evalStatus(oldKey), 200, 'a refused rotation changes nothing');
  assert.equal((await s.admin('POST', '/v1/api-keys/00000000-0000-4000-8000-000000000000/rotate', {})).status, 404);

  // Default grace as FS: 24 h.
  const dflt = await s.admin('POST', `/v1/api-keys/${made.body.id}/rotate`);
  assert.equal(dflt.status, 201, JSON.stringify(dflt.body));
  assert.equal(dflt.body.message, 'Old key will remain valid for 1440 minutes');
  assert.equal(dflt.body.key.name, 'svc (rotated)');
  assert.match(dflt.body.raw_key, /^fs_srv_/);
  assert.ok(Math.abs(Date.parse(dflt.body.old_key.expires_at) - (Date.now() + 1440 * 60_000)) < 60_000);

  // One minute of grace, watched through to the 401.
  const rot = await s.admin('POST', `/v1/api-keys/${dflt.body.key.id}/rotate`, { name: 'svc-2', grace_minutes: 1 });
  assert.equal(rot.status, 201);
  const newKey = rot.body.raw_key as string;
  const graceEnd = Date.parse(rot.body.old_key.expires_at);
  const oldOfRot = dflt.body.raw_key as string;
  await waitUntil(async () => ((await evalStatus(newKey)) === 200 ? true : undefined), 10_000, 'rotated key usable');
  const st = await evalStatus(oldOfRot);
  if (Date.now() < graceEnd) assert.equal(st, 200, 'the old key works during the grace period');
  const rejectedAt = await waitUntil(async () => {
    const t = Date.now();
    const code = await evalStatus(oldOfRot);
    if (code === 200) { assert.ok(t < graceEnd + 1000, 'still accepted after the grace ended'); return undefined; }
    assert.equal(code, 401);
    return t;
  }, 120_000, 'old key rejected after the grace');
  assert.ok(rejectedAt >= graceEnd - 1000, `rejected ${graceEnd - rejectedAt} ms before the grace ended`);
  assert.equal(await evalStatus(newKey), 200);
  // The first key, still inside its 24 h grace, keeps working.
  assert.equal(await evalStatus(oldKey), 200);
  // A key past its grace cannot be rotated again.
  assert.equal((await s.admin('POST', `/v1/api-keys/${dflt.body.key.id}/rotate`, {})).status, 404);
});

test('a flag or segment update changes only the fields it sends (FS update semantics)', async () => {
  const made = await s.admin('POST', `${P()}/flags`, { key: 'pu-flag', name: 'PU', description: 'kept', flag_type: 'string', default_value: 'keep',
    prerequisites: ['banner'], mutual_exclusion_group: 'grp', expires_at: '2099-01-01T00:00:00Z', status: 'deprecated' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const renamed = await s.admin('PUT', `${P()}/flags/pu-flag`, { name: 'PU renamed' });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  const { name: n1, updated_at: u1, ...rest1 } = made.body;
  const { name: n2, updated_at: u2, ...rest2 } = renamed.body;
  assert.deepEqual(rest2, rest1, 'every field but name as created');
  assert.equal(n2, 'PU renamed');
  void n1; void u1; void u2;

  const seg = await s.admin('POST', `${P()}/segments`, { key: 'pu-seg', name: 'S', match_type: 'any', rules: [{ attribute: 'plan', operator: 'eq', values: ['pro'] }] });
  assert.equal(seg.status, 201, JSON.stringify(seg.body));
  const segRenamed = await s.admin('PUT', `${P()}/segments/pu-seg`, { name: 'S2' });
  assert.equal(segRenamed.status, 200, JSON.stringify(segRenamed.body));
  assert.equal(segRenamed.body.match_type, 'any');
  assert.deepEqual(segRenamed.body.rules, seg.body.rules);
  const segRules = await s.admin('PUT', `${P()}/segments/pu-seg`, { rules: [] });
  assert.equal(segRules.body.match_type, 'any', 'sending rules keeps match_type');
  assert.equal(segRules.body.name, 'S2');
});

test('flag default_value as FS: absent means the type\'s default, a misfit is a 400 naming it, ab takes null', async () => {
  const values = async () => (await fetch(`${s.url}/v1/client/prod/flags?key=u`, { headers: { 'X-API-Key': seeded.keys.prod } })).json() as Promise<Record<string, unknown>>;
  // FS handlers/flags.go defaultValueForType: "" / 0 / {} / false; what a real SDK then reads from /v1/client (no state = the flag's default).
  const absent: Array<[string, unknown]> = [['string', ''], ['number', 0], ['json', {}], ['boolean', false], ['ab', false]];
  for (const [type] of absent) assert.equal((await s.admin('POST', `${P()}/flags`, { key: `dv-${type}`, name: type, flag_type: type })).status, 201, type);
  const nul = await s.admin('POST', `${P()}/flags`, { key: 'dv-ab-null', name: 'ab', flag_type: 'ab', default_value: null });
  assert.equal(nul.status, 201, JSON.stringify(nul.body));
  assert.equal(nul.body.default_value, null);
  const seen = await waitUntil(async () => { const v = await values(); return 'dv-ab-null' in v ? v : undefined; }, 10_000, 'new flags served');
  for (const [type, want] of absent) assert.deepEqual(seen[`dv-${type}`], want, `${type} flag created without default_value`);
  assert.equal(seen['dv-ab-null'], null);

  // FS domain Flag.Validate (validateDefaultValueType): 400 "default_value: must be …", nothing stored.
  const misfits: Array<[string, unknown, string]> = [
    ['boolean', 'hello', 'a boolean'], ['boolean', null, 'a boolean'], ['boolean', 1, 'a boolean'], ['string', true, 'a string'],
    ['string', null, 'a string'], ['number', 'five', 'a number'], ['json', true, 'an object or array'], ['json', 'str', 'an object or array'], ['json', null, 'an object or array'],
  ];
  for (const [type, dv, want] of misfits) {
    const r = await s.admin('POST', `${P()}/flags`, { key: 'dv-bad', name: 'bad', flag_type: type, default_value: dv });
    assert.equal(r.status, 400, `${type} ${JSON.stringify(dv)} → ${r.status}`);
    assert.equal(r.body.error, `default_value: must be ${want} for ${type} flags`);
  }
  assert.equal((await s.admin('GET', `${P()}/flags/dv-bad`)).status, 404);
  for (const [type, dv] of [['number', 3.14], ['json', [1, 2]], ['ab', 'anything']] as const) {
    assert.equal((await s.admin('POST', `${P()}/flags`, { key: `dv-ok-${type}`, name: type, flag_type: type, default_value: dv })).status, 201, type);
  }

  // An update is checked against the merged flag whenever flag_type or default_value changes (FS: not at all).
  const upd = async (body: unknown) => s.admin('PUT', `${P()}/flags/dv-string`, body);
  assert.equal((await upd({ default_value: null })).body.error, 'default_value: must be a string for string flags');
  assert.equal((await upd({ flag_type: 'number' })).body.error, 'default_value: must be a number for number flags');
  assert.equal((await s.admin('GET', `${P()}/flags/dv-string`)).body.default_value, '', 'a refused update changes nothing');
  const ok = await upd({ flag_type: 'json', default_value: { a: 1 } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body.default_value, { a: 1 });
  assert.equal((await upd({ name: 'renamed' })).status, 200);
});
