// The async archiver: wal-push answers from a spool that a background pusher fills in parallel
// from pg_wal/archive_status/*.ready. Under pgbench load nothing fails and nothing is missing; a
// repository that refuses writes makes wal-push fail (PostgreSQL retries) until it is fixed; a
// pusher killed with -9 (its lock file naming a pid that lives on) does not stop archiving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { freePort, startPostgres, waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { queryPort, stopRestored } from '../helpers/restored.js';
import { archiveCommand, asPostgres, FSDR_BIN, fsdrOk, giveToPostgres, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { lockHeld, lockSocketPath } from '../../src/commands/wal-push/spool-lock.js';
import { archiverStats, pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let spool: string;
const restored: string[] = [];

before(async () => {
  ws = makeWorkspace();
  spool = join(ws.dir, 'spool');
  // The spool belongs to the PostgreSQL user (the test itself also calls wal-fetch, as root).
  for (const d of [spool, join(spool, 'archive-in'), join(spool, 'archive-out')]) {
    mkdirSync(d, { mode: 0o700 });
    giveToPostgres(d);
  }
  const doc = {
    cluster: { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' },
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    archive: { async: true, processes: 4, spoolPath: spool, timeoutSeconds: 30 },
  };
  cfg = ws.writeConfig(doc);
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg), wal_keep_size: 2048 } });
  doc.cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
  ws.writeConfig(doc);
  await fsdrOk(['--config', cfg, 'init']);
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('under write load every segment is archived, in order, with no failure and no gap', async () => {
  await pgbench(pg, ['-i', '-s', '5', '-q']);
  await pgbench(pg, ['-c', '4', '-T', '6', '-n']);
  const last = await switchWal(pg);
  const stats = await waitArchived(pg, last, 120_000);
  assert.equal(stats.failed_count, 0);
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.deepEqual(info.wal.timelines[0].gaps, []);
  assert.ok(info.wal.timelines[0].segments >= 3, `${info.wal.timelines[0].segments} segments`);
  const out = mkdtempSync(join(tmpdir(), 'fsdr-async-'));
  const done = readdirSync(join(pg.pgdata, 'pg_wal', 'archive_status')).filter((n) => n.endsWith('.done')).map((n) => n.slice(0, -5));
  for (const name of done) {
    await fsdrOk(['--config', cfg, 'wal-fetch', name, join(out, name)]);
    assert.ok(readFileSync(join(out, name)).equals(readFileSync(join(pg.pgdata, 'pg_wal', name))), name);
  }
});

test('a repository that refuses writes fails wal-push; archiving resumes once it is fixed', async () => {
  const walDir = join(ws.repoDir, 'wal');
  const dirs = readdirSync(walDir).filter((n) => n.length === 16).map((n) => join(walDir, n));
  for (const d of [walDir, ...dirs]) chmodSync(d, 0o555);
  const failedBefore = (await archiverStats(pg)).failed_count;
  let last = '';
  try {
    last = await switchWal(pg);
    await waitUntil(async () => ((await archiverStats(pg)).failed_count > failedBefore ? true : undefined), 60_000, 'a failed archive attempt');
    const s = await archiverStats(pg);
    assert.ok(!s.last_archived_wal || s.last_archived_wal < last, 'not reported archived while the repository refuses writes');
  } finally {
    for (const d of [walDir, ...dirs]) chmodSync(d, 0o755);
  }
  await waitArchived(pg, last, 120_000);
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.deepEqual(info.wal.timelines[0].gaps, []);
});

test('async wal-fetch prefetches the next segments into the spool and serves them from there', async () => {
  const done = readdirSync(join(pg.pgdata, 'pg_wal', 'archive_status')).filter((n) => /^[0-9A-F]{24}\.done$/.test(n)).map((n) => n.slice(0, -5)).sort();
  assert.ok(done.length >= 3);
  const out = mkdtempSync(join(tmpdir(), 'fsdr-prefetch-'));
  await fsdrOk(['--config', cfg, 'wal-fetch', done[0]!, join(out, done[0]!)]);
  const spooled = join(spool, 'archive-in', done[1]!);
  await waitUntil(async () => (existsSync(spooled) ? true : undefined), 30_000, 'the prefetcher to fetch the next segment');
  await fsdrOk(['--config', cfg, 'wal-fetch', done[1]!, join(out, done[1]!)]);
  assert.equal(existsSync(spooled), false, 'served from the spool (moved, not copied)');
  for (const n of done.slice(0, 2)) assert.ok(readFileSync(join(out, n)).equals(readFileSync(join(pg.pgdata, 'pg_wal', n))), n);
});

test('a point-in-time restore with async fetching recovers everything', async () => {
  await fsdrOk(['--config', cfg, 'backup']);
  await pgbench(pg, ['-c', '2', '-t', '500', '-n']);
  await waitArchived(pg, await switchWal(pg), 120_000);
  const pgdata = join(ws.dir, 'restored-async');
  restored.push(pgdata);
  const port = await freePort();
  await fsdrOk(['--config', cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest']);
  const sum = 'SELECT count(*)::int AS n, sum(abalance)::text AS s FROM pgbench_accounts';
  assert.deepEqual((await queryPort(port, sum))[0], (await pg.query(sum)).rows[0]);
});

test('a pusher killed with -9 after a "reboot" that reused its pid: the next wal-push takes over', async () => {
  const pgWal = join(pg.pgdata, 'pg_wal');
  // Wait for earlier pushers to go idle and exit, then start one as wal-push does, and crash it.
  await waitUntil(async () => ((await lockHeld(spool, 'archive-push')) ? undefined : true), 30_000, 'earlier pushers to exit');
  const pusher = spawn(process.execPath, [FSDR_BIN, 'archive-push-async', '--pg-wal', pgWal, '--config', cfg], { stdio: 'ignore', ...asPostgres() });
  await waitUntil(async () => ((await lockHeld(spool, 'archive-push')) ? true : undefined), 30_000, 'the pusher to take its lock');
  pusher.kill('SIGKILL');
  await once(pusher, 'exit');
  assert.ok(existsSync(lockSocketPath(spool, 'archive-push')), 'kill -9 leaves the lock socket file behind');
  // The pid lock of earlier versions, naming a pid that a live process has after a reboot.
  const pidFile = join(spool, 'archive-push.lock');
  writeFileSync(pidFile, '1');
  giveToPostgres(pidFile);

  const failedBefore = (await archiverStats(pg)).failed_count;
  await pgbench(pg, ['-c', '2', '-t', '300', '-n']);
  const last = await switchWal(pg);
  const stats = await waitArchived(pg, last, 60_000);
  assert.equal(stats.failed_count, failedBefore, 'archived at the first try, no wal-push timed out');
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.deepEqual(info.wal.timelines[info.wal.timelines.length - 1].gaps, []);
});
