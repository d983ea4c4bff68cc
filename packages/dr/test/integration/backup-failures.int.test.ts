// Backups and restores that must fail safely: a flipped byte (verify and restore name the object,
// nothing is started), fsdr backup killed half-way (no restorable-looking backup; the next one
// works), its PostgreSQL session terminated mid-copy (one line, nothing listed), and refused
// restores (non-empty directory, target outside the window, wrong key).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { FSDR_BIN, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { pgbench } from '../helpers/pg-load.js';
import { queryPort, stopRestored } from '../helpers/restored.js';
import { freePort } from '@featuresignals/testkit';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { runBackup } from '../../src/commands/backup/backup.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let backupId: string;

function backupDirs(): string[] {
  const d = join(ws.repoDir, 'backups');
  return existsSync(d) ? readdirSync(d).sort() : [];
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 1, bundleSizeMiB: 1 } }));
  await pgbench(pg, ['-i', '-s', '8', '-q']);
  backupId = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'])).id;
});

after(async () => {
  await pg?.stop();
  ws?.cleanup();
});

test('kill -9 of fsdr backup half-way leaves no restorable-looking backup; the next backup succeeds', async () => {
  const before = backupDirs();
  const child = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'backup'], { stdio: 'ignore' });
  const newDir = await waitUntil(async () => {
    const fresh = backupDirs().filter((d) => !before.includes(d));
    if (fresh.length && readdirSync(join(ws.repoDir, 'backups', fresh[0]!)).filter((f) => f.startsWith('bundle-')).length >= 3) return fresh[0];
    return undefined;
  }, 60_000, 'the backup to be half-way');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(existsSync(join(ws.repoDir, 'backups', newDir!, 'manifest.json')), false);
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.deepEqual(info.backups.map((b: { id: string }) => b.id), [backupId], 'the killed backup is not listed');
  await new Promise((r) => setTimeout(r, 1100)); // backup ids have one-second resolution
  const next = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json']));
  assert.notEqual(next.id, newDir);
  const after = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.equal(after.backups.length, 2);
  assert.equal((await runFsdr(['--config', cfg, 'verify', '--backup', next.id])).code, 0);

  // The debris is named by verify and removed by expire once no writer can own it; a temp file
  // of an interrupted write likewise.
  const tmp = join(ws.repoDir, 'wal', 'x.0a1b2c.fsdr-tmp');
  mkdirSync(join(ws.repoDir, 'wal'), { recursive: true });
  writeFileSync(tmp, 'half an object');
  const hourAgo = new Date(Date.now() - 2 * 3600_000);
  utimesSync(tmp, hourAgo, hourAgo);
  const v = await runFsdr(['--config', cfg, 'verify']);
  assert.match(v.stdout, new RegExp(`^LEFTOVER abandoned-backup ${newDir}: `, 'm'));
  assert.match(v.stdout, /^LEFTOVER temp-file wal\/x\.0a1b2c\.fsdr-tmp: /m);
  const soon = JSON.parse(await fsdrOk(['--config', cfg, 'expire', '--json']));
  assert.deepEqual(soon.leftoversRemoved.map((l: { name: string }) => l.name), ['wal/x.0a1b2c.fsdr-tmp']);
  // Too young to remove: a backup may still be writing them (the killed one left a temp bundle too).
  const kept = soon.leftoversKept.map((l: { name: string }) => l.name) as string[];
  assert.ok(kept.includes(newDir!), kept.join(' '));
  assert.ok(kept.every((k) => k === newDir || k.startsWith(`backups/${newDir}/`)), kept.join(' '));
  assert.equal(existsSync(tmp), false);
  const later = new Date(Date.now() + 25 * 3600_000).toISOString();
  const r = JSON.parse(await fsdrOk(['--config', cfg, 'expire', '--now', later, '--json']));
  assert.deepEqual(r.leftoversRemoved.map((l: { name: string }) => l.name).sort(), [...kept].sort());
  assert.equal(existsSync(join(ws.repoDir, 'backups', newDir!)), false);
  assert.equal(JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).backups.length, 2, 'complete backups untouched');
});

