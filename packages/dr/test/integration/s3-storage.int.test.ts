// S3Storage against moto: a multipart upload (larger than one part) is whole, carries the
// repository's Object Lock like a single PUT, and ifAbsent refuses a second writer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startMoto, type MotoHandle } from '@featuresignals/testkit';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { ObjectExistsError, ObjectNotFoundError } from '../../src/storage/errors.js';
import { createBucket, s3Client } from '../helpers/s3.js';
import { ObjectCodec } from '../../src/codec/object-codec.js';
import { makeWorkspace, runFsdr } from '../helpers/fsdr.js';
import { ObjectStore } from '../../src/repository/object-store.js';

let moto: MotoHandle;
let s3: S3Client;
let storage: S3Storage;

before(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  s3 = s3Client(moto);
  await createBucket(s3, 'fsdr-mp', true);
  storage = new S3Storage({ type: 's3', bucket: 'fsdr-mp', region: 'us-east-1', endpoint: moto.endpoint, prefix: 'repo', forcePathStyle: true, objectLock: { mode: 'compliance', days: 7 }, timeouts: { connectSeconds: 5, idleSeconds: 60 }, attempts: 3 });
});

after(async () => {
  await storage?.close();
  await moto?.stop();
});

test('a multipart object is stored whole and locked like any other', async () => {
  const big = randomBytes(20 * 1024 * 1024 + 123);
  await storage.put('backups/x/bundle-00000', Readable.from([big.subarray(0, 7e6), big.subarray(7e6)]), { ifAbsent: true });
  const h = await s3.send(new HeadObjectCommand({ Bucket: 'fsdr-mp', Key: 'repo/backups/x/bundle-00000' }));
  assert.match(h.ETag ?? '', /-\d+"$/, 'it really was a multipart upload');
  assert.equal(h.ContentLength, big.length);
  assert.equal(h.ObjectLockMode, 'COMPLIANCE');
  assert.ok(h.ObjectLockRetainUntilDate!.getTime() > Date.now() + 6.9 * 86_400_000);
  const back = createHash('sha256');
  for await (const c of await storage.get('backups/x/bundle-00000')) back.update(c as Buffer);
  assert.equal(back.digest('hex'), createHash('sha256').update(big).digest('hex'));
  await assert.rejects(storage.put('backups/x/bundle-00000', Readable.from([Buffer.from('other')]), { ifAbsent: true }), ObjectExistsError);
  await assert.rejects(storage.get('backups/x/absent'), ObjectNotFoundError);
  assert.equal(await storage.head('backups/x/absent'), undefined);
  const keys: string[] = [];
  for await (const o of storage.list('backups/')) keys.push(o.key);
  assert.deepEqual(keys, ['backups/x/bundle-00000']);
});

test('an encoded object larger than one part (the codec stream as body) uploads and reads back', async () => {
  // The codec's output stream once carried a `size` field that the SDK took for the total length.
  const objects = new ObjectStore(storage, new ObjectCodec(randomBytes(32), { algorithm: 'none', level: 1 }));
  const data = randomBytes(19 * 1024 * 1024);
  const r = await objects.put('backups/y/bundle-00000', Readable.from([data]), { digest: false });
  assert.equal(r.size, data.length);
  assert.ok(r.storedSize > data.length);
  const back = await objects.getBuffer('backups/y/bundle-00000');
  assert.ok(back.equals(data));
  const withDigest = await objects.put('wal/0000000100000000/000000010000000000000001', Readable.from([data]));
  assert.equal(withDigest.sha256, createHash('sha256').update(data).digest('hex'));
  assert.equal(await objects.sha256Of('wal/0000000100000000/000000010000000000000001'), withDigest.sha256);
});

test('no credentials at all: one line that says so and where to set them', async () => {
  const saved = { ...process.env };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[k];
  Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config', AWS_EC2_METADATA_DISABLED: 'true' });
  const bare = new S3Storage({ type: 's3', bucket: 'fsdr-mp', region: 'us-east-1', endpoint: moto.endpoint, prefix: 'repo', forcePathStyle: true, timeouts: { connectSeconds: 5, idleSeconds: 10 }, attempts: 1 });
  try {
    await assert.rejects(bare.head('repo.json'), (e: Error & { code?: string; hint?: string }) =>
      e.code === 'FSDR_STORAGE_CREDENTIALS' && /no AWS credentials found/.test(e.message) && /AWS_ACCESS_KEY_ID/.test(e.hint ?? ''));
  } finally {
    await bare.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('credentials the store rejects: one line naming the reason, via the CLI', async () => {
  const strict = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: '0' } });
  const ws = makeWorkspace();
  try {
    const cfg = ws.writeConfig({
      repositories: { primary: { type: 's3', bucket: 'fsdr-any', region: 'us-east-1', endpoint: strict.endpoint, forcePathStyle: true, attempts: 1 } },
      encryption: { masterKey: `file:${ws.keyFile}` },
    });
    const r = await runFsdr(['--config', cfg, 'info'], { ...strict.env, AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN000000000', AWS_SECRET_ACCESS_KEY: 'wrong' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^fsdr: .*the credentials were rejected \(InvalidAccessKeyId\) \(hint: the access key is unknown or expired/m);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  } finally {
    ws.cleanup();
    await strict.stop();
  }
});
