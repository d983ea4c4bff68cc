// Async recovery under a real PostgreSQL 15 (archive.async): the long-lived prefetcher keeps
// PostgreSQL fed and answers what restore_command asks it, so a recovery of many segments starts
// Node (`fsdr wal-fetch`, one server-log line per start) only a few times; it exits once recovery has ended; killed with -9 mid-run the
// recovery still completes exactly through the fallback; and an object swapped in the middle of
// the archive still fails the recovery loudly, naming the segment, with nothing promoted; and
// `fsdr restore` itself starts the prefetcher before the instance, so no call starts Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startPostgres, waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, giveToPostgres, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { queryPort, stopRestored } from '../helpers/restored.js';
import { lockHeld } from '../../src/commands/wal-push/spool-lock.js';
import { restoreLogFile } from '../../src/commands/restore/restore.js';
import { findBinDir } from '../../src/postgres/binaries.js';
import { startInstance, waitForPromotion } from '../../src/postgres/instance.js';
import { serverUser } from '../../src/postgres/os-user.js';

const SEGMENTS = 32;
const FILLER = `SELECT count(*)::int AS n, md5(string_agg(id || pad, ',' ORDER BY id)) AS s FROM filler`;
let ws: Workspace;
let pg: PostgresHandle;
let asyncCfg: string;
let spool: string;
let want: { n: number; s: string };
let segments: string[];
const restored: string[] = [];

const misses = (pgdata: string): string[] => readFileSync(restoreLogFile(pgdata), 'utf8').split('\n').filter((l) => l.includes('was not prefetched'));

async function restoreTo(name: string): Promise<{ pgdata: string; port: number }> {
  const pgdata = join(ws.dir, name);
  restored.push(pgdata);
  return { pgdata, port: await freePort() };
}