test('restore refuses a non-empty directory, a target outside the window and a wrong key, writing nothing', async () => {
  const dir = join(ws.dir, 'occupied');
  mkdirSync(dir);
  writeFileSync(join(dir, 'keep.txt'), 'precious');
  let r = await runFsdr(['--config', cfg, 'restore', '--pgdata', dir, '--port', '5999', '--no-start']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /occupied is not empty/);
  assert.deepEqual(readdirSync(dir), ['keep.txt']);

  const target = join(ws.dir, 'never');
  for (const t of ['2001-01-01T00:00:00Z', '2999-01-01T00:00:00Z']) {
    r = await runFsdr(['--config', cfg, 'restore', '--pgdata', target, '--port', '5999', '--target-time', t]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is outside the recoverable window \(timeline 1: \S+ \.\. \S+\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(existsSync(target), false);
  }

  const otherKey = join(ws.dir, 'other.key');
  writeFileSync(otherKey, randomBytes(32).toString('hex'), { mode: 0o600 });
  const wrong = ws.writeConfig({ repositories: { primary: { type: 'fs', path: ws.repoDir } }, encryption: { masterKey: `file:${otherKey}` } }, 'wrong.yaml');
  r = await runFsdr(['--config', wrong, 'restore', '--pgdata', target, '--port', '5999']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /encrypted with master key/);
  assert.equal(existsSync(target), false);
});

test('a flipped byte in a backup object: verify and restore fail naming the object, nothing is started', async () => {
  const bundle = join(ws.repoDir, 'backups', backupId, 'bundle-00002');
  const bytes = readFileSync(bundle);
  bytes[Math.floor(bytes.length / 3)] ^= 0x04;
  writeFileSync(bundle, bytes);

  const v = await runFsdr(['--config', cfg, 'verify', '--backup', backupId, '--json']);
  assert.equal(v.code, 1);
  const report = JSON.parse(v.stdout);
  assert.equal(report.faults.length, 1);
  assert.equal(report.faults[0].object, `backups/${backupId}/bundle-00002`);

  const target = join(ws.dir, 'from-corrupt');
  const r = await runFsdr(['--config', cfg, 'restore', '--pgdata', target, '--port', '5999', '--backup', backupId]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`object backups/${backupId}/bundle-00002`));
  assert.equal(existsSync(target), false, 'the half-written data directory is removed');

  const all = await runFsdr(['--config', cfg, 'verify']);
  assert.equal(all.code, 1, 'a full verify finds it too');
  assert.match(all.stdout, /FAULT backups\/\S+\/bundle-00002/);
});

test('a data directory whose pg_wal is a link to another disk (initdb --waldir) backs up and restores', async () => {
  await pg.stopServer();
  const waldir = join(ws.dir, 'waldisk');
  renameSync(join(pg.pgdata, 'pg_wal'), waldir);
  symlinkSync(waldir, join(pg.pgdata, 'pg_wal'));
  await pg.start();
  await pg.query("CREATE TABLE linked (v text); INSERT INTO linked VALUES ('on a linked pg_wal')");
  const b = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json']));
  const pgdata = join(ws.dir, 'from-linked');
  const port = await freePort();
  try {
    const r = JSON.parse(await fsdrOk(['--config', cfg, 'restore', '--backup', b.id, '--pgdata', pgdata, '--port', String(port), '--latest', '--json']));
    assert.equal(r.started, true);
    assert.deepEqual(await queryPort(port, 'SELECT v FROM linked'), [{ v: 'on a linked pg_wal' }]);
  } finally {
    await stopRestored(pgdata);
  }
});

test('a wrong cluster.pgdata is refused before anything is written (empty dir, another cluster, a stale copy)', async () => {
  const doc = parseYaml(readFileSync(cfg, 'utf8'));
  const empty = join(ws.dir, 'empty-pgdata');
  mkdirSync(empty);
  const other = join(ws.dir, 'other-cluster');
  mkdirSync(join(other, 'global'), { recursive: true });
  writeFileSync(join(other, 'PG_VERSION'), '15\n');
  writeFileSync(join(other, 'global', 'pg_control'), randomBytes(8192));
  const stale = join(ws.dir, 'stale-copy');
  mkdirSync(join(stale, 'global'), { recursive: true });
  writeFileSync(join(stale, 'PG_VERSION'), readFileSync(join(pg.pgdata, 'PG_VERSION')));
  writeFileSync(join(stale, 'global', 'pg_control'), readFileSync(join(pg.pgdata, 'global', 'pg_control')));
  const before = backupDirs();
  for (const [dir, why] of [[empty, /cannot read PG_VERSION/], [other, /system identifier \d+, the server \d+/], [stale, /the server's data_directory is /]] as const) {
    const bad = ws.writeConfig({ ...doc, cluster: { ...doc.cluster, pgdata: dir } }, 'wrong-pgdata.yaml');
    const r = await runFsdr(['--config', bad, 'backup']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^fsdr: cluster\.pgdata .* is not the data directory of the connected server/);
    assert.match(r.stderr, why);
    assert.deepEqual(backupDirs(), before, 'nothing was written');
  }
});

test('worker threads use the validated config, not fsdr.yaml as edited during the backup', async () => {
  // The backup's own copy of the config (archive_command keeps reading the original).
  const doc = parseYaml(readFileSync(cfg, 'utf8'));
  const own = ws.writeConfig(doc, 'backup-own.yaml');
  const config = loadConfig(own);
  const elsewhere = join(ws.dir, 'elsewhere');
  mkdirSync(elsewhere);
  // An edit while the backup runs: another repository and another key. The running backup must
  // keep writing where its manifest will say.
  ws.writeConfig({ ...doc, repositories: { primary: { type: 'fs', path: elsewhere } }, encryption: { masterKey: 'env:FSDR_NEVER_SET' } }, 'backup-own.yaml');
  const m = await runBackup(config, { type: 'full', processes: 2, bundleBytes: 1 << 20, quiet: true });
  assert.deepEqual(readdirSync(elsewhere), []);
  assert.ok(existsSync(join(ws.repoDir, 'backups', m.id, 'manifest.json')));
  const latest = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).backups.at(-1).id;
  assert.equal((await runFsdr(['--config', cfg, 'verify', '--backup', latest])).code, 0);
});

test('a backup whose PostgreSQL session is terminated mid-copy fails in one line and lists nothing', async () => {
  const listed = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).backups.map((b: { id: string }) => b.id);
  const before = backupDirs();
  const child = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'backup'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  // The DBA's view: the session is named; once pg_backup_start has run, it sits idle while the
  // files are copied.
  const pid = await waitUntil(async () => {
    const r = await pg.query<{ pid: number; query: string }>("SELECT pid, query FROM pg_stat_activity WHERE application_name = 'fsdr backup'");
    return r.rows[0] && /pg_walfile_name/.test(r.rows[0].query) ? r.rows[0].pid : undefined;
  }, 60_000, 'the backup session to be copying');
  await pg.query('SELECT pg_terminate_backend($1)', [pid]);
  const code = await exited;
  assert.notEqual(code, 0);
  assert.match(stderr, new RegExp(`^fsdr: the PostgreSQL session "fsdr backup" \\(backend pid ${pid}\\) was lost: terminating connection due to administrator command`));
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  const fresh = backupDirs().filter((d) => !before.includes(d));
  for (const d of fresh) {
    assert.equal(existsSync(join(ws.repoDir, 'backups', d, 'manifest.json')), false, 'no manifest');
    const complete = readdirSync(join(ws.repoDir, 'backups', backupId)).filter((f) => f.startsWith('bundle-')).length;
    const written = readdirSync(join(ws.repoDir, 'backups', d)).filter((f) => f.startsWith('bundle-')).length;
    assert.ok(written < complete, `copying stopped with the session (${written} of ${complete} bundles)`);
  }
  const after = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).backups.map((b: { id: string }) => b.id);
  assert.deepEqual(after, listed, 'the abandoned backup is not listed');
});
