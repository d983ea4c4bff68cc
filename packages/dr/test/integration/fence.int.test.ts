// Fencing, the split-brain guard, through the real CLI: a primary region archiving into its bucket
// loses the fence (a higher epoch written into the standby region's bucket only, as a failover
// that could not reach the primary's bucket leaves it): its wal-push, backup, dump, replicate and
// expire are refused, `fence enforce` makes its cluster refuse writes, its FeatureSignals /ready
// answers 503 naming the fence; nothing in either bucket is added or overwritten.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { archiverStats, switchWal, waitArchived } from '../helpers/pg-load.js';
import { listVersions, s3Client } from '../helpers/s3.js';
import { startRegion, stopRegion, writeRegionConfig, type Region } from '../helpers/regions.js';
import { startFeatureSignals, type FeatureSignals } from '../helpers/featuresignals.js';
import { writeFence, highestFence } from '../../src/failover/fence.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { repositorySchema } from '../../src/config/schema.js';

let ws: Workspace;
let eu: Region;
let us: Region;
let pg: PostgresHandle;
let fs: FeatureSignals;
let cfg: string;
let env: Record<string, string>;

async function snapshot(r: Region): Promise<string[]> {
  return (await listVersions(s3Client(r.moto), r.bucket)).map((v) => `${v.Key} ${v.VersionId} ${v.Size}`).sort();
}

async function withStorage<T>(r: Region, fn: (s: Awaited<ReturnType<typeof openStorage>>) => Promise<T>): Promise<T> {
  Object.assign(process.env, r.moto.env);
  const s = await openStorage(repositorySchema.parse(r.repository), r.name);
  try { return await fn(s); } finally { await s.close(); }
}

before(async () => {
  ws = makeWorkspace();
  [eu, us] = await Promise.all([startRegion('eu'), startRegion('us')]);
  env = { ...eu.moto.env };
  cfg = writeRegionConfig(ws, eu, eu, us);
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg, env) } });
  eu.cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
  cfg = writeRegionConfig(ws, eu, eu, us);
  await fsdrOk(['--config', cfg, 'init'], env);
  fs = await startFeatureSignals(pg);
});

after(async () => {
  await fs?.close();
  await pg?.stop();
  await Promise.all([stopRegion(eu), stopRegion(us)]);
  ws?.cleanup();
});

test('the region named by regions.primary writes while no fence exists', async () => {
  const st = JSON.parse(await fsdrOk(['--config', cfg, 'fence', 'status', '--json'], env));
  assert.deepEqual([st.self, st.writer, st.fenced, st.top], ['eu', 'eu', false, undefined]);
  await fsdrOk(['--config', cfg, 'backup'], env);
  await waitArchived(pg, await switchWal(pg));
  await fsdrOk(['--config', cfg, 'replicate'], env);
});

test('a higher epoch in the other region\'s bucket fences this region: wal-push, backup, dump, replicate, expire refused; nothing written', async () => {
  await withStorage(us, (s) => writeFence(s, { epoch: 1, region: 'us', at: new Date().toISOString(), by: 'fsdr failover --to us (test)' }));
  const before = [await snapshot(eu), await snapshot(us)];

  const st = await runFsdr(['--config', cfg, 'fence', 'status', '--json'], env);
  assert.equal(st.code, 3, st.stderr);
  assert.deepEqual((({ writer, fenced }) => ({ writer, fenced }))(JSON.parse(st.stdout)), { writer: 'us', fenced: true });

  for (const args of [['backup'], ['dump'], ['replicate'], ['expire']]) {
    const r = await runFsdr(['--config', cfg, ...args], env);
    assert.notEqual(r.code, 0, `${args[0]} must be refused`);
    assert.match(r.stderr, new RegExp(`${args[0]} refused: region eu is fenced; fence epoch 1 in s3://fsdr-us.* names us as the region that writes`), r.stderr);
  }
  // archive_command: the archiver fails on the next segment and keeps it.
  const failedBefore = (await archiverStats(pg)).failed_count;
  const seg = await switchWal(pg);
  const stats = await waitUntil(async () => {
    const s = await archiverStats(pg);
    return s.failed_count > failedBefore ? s : undefined;
  }, 30_000, 'archive_command failing');
  assert.equal(stats.last_failed_wal, seg);
  const direct = await runFsdr(['--config', cfg, 'wal-push', join(pg.pgdata, 'pg_wal', seg)], env);
  assert.notEqual(direct.code, 0);
  assert.match(direct.stderr, new RegExp(`wal-push of ${seg} refused: region eu is fenced`));

  assert.deepEqual([await snapshot(eu), await snapshot(us)], before, 'nothing added or overwritten in either bucket');
});

test('fence enforce: the fenced primary refuses writes, its sessions are ended, FeatureSignals /ready is 503 naming the fence', async () => {
  const r = JSON.parse(await fsdrOk(['--config', cfg, 'fence', 'enforce', '--json'], env));
  assert.equal(r.fenced, true);
  assert.equal(r.readOnly.already, false);
  assert.ok(r.readOnly.terminated >= 1, 'the FeatureSignals server\'s sessions were ended');
  await assert.rejects(pg.query('CREATE TABLE after_fence (x int)'), /read-only transaction/);
  const ready = await waitUntil(async () => {
    const res = await fetch(fs.url + '/ready');
    return res.status === 503 ? ((await res.json()) as { checks: Record<string, { status: string; error?: string }> }) : undefined;
  }, 20_000, '/ready 503');
  assert.equal(ready.checks.writable!.status, 'fail');
  assert.match(ready.checks.writable!.error!, /refuses writes .*fenced: epoch 1 names us as the writer/);
  // Idempotent, and survives a restart (postgresql.auto.conf).
  assert.equal(JSON.parse(await fsdrOk(['--config', cfg, 'fence', 'enforce', '--json'], env)).readOnly.already, true);
  await pg.restart();
  await assert.rejects(pg.query('CREATE TABLE after_restart (x int)'), /read-only transaction/);
});

test('fence epochs are create-only on S3 (If-None-Match) and fs (link): the second writer of an epoch loses', async () => {
  const f = { epoch: 1, region: 'eu', at: new Date().toISOString(), by: 'a racing failover' };
  await withStorage(us, async (s) => {
    await assert.rejects(writeFence(s, f), (e: Error & { code?: string }) => e.code === 'FSDR_FENCE_RACE');
    assert.equal((await highestFence(s))!.region, 'us', 'the first fence of epoch 1 stands');
  });
  const local = await openStorage({ type: 'fs', path: join(ws.dir, 'fence-fs') });
  await writeFence(local, f);
  await assert.rejects(writeFence(local, { ...f, region: 'us' }), (e: Error & { code?: string }) => e.code === 'FSDR_FENCE_RACE');
  assert.equal((await highestFence(local))!.region, 'eu');
  await local.close();
});
