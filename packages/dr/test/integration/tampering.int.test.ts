// Ransomware and foreign deletes on versioned S3 (moto): an attacker holding the repository's own
// credentials overwrites every object with garbage and deletes some. Locked versions survive, so
// fsdr must say "tampering", not "run fsdr init", and restore exactly --as-of a time before it.
// Retention purges only under the delete markers it made itself; a foreign delete over a kept
// backup is an alarm, and its version stays until someone restores it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { freePort, startMoto, startPostgres, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { createBucket, listVersions, s3Client } from '../helpers/s3.js';
import { Readable } from 'node:stream';
import type { S3RepositoryConfig } from '../../src/config/schema.js';
import type { FsdrError } from '../../src/errors.js';
import { AsOfStorage } from '../../src/storage/as-of.js';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';

const LOCKED = 'fsdr-ransom';
const PREFIX = 'prod';
const VERSIONED = 'fsdr-versioned';
const DAY = 86_400_000;
let ws: Workspace;
let moto: MotoHandle;
let pg: PostgresHandle;
let s3: S3Client;
let lockedCfg: string;
let versionedCfg: string;
const restored: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function backup(cfg: string, type = 'full'): Promise<{ id: string; stopTime: string }> {
  await pg.query("INSERT INTO status (marker) VALUES ('row')");
  await waitArchived(pg, await switchWal(pg));
  const b = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', type, '--json'], moto.env));
  await sleep(1100); // backup ids have one-second resolution
  return b;
}

async function currentKeys(bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

before(async () => {
  ws = makeWorkspace();
  moto = await startMoto();
  s3 = s3Client(moto);
  await createBucket(s3, LOCKED, true);
  await createBucket(s3, VERSIONED, false);
  await s3.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: 'Enabled' } }));
  const doc = (cluster: object, repo: object) => ({ cluster, repositories: { primary: repo }, encryption: { masterKey: `file:${ws.keyFile}` }, retention: { days: 30, minBackups: 1 } });
  const locked = { type: 's3', bucket: LOCKED, prefix: PREFIX, endpoint: moto.endpoint, forcePathStyle: true, objectLock: { mode: 'compliance', days: 1 } };
  const versioned = { type: 's3', bucket: VERSIONED, endpoint: moto.endpoint, forcePathStyle: true };
  const pending = { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' };
  lockedCfg = ws.writeConfig(doc(pending, locked), 'locked.yaml');
  versionedCfg = ws.writeConfig(doc(pending, versioned), 'versioned.yaml');
  const cmd = `${archiveCommand(lockedCfg, moto.env)} && ${archiveCommand(versionedCfg, moto.env)}`;
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: cmd } });
  const cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
  ws.writeConfig(doc(cluster, locked), 'locked.yaml');
  ws.writeConfig(doc(cluster, versioned), 'versioned.yaml');
  await fsdrOk(['--config', lockedCfg, 'init'], moto.env);
  await fsdrOk(['--config', versionedCfg, 'init'], moto.env);
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  await moto?.stop();
  ws?.cleanup();
});

