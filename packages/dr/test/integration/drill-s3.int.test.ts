// Drill evidence on an S3 bucket with Object Lock (moto, COMPLIANCE): the drill restores from S3
// and its evidence object is locked like every repository object, so deleting its version is
// refused by the store — a ransomware actor with the repository's credentials cannot erase the
// record that the backups were tested.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startMoto, startPostgres, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { createBucket, listVersions, s3Client } from '../helpers/s3.js';

const BUCKET = 'fsdr-drill-locked';
const PREFIX = 'prod';
let ws: Workspace;
let moto: MotoHandle;
let pg: PostgresHandle;
let s3: S3Client;
let cfg: string;

before(async () => {
  ws = makeWorkspace();
  moto = await startMoto();
  s3 = s3Client(moto);
  await createBucket(s3, BUCKET, true);
  const doc = (cluster: object) => ({
    cluster,
    repositories: { primary: { type: 's3', bucket: BUCKET, prefix: PREFIX, endpoint: moto.endpoint, forcePathStyle: true, objectLock: { mode: 'compliance', days: 1 } } },
    encryption: { masterKey: `file:${ws.keyFile}` },
  });
  cfg = ws.writeConfig(doc({ connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' }));
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg, moto.env) } });
  ws.writeConfig(doc({ connection: pg.connectionString, pgdata: pg.pgdata }));
  await fsdrOk(['--config', cfg, 'init'], moto.env);
  await pg.query("CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL); INSERT INTO status (marker) SELECT 'r' || g FROM generate_series(1, 42) g");
  await fsdrOk(['--config', cfg, 'backup'], moto.env);
  await waitArchived(pg, await switchWal(pg));
});

after(async () => {
  await pg?.stop();
  await moto?.stop();
  ws?.cleanup();
});

test('a drill from a locked bucket passes, and its evidence is locked: deleting its version is refused', async () => {
  const r = await runFsdr(['--config', cfg, 'drill', 'verify', '--json'], moto.env);
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.result, 'ok');
  assert.equal(e.checks.rowCounts.tables.find((t: { table: string }) => t.table === 'public.status').rows, 42);

  const key = `${PREFIX}/drills/${e.id}.json`;
  const [v] = await listVersions(s3, BUCKET, key);
  assert.ok(v, 'the evidence is in the bucket');
  const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, VersionId: v.VersionId }));
  assert.equal(h.ObjectLockMode, 'COMPLIANCE');
  assert.ok(h.ObjectLockRetainUntilDate!.getTime() > Date.now() + 0.9 * 86_400_000);
  await assert.rejects(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: v.VersionId })), /AccessDenied|locked|WORM/i);
  assert.ok((await listVersions(s3, BUCKET, key)).some((x) => x.VersionId === v.VersionId), 'the version is still there');
  assert.equal(JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'show', e.id, '--json'], moto.env)).id, e.id);
});
