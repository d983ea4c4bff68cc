// WAL archiving into S3 (the moto server, with versioning and Object Lock) from a real
// PostgreSQL 15: Object Lock on every object, deletes of locked versions refused, no plaintext,
// and an endpoint outage during archiving that loses nothing once the endpoint is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startMoto, startPostgres, startTcpProxy, waitUntil, type MotoHandle, type PostgresHandle, type TcpProxy } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { archiverStats, pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';
import { createBucket, getRaw, listVersions, s3Client } from '../helpers/s3.js';

const MARKER = 'FSDR-S3-CANARY-51be02';
const BUCKET = 'fsdr-primary';
const PREFIX = 'featuresignals';
let moto: MotoHandle;
let proxy: TcpProxy;
let s3: S3Client;
let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let env: Record<string, string>;

function config(connection: string, pgdata: string, bucket = BUCKET) {
  return {
    cluster: { connection, pgdata },
    repositories: {
      primary: {
        type: 's3', bucket, region: 'us-east-1', endpoint: `http://127.0.0.1:${proxy.port}`,
        prefix: PREFIX, forcePathStyle: true, objectLock: { mode: 'compliance', days: 7 },
      },
    },
    encryption: { masterKey: `file:${ws.keyFile}` },
    compression: { algorithm: 'zstd', level: 3 },
  };
}

before(async () => {
  moto = await startMoto();
  proxy = await startTcpProxy(moto.port);
  s3 = s3Client(moto);
  await createBucket(s3, BUCKET, true);
  await createBucket(s3, 'fsdr-unlocked', false);
  env = moto.env;
  ws = makeWorkspace();
  cfg = ws.writeConfig(config('postgres://postgres@127.0.0.1:1/postgres', '/unused'));
  pg = await startPostgres({
    settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg, env), archive_timeout: 60, wal_keep_size: 1024 },
  });
  ws.writeConfig(config(pg.connectionString, pg.pgdata));
  await fsdrOk(['--config', cfg, 'init'], env);
});

after(async () => {
  await pg?.stop();
  await proxy?.close();
  await moto?.stop();
  ws?.cleanup();
});

test('init refuses a bucket without Object Lock when objectLock is configured', async () => {
  const bad = ws.writeConfig(config(pg.connectionString, pg.pgdata, 'fsdr-unlocked'), 'unlocked.yaml');
  const r = await runFsdr(['--config', bad, 'init'], env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bucket fsdr-unlocked of repository primary has no Object Lock enabled/);
  assert.equal((await listVersions(s3, 'fsdr-unlocked')).length, 0, 'nothing written');
});

test('archiving survives the endpoint going down: PostgreSQL retries and no segment is lost', async () => {
  await pgbench(pg, ['-i', '-s', '1', '-q']);
  await pg.query(`CREATE TABLE canary (t text); INSERT INTO canary SELECT '${MARKER}' || g FROM generate_series(1, 2000) g`);
  const first = await switchWal(pg);
  assert.equal((await waitArchived(pg, first)).failed_count, 0);

  proxy.cut();
  let last = first;
  for (let i = 0; i < 3; i++) {
    await pgbench(pg, ['-c', '1', '-t', '200', '-n']);
    last = await switchWal(pg);
  }
  await waitUntil(async () => ((await archiverStats(pg)).failed_count > 0 ? true : undefined), 60_000, 'a failed archive attempt');
  const during = await archiverStats(pg);
  assert.ok(!during.last_archived_wal || during.last_archived_wal < last, 'nothing new archived while the endpoint is down');

  proxy.restore();
  await waitArchived(pg, last, 120_000);
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'], env));
  assert.equal(info.wal.timelines.length, 1);
  assert.deepEqual(info.wal.timelines[0].gaps, []);
  assert.ok(info.wal.timelines[0].last >= last);

  // Every segment PostgreSQL marked done fetches back byte-identical.
  const done = readdirSync(join(pg.pgdata, 'pg_wal', 'archive_status')).filter((n) => n.endsWith('.done')).map((n) => n.slice(0, -5));
  assert.ok(done.length >= 4);
  const out = mkdtempSync(join(tmpdir(), 'fsdr-s3fetch-'));
  for (const name of done) {
    await fsdrOk(['--config', cfg, 'wal-fetch', name, join(out, name)], env);
    assert.ok(readFileSync(join(out, name)).equals(readFileSync(join(pg.pgdata, 'pg_wal', name))), name);
  }
});

test('every object carries COMPLIANCE retention about 7 days ahead, and holds no plaintext', async () => {
  const versions = await listVersions(s3, BUCKET, PREFIX + '/');
  assert.ok(versions.length >= 5, `${versions.length} versions`);
  const now = Date.now();
  for (const v of versions) {
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: v.Key, VersionId: v.VersionId }));
    assert.equal(h.ObjectLockMode, 'COMPLIANCE', v.Key);
    const days = (h.ObjectLockRetainUntilDate!.getTime() - now) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7.01, `${v.Key}: retained ${days.toFixed(2)} days`);
    assert.equal((await getRaw(s3, BUCKET, v.Key!, v.VersionId)).includes(MARKER), false, `${v.Key} holds plaintext`);
  }
});

test('deleting a locked object version is refused by the store', async () => {
  const [v] = (await listVersions(s3, BUCKET, PREFIX + '/wal/')).filter((x) => /[0-9A-F]{24}$/.test(x.Key!));
  await assert.rejects(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: v!.Key, VersionId: v!.VersionId })), /AccessDenied|locked|WORM/i);
  const still = await listVersions(s3, BUCKET, v!.Key);
  assert.ok(still.some((x) => x.VersionId === v!.VersionId), 'the version is still there');
});

test('an unreachable endpoint gives a one-line error and a non-zero exit', async () => {
  proxy.cut();
  try {
    const r = await runFsdr(['--config', cfg, 'info'], env);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach s3:\/\/fsdr-primary\/featuresignals/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const f = await runFsdr(['--config', cfg, 'wal-fetch', '000000010000000000000001', join(tmpdir(), 'fsdr-unreachable-seg')], env);
    assert.equal(f.code, 126, 'an unreachable repository is not "not archived": recovery must stop, not promote early');
  } finally {
    proxy.restore();
  }
});

test('verify --immutability passes on fsdr objects and catches an object written without a lock', async () => {
  const ok = JSON.parse(await fsdrOk(['--config', cfg, 'verify', '--immutability', '--json'], env));
  assert.ok(ok.checked >= 5);
  assert.deepEqual(ok.insufficient, []);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/wal/stray-object`, Body: 'x' }));
  const r = await runFsdr(['--config', cfg, 'verify', '--immutability', '--json'], env);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout).insufficient.map((x: { key: string }) => x.key), ['wal/stray-object']);
});

test('overwriting an archived object does not change the locked version', async () => {
  const [v] = (await listVersions(s3, BUCKET, PREFIX + '/wal/')).filter((x) => /[0-9A-F]{24}$/.test(x.Key!));
  const original = await getRaw(s3, BUCKET, v!.Key!, v!.VersionId);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: v!.Key, Body: 'overwritten' })).catch(() => undefined);
  assert.ok((await getRaw(s3, BUCKET, v!.Key!, v!.VersionId)).equals(original), 'the locked version is intact');
  await assert.rejects(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: v!.Key, VersionId: v!.VersionId })), /AccessDenied|locked|WORM/i);
});
