// Cross-region replication between two moto buckets with Object Lock: replicate copies everything,
// survives kill -9 half-way, reports lag, refuses an unlocked replica bucket, and a restore from
// the standby bucket alone (the primary unreachable) recovers to the newest replicated point.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { freePort, startMoto, startPostgres, startTcpProxy, waitUntil, type MotoHandle, type PostgresHandle, type TcpProxy } from '@featuresignals/testkit';
import { archiveCommand, FSDR_BIN, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';
import { CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { createBucket, listVersions, s3Client } from '../helpers/s3.js';

let moto: MotoHandle;
let toPrimary: TcpProxy;
let s3: S3Client;
let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let env: Record<string, string>;
const restoredDirs: string[] = [];

function s3repo(bucket: string, port: number, region: string) {
  return { type: 's3', bucket, region, endpoint: `http://127.0.0.1:${port}`, prefix: 'fs', forcePathStyle: true, objectLock: { mode: 'compliance', days: 7 } };
}

function config(connection: string, pgdata: string, standbyBucket = 'fsdr-eu-west-1') {
  return {
    cluster: { connection, pgdata },
    repositories: { primary: s3repo('fsdr-us-east-1', toPrimary.port, 'us-east-1'), standby: s3repo(standbyBucket, moto.port, 'eu-west-1') },
    encryption: { masterKey: `file:${ws.keyFile}` },
    backup: { processes: 2, bundleSizeMiB: 1 },
  };
}

before(async () => {
  moto = await startMoto();
  toPrimary = await startTcpProxy(moto.port);
  s3 = s3Client(moto);
  for (const b of ['fsdr-us-east-1', 'fsdr-eu-west-1']) await createBucket(s3, b, true);
  await createBucket(s3, 'fsdr-unlocked-replica', false);
  env = moto.env;
  ws = makeWorkspace();
  cfg = ws.writeConfig(config('postgres://postgres@127.0.0.1:1/postgres', '/unused'));
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg, env) } });
  ws.writeConfig(config(pg.connectionString, pg.pgdata));
  await fsdrOk(['--config', cfg, 'init'], env);
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
  await pgbench(pg, ['-i', '-s', '2', '-q']);
  await pg.query("INSERT INTO status (marker) VALUES ('before-backup')");
  await fsdrOk(['--config', cfg, 'backup'], env);
  await pg.query("INSERT INTO status (marker) VALUES ('after-backup')");
  await waitArchived(pg, await switchWal(pg));
});

after(async () => {
  for (const d of restoredDirs) await stopRestored(d);
  await pg?.stop();
  await toPrimary?.close();
  await moto?.stop();
  ws?.cleanup();
});

test('replication survives kill -9 half-way, copies everything with the replica\'s Object Lock, and reports lag', async () => {
  const lagBefore = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--repo', 'standby', '--json'], env).catch(() => '{"replication":{"lagSeconds":1}}'));
  const primaryCount = (await listVersions(s3, 'fsdr-us-east-1', 'fs/')).length;
  assert.ok(primaryCount > 20, `${primaryCount} objects in the primary`);

  const child = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'replicate'], { env: { ...process.env, ...env }, stdio: 'ignore' });
  await waitUntil(async () => ((await listVersions(s3, 'fsdr-eu-west-1', 'fs/')).length >= 5 ? true : undefined), 60_000, 'replication to start');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const partial = (await listVersions(s3, 'fsdr-eu-west-1', 'fs/')).length;
  assert.ok(partial < primaryCount, 'killed before it finished');
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--repo', 'standby', '--json'], env));
  assert.ok(info.replication.missingObjects > 0);
  assert.ok(info.replication.lagSeconds > 0);
  assert.ok(lagBefore.replication === undefined || lagBefore.replication.lagSeconds >= 0);

  const r = JSON.parse(await fsdrOk(['--config', cfg, 'replicate', '--json'], env));
  assert.equal(r[0].replica, 'standby');
  assert.equal(r[0].lagAfterSeconds, 0);
  const copies = await listVersions(s3, 'fsdr-eu-west-1', 'fs/');
  assert.equal(copies.length, primaryCount, 'every object copied exactly once (no duplicate versions)');
  for (const v of copies.slice(0, 10)) {
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'fsdr-eu-west-1', Key: v.Key, VersionId: v.VersionId }));
    assert.equal(h.ObjectLockMode, 'COMPLIANCE');
  }
  const again = JSON.parse(await fsdrOk(['--config', cfg, 'replicate', '--json'], env));
  assert.equal(again[0].copied, 0, 'idempotent');
  const after = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--repo', 'standby', '--json'], env));
  assert.deepEqual(after.replication, { missingObjects: 0, lagSeconds: 0 });
});

test('a replica bucket without Object Lock is refused while objectLock is required', async () => {
  const bad = ws.writeConfig(config(pg.connectionString, pg.pgdata, 'fsdr-unlocked-replica'), 'unlocked.yaml');
  const r = await runFsdr(['--config', bad, 'replicate'], env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bucket fsdr-unlocked-replica of repository standby has no Object Lock enabled/);
  assert.equal((await listVersions(s3, 'fsdr-unlocked-replica')).length, 0);
});

test('with the primary region gone, a restore from the standby bucket alone recovers the newest replicated point', async () => {
  const expected = (await pg.query(CONTENT_SQL)).rows[0];
  toPrimary.cut();
  try {
    const pgdata = join(ws.dir, 'from-standby');
    restoredDirs.push(pgdata);
    const port = await freePort();
    const out = JSON.parse(await fsdrOk(['--config', cfg, 'restore', '--repo', 'standby', '--pgdata', pgdata, '--port', String(port), '--latest', '--json'], env));
    assert.equal(out.started, true);
    assert.deepEqual((await queryPort(port, CONTENT_SQL))[0], expected);
  } finally {
    toPrimary.restore();
  }
});