test('expire purges under its own markers only; a foreign delete over a kept backup is an alarm and survives', async () => {
  const b1 = await backup(versionedCfg);
  const b2 = await backup(versionedCfg);
  const b3 = await backup(versionedCfg);
  const now = new Date(Date.parse(b2.stopTime) + 30 * DAY - 500).toISOString();

  // An incremental backup in progress holds backup expiry back.
  await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'leases/backup-running/20261202T000000Z-I', Body: '{}' }));
  const held = JSON.parse(await fsdrOk(['--config', versionedCfg, 'expire', '--dry-run', '--now', now, '--json'], moto.env));
  assert.deepEqual(held.expireBackups, []);
  assert.deepEqual(held.deferredBy, ['20261202T000000Z-I']);
  await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: 'leases/backup-running/20261202T000000Z-I' }));

  // Someone else deletes the newest backup's manifest and a bundle of a kept backup.
  const manifest = `backups/${b3.id}/manifest.json`;
  const bundle = (await currentKeys(VERSIONED, `backups/${b2.id}/bundle-`))[0]!;
  await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: manifest }));
  await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: bundle }));

  const v = await runFsdr(['--config', versionedCfg, 'verify', '--json'], moto.env);
  assert.equal(v.code, 1);
  const faults = JSON.parse(v.stdout).faults.filter((f: { problem: string }) => /deleted outside fsdr retention/.test(f.problem)).map((f: { object: string }) => f.object).sort();
  assert.deepEqual(faults, [bundle, manifest].sort());

  const r = await runFsdr(['--config', versionedCfg, 'expire', '--now', now, '--json'], moto.env);
  assert.equal(r.code, 1, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.deepEqual(e.expireBackups, [b1.id]);
  assert.ok(e.keepBackups.includes(b3.id), 'the deleted backup is still judged by retention');
  assert.deepEqual(e.foreignDeletes.filter((f: { alarm: boolean }) => f.alarm).map((f: { key: string }) => f.key).sort(), [bundle, manifest].sort());
  assert.match(e.foreignDeletes[0].hint, /aws s3api delete-object --bucket fsdr-versioned --key \S+ --version-id/);
  assert.ok(e.purgedVersions > 0, 'versions under its own markers are purged (no lock here)');
  assert.equal((await listVersions(s3, VERSIONED, `backups/${b1.id}/`)).length, 0, 'the expired backup is gone for good');
  assert.equal((await listVersions(s3, VERSIONED, manifest)).length, 1, 'the foreign-deleted version is kept');
  assert.equal((await listVersions(s3, VERSIONED, bundle)).length, 1);

  // Following the hint (remove the marker) brings the backup back, and the alarm ends.
  for (const f of e.foreignDeletes) await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: f.key, VersionId: f.markerVersionId }));
  const info = JSON.parse(await fsdrOk(['--config', versionedCfg, 'info', '--json'], moto.env));
  assert.deepEqual(info.backups.map((b: { id: string }) => b.id), [b2.id, b3.id]);
  const again = JSON.parse(await fsdrOk(['--config', versionedCfg, 'expire', '--now', now, '--json'], moto.env));
  assert.equal(again.alarms, 0);
  assert.match(await fsdrOk(['--config', versionedCfg, 'verify'], moto.env), /no faults/);

  // An incremental backup holds its running lease while it works and removes it at the end.
  await backup(versionedCfg, 'incr');
  assert.equal((await listVersions(s3, VERSIONED, 'leases/backup-running/')).length, 2, 'two leases were written (the test one and the backup\'s)');
  assert.deepEqual(await currentKeys(VERSIONED, 'leases/backup-running/'), [], 'and both are gone');
});

test('ransomware overwrites and deletes a locked repository: detected, and restored exactly --as-of before it', async () => {
  await backup(lockedCfg);
  for (let i = 0; i < 20; i++) await pg.query('INSERT INTO status (marker) VALUES ($1)', [`after-backup-${i}`]);
  await waitArchived(pg, await switchWal(pg));
  const want = (await pg.query(CONTENT_SQL)).rows[0];
  await sleep(1500);
  const beforeAttack = new Date().toISOString();
  await sleep(1500);

  // First one bundle is overwritten: it fails in a restore worker thread, and is still explained
  // as tampering (the worker's error keeps its kind across the thread boundary).
  const bundleKey = (await currentKeys(LOCKED, `${PREFIX}/backups/`)).find((k) => /\/bundle-\d+$/.test(k))!;
  await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: bundleKey, Body: 'encrypted by ransomware' }));
  const bundleOnly = await runFsdr(['--config', lockedCfg, 'restore', '--latest', '--pgdata', join(ws.dir, 'bundle-only'), '--port', String(await freePort())], moto.env);
  assert.notEqual(bundleOnly.code, 0);
  assert.match(bundleOnly.stderr, /bundle-\d+.*tampering or ransomware/);

  // Then the manifest is overwritten: repo.json still authenticates, the manifest does not.
  const manifestKey = (await currentKeys(LOCKED, `${PREFIX}/backups/`)).find((k) => k.endsWith('/manifest.json'))!;
  await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: manifestKey, Body: 'encrypted by ransomware' }));
  const early = await runFsdr(['--config', lockedCfg, 'restore', '--latest', '--pgdata', join(ws.dir, 'early'), '--port', String(await freePort())], moto.env);
  assert.notEqual(early.code, 0);
  assert.match(early.stderr, /backups\/.*manifest\.json.*tampering or ransomware/);

  // The attack (last: archiving into this repository fails from now on), with the repository's own credentials: garbage over every object, then delete
  // markers over some (repo.json among them). Deleting the locked versions themselves is refused.
  const keys = await currentKeys(LOCKED, `${PREFIX}/`);
  assert.ok(keys.length > 5);
  for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: key, Body: `encrypted by ransomware ${key}` }));
  const deleted = keys.filter((k, i) => k.endsWith('repo.json') || i % 3 === 0);
  for (const key of deleted) await s3.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: key }));

  const pgdata = join(ws.dir, 'after-attack');
  const r = await runFsdr(['--config', lockedCfg, 'restore', '--latest', '--pgdata', pgdata, '--port', String(await freePort())], moto.env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /tampering or ransomware/);
  assert.doesNotMatch(r.stderr, /run fsdr init/);
  const suggested = /--as-of (\S+Z)/.exec(r.stderr)?.[1];
  assert.ok(suggested, `the error suggests a time: ${r.stderr}`);
  assert.ok(suggested >= beforeAttack, `${suggested} is not before the last good write`);

  const v = await runFsdr(['--config', lockedCfg, 'verify'], moto.env);
  assert.notEqual(v.code, 0);
  assert.match(v.stderr + v.stdout, /tampering or ransomware/);

  const asOf = JSON.parse(await fsdrOk(['--config', lockedCfg, 'verify', '--as-of', suggested, '--json'], moto.env));
  assert.deepEqual(asOf.faults, [], 'the repository as of before the attack is whole');
  assert.equal(asOf.backups.length, 1);
  const info = JSON.parse(await fsdrOk(['--config', lockedCfg, 'info', '--as-of', suggested, '--json'], moto.env));
  assert.equal(info.backups.length, 1);

  const good = join(ws.dir, 'as-of');
  restored.push(good);
  const port = await freePort();
  const res = JSON.parse(await fsdrOk(['--config', lockedCfg, 'restore', '--latest', '--as-of', suggested, '--pgdata', good, '--port', String(port), '--json'], moto.env));
  assert.equal(res.asOf, suggested);
  assert.deepEqual((await queryPort(port, CONTENT_SQL))[0], want, 'every row committed before the attack, exactly');

  const w = await runFsdr(['--config', lockedCfg, 'init'], moto.env);
  assert.notEqual(w.code, 0, 'init does not paper over the attack');
});

