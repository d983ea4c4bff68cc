// fsdr check with S3 repositories on moto: a replica initialised for this cluster passes, an
// empty bucket fails as not initialised (hint: fsdr replicate, as it is a replica), a bucket that
// does not exist fails naming the repository and the bucket; the fs primary and the WAL switch
// still pass beside them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMoto, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { createBucket, s3Client } from '../helpers/s3.js';

let ws: Workspace;
let pg: PostgresHandle;
let moto: MotoHandle;
let cfg: string;

before(async () => {
  ws = makeWorkspace();
  moto = await startMoto();
  ({ pg } = await archivingCluster(ws, {}, { wal_log_hints: true }));
  const c = s3Client(moto);
  await createBucket(c, 'fsdr-offsite', false);
  await createBucket(c, 'fsdr-empty', false);
  const s3 = (bucket: string) => ({ type: 's3', bucket, endpoint: moto.endpoint, forcePathStyle: true, timeouts: { connectSeconds: 2, idleSeconds: 5 }, attempts: 1 });
  const doc = {
    cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
    repositories: { primary: { type: 'fs', path: ws.repoDir }, offsite: s3('fsdr-offsite') },
    encryption: { masterKey: `file:${ws.keyFile}` },
  };
  cfg = ws.writeConfig(doc, 's3.yaml');
  await fsdrOk(['--config', cfg, 'init'], moto.env);
  // A replica receives repo.json from the primary.
  await fsdrOk(['--config', cfg, 'replicate'], moto.env);
  cfg = ws.writeConfig({ ...doc, repositories: { ...doc.repositories, empty: s3('fsdr-empty'), gone: s3('fsdr-no-such-bucket') } }, 's3.yaml');
});

after(async () => {
  await pg?.stop();
  await moto?.stop();
  ws?.cleanup();
});

test('S3 repositories: initialised ok, empty bucket not initialised, missing bucket named', async () => {
  const r = await runFsdr(['--config', cfg, 'check', '--json'], moto.env);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const lines = JSON.parse(r.stdout) as Array<{ check: string; status: string; message: string; hint?: string }>;
  const line = (n: string) => lines.find((l) => l.check === n)!;
  assert.equal(line('repository offsite').status, 'ok');
  assert.match(line('repository offsite').message, /^s3:\/\/fsdr-offsite: cluster \d+, PostgreSQL 15/);
  assert.equal(line('repository empty').status, 'fail');
  assert.match(line('repository empty').message, /not initialised/);
  assert.match(line('repository empty').hint!, /fsdr replicate/);
  assert.equal(line('repository gone').status, 'fail');
  assert.match(line('repository gone').message, /fsdr-no-such-bucket/);
  assert.equal(line('repository primary').status, 'ok');
  assert.equal(line('wal switch').status, 'ok');
});
