// Real PostgreSQL + redis-server: Redis is refilled before /ready turns 200, entries of another
// database identity are overwritten and never served, and /ready follows PostgreSQL outages.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '@featuresignals/testkit';
import { Redis } from 'ioredis';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
let redis: Redis;
before(async () => {
  s = await startStack({ redis: true });
  seeded = await seed(s);
  await waitSynced(s, 'prod', seeded.keys.prod);
  redis = new Redis(s.redis!.url);
});
after(async () => { redis?.disconnect(); await s?.stop(); });

const evalFlag = async (flag_key: string, key = seeded.keys.prod) =>
  fetch(`${s.url}/v1/evaluate`, { method: 'POST', headers: { 'X-API-Key': key, 'content-type': 'application/json' }, body: JSON.stringify({ flag_key, context: { key: 'user-1' } }) });

test('a restart with an empty Redis refills it from PostgreSQL before /ready is 200', async () => {
  await s.server.close();
  await redis.flushall();
  assert.equal((await redis.keys('fs:*')).length, 0);
  await s.restartServer();
  const dbid = (await s.server.readiness()).dbid ?? (await waitUntil(async () => (await s.server.readiness()).dbid ?? undefined, 10_000, 'dbid'));
  // Poll /ready; the first time it says 200, Redis must already hold every environment.
  await waitUntil(async () => {
    const res = await fetch(`${s.url}/ready`);
    if (res.status !== 200) return undefined;
    for (const [slug, envId] of Object.entries(seeded.envs)) {
      const raw = await redis.get(`fs:${dbid}:rs:${envId}`);
      assert.ok(raw, `redis holds ${slug} when /ready turned 200`);
      const entry = JSON.parse(raw);
      assert.equal(entry.dbid, dbid);
      const v = (await s.pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE id = $1', [envId])).rows[0].v;
      assert.equal(entry.version, Number(v));
    }
    assert.ok(await redis.get(`fs:${dbid}:warm`));
    return true;
  }, 20_000, '/ready 200');
});

test('Redis entries of another database identity are overwritten, not served', async () => {
  const dbid = (await s.server.readiness()).dbid!;
  const envId = seeded.envs.prod;
  // What a Redis could hold after a PITR: a "future" ruleset (higher version) from the old identity,
  // and a forged entry under our own key claiming a foreign identity.
  const good = await (await fetch(`${s.url}/v1/ruleset/prod`, { headers: { 'X-API-Key': seeded.keys.prod } })).json();
  const future = { ...good, version: good.version + 100, dbid: '1:1', states: good.states.map((st: any) => ({ ...st, enabled: false })) };
  await s.server.close();
  await redis.set(`fs:1:1:rs:${envId}`, JSON.stringify({ dbid: '1:1', version: future.version, ruleset: future }));
  await redis.set('fs:1:1:warm', '{}');
  await redis.set(`fs:${dbid}:rs:${envId}`, JSON.stringify({ dbid: '1:1', version: future.version, ruleset: future }));
  await s.restartServer();
  await s.waitReady();
  assert.deepEqual((await redis.keys('fs:1:1:*')).sort(), [], 'foreign identity keys are deleted');
  const entry = JSON.parse((await redis.get(`fs:${dbid}:rs:${envId}`))!);
  assert.equal(entry.dbid, dbid);
  assert.equal(entry.version, good.version);
  assert.equal(entry.ruleset.states.find((st: any) => st.flag_key === 'config').enabled, true);
  const res = await evalFlag('config');
  assert.deepEqual(await res.json(), { flag_key: 'config', value: { theme: 'dark', size: 2 }, reason: 'FALLTHROUGH' });
});

test('a Redis that restarts empty is refilled and /ready recovers', async () => {
  await s.redis!.stopServer();
  await waitUntil(async () => ((await fetch(`${s.url}/ready`)).status === 503 ? true : undefined), 10_000, '/ready 503 without redis');
  const body = await (await fetch(`${s.url}/ready`)).json();
  assert.equal(body.checks.redis.status, 'fail');
  await s.redis!.start();
  await s.waitReady();
  const dbid = (await s.server.readiness()).dbid;
  assert.ok(await redis.get(`fs:${dbid}:rs:${seeded.envs.prod}`));
});

test('/ready is 503 while PostgreSQL is stopped and 200 when it is back; /health stays 200; never 401', async () => {
  await s.pg.stopServer();
  await waitUntil(async () => ((await fetch(`${s.url}/ready`)).status === 503 ? true : undefined), 10_000, '/ready 503');
  const body = await (await fetch(`${s.url}/ready`)).json();
  assert.equal(body.status, 'not_ready');
  assert.equal(body.checks.database.status, 'fail');
  assert.equal((await fetch(`${s.url}/health`)).status, 200);
  // Unknown key while the database is down: 503 (cannot authenticate), never 401.
  assert.equal((await evalFlag('config', 'fs_srv_' + '0'.repeat(48))).status, 503);
  // Known keys are still served from the in-process cache.
  assert.equal((await evalFlag('config')).status, 200);
  await s.pg.start();
  await s.waitReady();
  assert.equal((await fetch(`${s.url}/health`)).status, 200);
  assert.equal((await evalFlag('config', 'fs_srv_' + '0'.repeat(48))).status, 401);
});
