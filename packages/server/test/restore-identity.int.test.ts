// A restore under a running server: the database is replaced by a logical restore of an earlier
// state (new cluster = new dbid). The server re-warms from the restored database, drops Redis
// entries of the old identity (which hold the rolled-back "future"), and the SDK reports it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startPostgres, waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { FlagClient, type IncarnationEvent } from '@featuresignals/sdk';
import { seed, startStack, waitSynced, type Stack } from './stack.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fs-restore-'));
let s: Stack | undefined;
let restored: PostgresHandle | undefined;
let client: FlagClient | undefined;
let redis: Redis | undefined;
after(async () => {
  client?.close();
  redis?.disconnect();
  await s?.server.close();
  await s?.redis?.stop();
  await restored?.stop();
  await s?.pg.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('after a restore to an earlier state the server serves the restored state, never the Redis "future"', async () => {
  s = await startStack({ redis: true });
  const seeded = await seed(s);
  await waitSynced(s, 'prod', seeded.keys.prod);
  redis = new Redis(s.redis!.url);
  // The backup: a logical dump of the state where `limit` is 100 in prod.
  const dump = join(dir, 'backup.sql');
  await run(join(s.pg.binDir, 'pg_dump'), ['-d', s.pg.connectionString, '-f', dump]);
  const oldDbid = (await s.server.readiness()).dbid!;

  // After the backup: a change that the restore will roll back.
  client = new FlagClient({ baseURL: s.url, sdkKey: seeded.keys.prod, envKey: 'prod', pollingIntervalMs: 600_000, sseRetryMs: 200 });
  await client.ready();
  await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/limit/environments/${seeded.envs.prod}`, { default_value: 999 });
  await waitUntil(async () => (client!.getNumber('limit', { key: 'u' }, -1) === 999 ? true : undefined), 5000, 'SDK sees 999');
  const futureVersion = client.rulesetVersion()!;
  assert.ok(await redis.get(`fs:${oldDbid}:rs:${seeded.envs.prod}`));

  // Disaster and restore: the cluster is replaced, on the same address, by a new one loaded from the dump.
  const incarnation = new Promise<IncarnationEvent>((r) => client!.on('incarnation', r));
  await s.pg.stopServer();
  restored = await startPostgres({ port: s.pg.port });
  await run(join(restored.binDir, 'psql'), ['-X', '-q', '--single-transaction', '-v', 'ON_ERROR_STOP=1', '-d', restored.connectionString, '-f', dump]);

  await waitUntil(async () => {
    const r = await s!.server.readiness();
    return r.status === 'ready' && r.dbid !== oldDbid ? r : undefined;
  }, 30_000, 'ready on the restored database');
  const newDbid = (await s.server.readiness()).dbid!;
  assert.notEqual(newDbid, oldDbid);

  const ev = await incarnation;
  assert.equal(ev.before.dbid, oldDbid);
  assert.equal(ev.after.dbid, newDbid);
  assert.ok(ev.after.version < futureVersion, 'the restored version is older than what the SDK had');
  assert.equal(client.getNumber('limit', { key: 'u' }, -1), 100, 'SDK evaluates the restored state');
  const res = await fetch(`${s.url}/v1/evaluate`, { method: 'POST', headers: { 'X-API-Key': seeded.keys.prod, 'content-type': 'application/json' },
    body: JSON.stringify({ flag_key: 'limit', context: { key: 'u' } }) });
  assert.equal(res.status, 200, 'keys restored with the same pepper still authenticate');
  assert.equal((await res.json()).value, 100);
  assert.deepEqual(await redis.keys(`fs:${oldDbid}:*`), [], 'no entry of the old identity survives');
  const entry = JSON.parse((await redis.get(`fs:${newDbid}:rs:${seeded.envs.prod}`))!);
  assert.equal(entry.ruleset.states.find((x: { flag_key: string }) => x.flag_key === 'limit').default_value, 100);
});