before(async () => {
  ws = makeWorkspace();
  spool = join(ws.dir, 'spool');
  const doc = (async: boolean, cluster: object) => ({
    cluster, repositories: { primary: { type: 'fs', path: ws.repoDir } }, encryption: { masterKey: `file:${ws.keyFile}` },
    archive: { async, processes: 2, spoolPath: spool, prefetch: { depth: 8 } },
  });
  const unused = { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' };
  // PostgreSQL archives with the plain wal-push; the restores fetch in async mode.
  const syncCfg = ws.writeConfig(doc(false, unused), 'sync.yaml');
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(syncCfg), max_wal_size: '2GB' } });
  ws.writeConfig(doc(false, { connection: pg.connectionString, pgdata: pg.pgdata }), 'sync.yaml');
  asyncCfg = ws.writeConfig(doc(true, { connection: pg.connectionString, pgdata: pg.pgdata }), 'async.yaml');
  await fsdrOk(['--config', syncCfg, 'init']);
  await pg.query('CREATE TABLE filler (id bigint PRIMARY KEY, pad text NOT NULL)');
  await fsdrOk(['--config', syncCfg, 'backup', '--type', 'full']);
  const lsn0 = (await pg.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
  for (let id = 0; ; id += 20000) {
    await pg.query(`INSERT INTO filler SELECT g, repeat(md5(g::text), 8) FROM generate_series(${id + 1}, ${id + 20000}) g`);
    const b = Number((await pg.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS b', [lsn0])).rows[0]!.b);
    if (b >= SEGMENTS * 16 * 1048576) break;
  }
  want = (await pg.query<{ n: number; s: string }>(FILLER)).rows[0]!;
  await waitArchived(pg, await switchWal(pg), 300_000);
  segments = readdirSync(join(ws.repoDir, 'wal', '0000000100000000')).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort();
  assert.ok(segments.length >= SEGMENTS, `archived: ${segments.length}`);
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test(`a recovery of ${SEGMENTS}+ segments starts Node only a few times, is exact, and its prefetcher exits with the recovery`, async () => {
  const { pgdata, port } = await restoreTo('restored-fast');
  await fsdrOk(['--config', asyncCfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest', '--no-start']);
  // restore_command's fallback (the full wal-fetch: a Node start) through a wrapper that logs each call.
  const auto = join(pgdata, 'postgresql.auto.conf');
  const conf = readFileSync(auto, 'utf8');
  const m = /^restore_command = '(\S*fsdr-fetch\.sh (?:-w \d+ )?\S+ %f %p) (.*)'$/m.exec(conf);
  assert.ok(m, `the fast restore_command: ${conf}`);
  const starts = join(ws.dir, 'node-starts.log');
  const wrapper = join(ws.dir, 'fallback.sh');
  writeFileSync(wrapper, `#!/bin/sh\necho "$1" >> ${starts}\nexec ${m[2]} "$@"\n`, { mode: 0o755 });
  giveToPostgres(wrapper);
  writeFileSync(auto, conf.replace(m[0], `restore_command = '${m[1]} ${wrapper}'`));
  const binDir = findBinDir(15);
  await startInstance(binDir, pgdata, restoreLogFile(pgdata), serverUser());
  await waitForPromotion({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }, pgdata, restoreLogFile(pgdata), 600_000);
  assert.deepEqual((await queryPort<{ n: number; s: string }>(port, FILLER))[0], want);
  // The first history probe and segment (no prefetcher yet) and one or two while it starts;
  // then everything, the end of the archive, the re-read of the last segment and the history
  // probes at promotion included, comes through the prefetcher: never one per segment.
  const calls = readFileSync(starts, 'utf8').split('\n').filter(Boolean);
  assert.ok(calls.length <= 6, `${calls.length} Node starts for ${segments.length} segments: ${calls.join(' ')}`);
  assert.equal(misses(pgdata).length, calls.length, 'wal-fetch logs each of its starts');
  await waitUntil(async () => ((await lockHeld(spool, 'archive-get')) ? undefined : true), 30_000, 'the prefetcher to exit after promotion');
  assert.match(readFileSync(join(spool, 'archive-get.log'), 'utf8'), /segments prefetched, stopped \(recovery-ended\)/);
  await stopRestored(pgdata);
});

test('fsdr restore starts the prefetcher before the instance: not one restore_command call starts Node', async () => {
  const { pgdata, port } = await restoreTo('restored-launched');
  const r = await fsdrOk(['--config', asyncCfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest', '--json']);
  assert.equal(JSON.parse(r).started, true);
  assert.deepEqual((await queryPort<{ n: number; s: string }>(port, FILLER))[0], want);
  // The history probes at the start, the first segments, the end of the archive and the probes at
  // promotion: all answered by the prefetcher restore launched (wal-fetch logs each Node start).
  assert.deepEqual(misses(pgdata), []);
  await waitUntil(async () => ((await lockHeld(spool, 'archive-get')) ? undefined : true), 30_000, 'the prefetcher to exit after promotion');
  assert.match(readFileSync(join(spool, 'archive-get.log'), 'utf8'), /from [0-9A-F]{24}: \d+ segments prefetched, stopped \(recovery-ended\)\n$/);
  await stopRestored(pgdata);
});

test('a prefetcher killed with -9 mid-recovery: the recovery completes exactly through the fallback', async () => {
  const { pgdata, port } = await restoreTo('restored-killed');
  const run = runFsdr(['--config', asyncCfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest']);
  const inDir = join(spool, 'archive-in');
  // Once it has segments ready ahead of PostgreSQL (and others in flight), kill it.
  const pid = await waitUntil(async () => {
    if (!existsSync(join(inDir, 'prefetcher.pid'))) return undefined;
    if (!readdirSync(inDir).some((n) => /^[0-9A-F]{24}$/.test(n))) return undefined;
    return Number(readFileSync(join(inDir, 'prefetcher.pid'), 'utf8'));
  }, 120_000, 'the prefetcher to spool a segment');
  process.kill(pid, 'SIGKILL');
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await queryPort<{ n: number; s: string }>(port, FILLER))[0], want);
  await stopRestored(pgdata);
});

test('an object swapped in the middle of the archive fails the recovery loudly, naming the segment, and nothing is promoted', async () => {
  const victim = segments[Math.floor(segments.length / 2)]!;
  const dir = join(ws.repoDir, 'wal', '0000000100000000');
  const saved = join(ws.dir, `${victim}.saved`);
  copyFileSync(join(dir, victim), saved);
  // Another authentic segment's object under this name: it fails authentication (bound to its name).
  copyFileSync(join(dir, segments[Math.floor(segments.length / 2) + 1]!), join(dir, victim));
  try {
    const { pgdata, port } = await restoreTo('restored-tampered');
    const r = await runFsdr(['--config', asyncCfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest']);
    assert.notEqual(r.code, 0, 'the restore failed');
    const log = existsSync(restoreLogFile(pgdata)) ? readFileSync(restoreLogFile(pgdata), 'utf8') : '';
    assert.match(`${r.stderr}\n${log}`, new RegExp(victim), 'the segment is named');
    await assert.rejects(queryPort(port, 'SELECT 1'), 'no instance was left running (and none was promoted)');
  } finally {
    renameSync(saved, join(dir, victim));
  }
});
