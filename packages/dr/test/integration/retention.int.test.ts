// Retention on real repositories: expire keeps the last `days` of backups and the WAL they need
// (PITR from the oldest kept backup still works), --dry-run deletes nothing, and on a locked S3
// bucket expired objects get delete markers while their locked versions stay, reported as pending.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startMoto, startPostgres, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { createBucket, listVersions, s3Client } from '../helpers/s3.js';

const DAY = 86_400_000;
let ws: Workspace;
let moto: MotoHandle;
let pg: PostgresHandle;
let fsCfg: string;
let s3Cfg: string;
const restored: string[] = [];

async function backup(cfg: string, env: Record<string, string> = {}): Promise<{ id: string; stopTime: string; startLsn: string }> {
  await pg.query("INSERT INTO status (marker) VALUES ('row')");
  await waitArchived(pg, await switchWal(pg));
  const b = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'], env));
  await new Promise((r) => setTimeout(r, 1100)); // ids have one-second resolution
  return b;
}

before(async () => {
  ws = makeWorkspace();
  moto = await startMoto();
  await createBucket(s3Client(moto), 'fsdr-retention', true);
  const common = { encryption: { masterKey: `file:${ws.keyFile}` }, retention: { days: 30, minBackups: 1 } };
  const pending = { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' };
  const fsDoc = (cluster: object) => ({ cluster, repositories: { primary: { type: 'fs', path: ws.repoDir } }, ...common });
  const s3Doc = (cluster: object) => ({
    cluster,
    repositories: { primary: { type: 's3', bucket: 'fsdr-retention', endpoint: moto.endpoint, forcePathStyle: true, objectLock: { mode: 'compliance', days: 7 } } },
    ...common,
  });
  fsCfg = ws.writeConfig(fsDoc(pending), 'fs.yaml');
  s3Cfg = ws.writeConfig(s3Doc(pending), 's3.yaml');
  // One cluster archives into both repositories (a shell list in archive_command).
  const cmd = `${archiveCommand(fsCfg)} && ${archiveCommand(s3Cfg, moto.env)}`;
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: cmd } });
  const cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
  ws.writeConfig(fsDoc(cluster), 'fs.yaml');
  ws.writeConfig(s3Doc(cluster), 's3.yaml');
  await fsdrOk(['--config', fsCfg, 'init']);
  await fsdrOk(['--config', s3Cfg, 'init'], moto.env);
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  await moto?.stop();
  ws?.cleanup();
});

test('expire keeps the last 30 days and the WAL they need; PITR from the oldest kept backup works', async () => {
  const b1 = await backup(fsCfg);
  const b2 = await backup(fsCfg);
  const b3 = await backup(fsCfg);
  // As of 30 days after b2 ended (less a little), b1 is past retention and b2, b3 are not.
  const now = new Date(Date.parse(b2.stopTime) + 30 * DAY - 500).toISOString();
  const walBefore = JSON.parse(await fsdrOk(['--config', fsCfg, 'info', '--json'])).wal.timelines[0];

  const dry = JSON.parse(await fsdrOk(['--config', fsCfg, 'expire', '--dry-run', '--now', now, '--json']));
  assert.deepEqual(dry.expireBackups, [b1.id]);
  assert.ok(existsSync(join(ws.repoDir, 'backups', b1.id, 'manifest.json')), 'dry run deletes nothing');

  const r = JSON.parse(await fsdrOk(['--config', fsCfg, 'expire', '--now', now, '--json']));
  assert.deepEqual(r.expireBackups, [b1.id]);
  assert.deepEqual(r.keepBackups, [b2.id, b3.id]);
  assert.ok(r.expireWal.length > 0);
  assert.deepEqual(readdirSync(join(ws.repoDir, 'backups')).sort(), [b2.id, b3.id]);

  const info = JSON.parse(await fsdrOk(['--config', fsCfg, 'info', '--json']));
  const tl = info.wal.timelines[0];
  assert.ok(tl.first > walBefore.first, 'older WAL went');
  assert.deepEqual(tl.gaps, [], 'no hole in the kept window');
  assert.equal((await fsdrOk(['--config', fsCfg, 'verify'])).includes('no faults'), true);

  const pgdata = join(ws.dir, 'oldest-kept');
  restored.push(pgdata);
  const port = await freePort();
  await fsdrOk(['--config', fsCfg, 'restore', '--backup', b2.id, '--pgdata', pgdata, '--port', String(port), '--latest']);
  assert.deepEqual((await queryPort(port, CONTENT_SQL))[0], (await pg.query(CONTENT_SQL)).rows[0]);
});

test('on a locked bucket, expired objects get delete markers; locked versions stay and are reported, not failed on', async () => {
  const b1 = await backup(s3Cfg, moto.env);
  await backup(s3Cfg, moto.env);
  const now = new Date(Date.now() + 40 * DAY).toISOString();
  const s3 = s3Client(moto);
  const before = (await listVersions(s3, 'fsdr-retention', `backups/${b1.id}/`)).length;
  assert.ok(before >= 2);
  const r = JSON.parse(await fsdrOk(['--config', s3Cfg, 'expire', '--now', now, '--json'], moto.env));
  assert.deepEqual(r.expireBackups, [b1.id]);
  assert.equal(r.purgedVersions, 0, 'nothing under lock is purged');
  assert.ok(r.pendingLocked.length >= before, 'locked versions are reported as pending');
  assert.equal((await listVersions(s3, 'fsdr-retention', `backups/${b1.id}/`)).length, before, 'every locked version is still there');
  const info = JSON.parse(await fsdrOk(['--config', s3Cfg, 'info', '--json'], moto.env));
  assert.ok(!info.backups.some((b: { id: string }) => b.id === b1.id), 'the expired backup is no longer listed');
  const again = JSON.parse(await fsdrOk(['--config', s3Cfg, 'expire', '--now', now, '--json'], moto.env));
  assert.ok(again.pendingLocked.length >= before, 'a later run still reports them while locked');
});