test('--as-of is refused for a directory repository, and writes through an as-of view are refused', async () => {
  const fsCfg = ws.writeConfig({ repositories: { primary: { type: 'fs', path: ws.repoDir } }, encryption: { masterKey: `file:${ws.keyFile}` } }, 'fs.yaml');
  const r = await runFsdr(['--config', fsCfg, 'info', '--as-of', new Date().toISOString()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /versioned/);
  const z = await runFsdr(['--config', lockedCfg, 'info', '--as-of', '2026-11-27T14:05:00'], moto.env);
  assert.equal(z.code, 2, 'a time without a zone is refused');
  Object.assign(process.env, moto.env); // the SDK finds the moto credentials as in production
  const view = new AsOfStorage(new S3Storage({ type: 's3', bucket: VERSIONED, prefix: '', region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, timeouts: { connectSeconds: 5, idleSeconds: 60 }, attempts: 3 } as S3RepositoryConfig), new Date());
  try {
    await assert.rejects(view.put('x', Readable.from([Buffer.from('x')])), (e: FsdrError) => e.code === 'FSDR_AS_OF_READ_ONLY');
    await assert.rejects(view.delete(['repo.json']), (e: FsdrError) => e.code === 'FSDR_AS_OF_READ_ONLY');
    assert.ok(await view.head('repo.json'), 'reads work');
  } finally {
    await view.close();
  }
});

test('an --as-of fetch with archive.async never reads the shared prefetch spool: a file there under the segment\'s name is left alone, the repository\'s version is handed over', async () => {
  // (Archiving stopped with the attack on the locked repository: segments archived before it.)
  const seg = (await currentKeys(VERSIONED, 'wal/')).map((k) => k.split('/').pop()!).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort().pop()!;
  assert.ok(seg, 'an archived segment');
  const spool = join(ws.dir, 'as-of-spool');
  const doc = JSON.parse(JSON.stringify((await import('yaml')).parse((await import('node:fs')).readFileSync(versionedCfg, 'utf8'))));
  const asyncCfg = ws.writeConfig({ ...doc, archive: { async: true, spoolPath: spool } }, 'versioned-async.yaml');
  const { mkdirSync, writeFileSync, readFileSync } = await import('node:fs');
  mkdirSync(join(spool, 'archive-in'), { recursive: true, mode: 0o700 });
  const planted = join(spool, 'archive-in', seg);
  writeFileSync(planted, 'another recovery\'s file');
  const viaSync = join(ws.dir, `${seg}.sync`);
  const viaAsOf = join(ws.dir, `${seg}.as-of`);
  await fsdrOk(['--config', versionedCfg, 'wal-fetch', seg, viaSync], moto.env);
  await fsdrOk(['--config', asyncCfg, 'wal-fetch', '--as-of', new Date().toISOString(), seg, viaAsOf], moto.env);
  assert.ok(readFileSync(viaAsOf).equals(readFileSync(viaSync)), 'the repository\'s segment');
  assert.equal(readFileSync(planted, 'utf8'), 'another recovery\'s file', 'the spool was not read');
});
