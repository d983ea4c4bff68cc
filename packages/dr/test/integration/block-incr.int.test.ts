// Block-level incremental (issue 12 item 5) on a real cluster with data checksums: a full backup
// of a table of a few hundred MB, ~1 % of its pages updated (scattered), an incremental that stores
// at most 5 % of the full; the incremental restores bit-identical (files compared with the stopped
// source) and recovers to the same rows, clean under pg_amcheck and pg_checksums; a missing or
// tampered bundle the chain reads fails the restore by name and leaves nothing behind; a second
// incremental assembles the table from all three backups, and retention keeps the chain; one
// killed half-way leaves nothing the next one reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { freePort, waitUntil } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { asPostgres, FSDR_BIN, fsdrOk, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { amcheck, queryPort, stopRestored } from '../helpers/restored.js';
import { loadConfig } from '../../src/config/load.js';
import { runRestore } from '../../src/commands/restore/restore.js';
import { runVerify } from '../../src/commands/verify/verify.js';
import { runExpire } from '../../src/commands/expire/expire.js';
import { findBinDir } from '../../src/postgres/binaries.js';
import { stopInstance } from '../../src/postgres/instance.js';
import { serverUser } from '../../src/postgres/os-user.js';
import type { FsdrError } from '../../src/errors.js';
import type { BackupManifest } from '../../src/repository/manifest.js';
import { Repository } from '../../src/repository/repository.js';
import { backupBlockMapKey, backupBundleKey } from '../../src/repository/layout.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
const restored: string[] = [];
let full: { id: string };
let incr: { id: string; blockFiles?: number; blockNewBytes?: number };
let sourceSum: { n: number; sum: string };

const SUM_SQL = `SELECT count(*)::int AS n, md5(string_agg(id || ':' || pad, ',' ORDER BY id)) AS sum FROM big`;

/** Bytes a backup put in the repository: its bundles and its manifest, as stored (encoded). */
function storedBytes(id: string): number {
  const dir = join(ws.repoDir, 'backups', id);
  return readdirSync(dir).reduce((a, n) => a + statSync(join(dir, n)).size, 0);
}

async function manifestOf(id: string): Promise<BackupManifest> {
  const repo = await Repository.open(loadConfig(cfg), 'primary');
  try {
    return await repo.backups.read(id);
  } finally {
    await repo.close();
  }
}

async function tablePages(): Promise<number> {
  return Number((await pg.query<{ p: string }>(`SELECT pg_relation_size('big') / 8192 AS p`)).rows[0]!.p);
}

/**
 * One row (tuple `tuple`) updated, the same length, on each of ~1 % of the table's pages,
 * scattered by a hash of the page number (`salt` picks other pages); then VACUUM, so reading the
 * table later changes no page, and the rows' checksum before a CHECKPOINT.
 */
async function changeOnePercent(tuple: number, salt: number): Promise<{ changed: number; sum: { n: number; sum: string } }> {
  const pages = await tablePages();
  const changed = (await pg.query(`UPDATE big SET pad = md5(pad) || substr(pad, 33) WHERE ctid = ANY (ARRAY(
    SELECT format('(%s,${tuple})', g)::tid FROM generate_series(0, ${pages - 1}) g WHERE abs(hashint4(g + ${salt})) % 100 = 0))`)).rowCount!;
  await pg.query('VACUUM big');
  const sum = (await pg.query<{ n: number; sum: string }>(SUM_SQL)).rows[0]!;
  await pg.query('CHECKPOINT');
  return { changed, sum };
}

function restoreOpts(pgdata: string, port: number, start: boolean) {
  restored.push(pgdata);
  return { pgdata, port, target: { kind: 'immediate' } as const, backup: incr.id, start, archive: false, set: {}, processes: 2, timeoutMs: 120_000, quiet: true };
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2, bundleSizeMiB: 16 } }, { autovacuum: false, shared_buffers: '64MB' }, { initdbArgs: ['--data-checksums'] }));
  // fillfactor 90: an updated row stays on its page (HOT), so one row updated on 1 % of the pages changes 1 % of them.
  await pg.query('CREATE TABLE big (id int PRIMARY KEY, pad text NOT NULL) WITH (fillfactor = 90)');
  await pg.query(`INSERT INTO big SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, 1600000) i`);
  // Hint bits and freezing now, so reading the table later changes no page the test did not change.
  await pg.query('VACUUM (FREEZE) big');
  await pg.query('CHECKPOINT');
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('an incremental after ~1 % of pages changed stores ≤ 5 % of the full backup', async (t) => {
  const pages = await tablePages();
  assert.ok(pages * 8192 > 250 * 1048576, `table of ${pages} pages`);
  full = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'full', '--json']));
  const { changed, sum } = await changeOnePercent(1, 0);
  assert.ok(changed > pages * 0.008 && changed < pages * 0.012, `${changed} of ${pages} pages updated`);
  sourceSum = sum;
  incr = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'incr', '--json']));

  const ratio = storedBytes(incr.id) / storedBytes(full.id);
  t.diagnostic(`${changed} of ${pages} pages changed; full stored ${storedBytes(full.id)} bytes, incremental ${storedBytes(incr.id)} (${(ratio * 100).toFixed(2)} %)`);
  assert.ok(ratio <= 0.05, `incremental stored ${storedBytes(incr.id)} bytes, ${(ratio * 100).toFixed(2)} % of the full's ${storedBytes(full.id)}`);
  assert.ok(incr.blockFiles! >= 1, 'the table is block-mapped');
  const m = await manifestOf(incr.id);
  assert.ok(m.references.includes(full.id), 'retention keeps the full backup the blocks live in');
  const rel = (await pg.query<{ p: string }>(`SELECT pg_relation_filepath('big') AS p`)).rows[0]!.p;
  const table = m.files.filter((f) => f.path === rel);
  assert.ok(table.some((f) => f.backup === full.id) && table.some((f) => f.backup === incr.id), 'the table is blocks of both backups');
  assert.ok(table.filter((f) => f.backup === incr.id).reduce((a, f) => a + f.size, 0) < pages * 8192 * 0.04, 'only the changed blocks stored');

  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  const shown = info.backups.find((b: { id: string }) => b.id === incr.id);
  assert.deepEqual(shown.references, [full.id, incr.id].sort());
  assert.equal(shown.blocks.files, incr.blockFiles);
  const report = await runVerify(loadConfig(cfg), { backup: incr.id });
  assert.deepEqual(report.faults, []);

  // The block digests are in map objects, not the manifest; verify checks each one.
  assert.ok(table.every((f) => f.blocks === undefined && f.blockMap?.backup === incr.id), 'each run points into a map of the incremental');
  const mapFile = join(ws.repoDir, backupBlockMapKey(incr.id, table[0]!.blockMap!.bundle));
  const original = readFileSync(mapFile);
  const bad = Buffer.from(original);
  bad[Math.floor(bad.length / 2)]! ^= 0x01;
  writeFileSync(mapFile, bad);
  try {
    const damaged = await runVerify(loadConfig(cfg), { backup: incr.id });
    assert.deepEqual(damaged.faults.map((f) => f.object), [backupBlockMapKey(incr.id, table[0]!.blockMap!.bundle)]);
  } finally {
    writeFileSync(mapFile, original);
  }
});

test('the incremental restores bit-identical, recovers the same rows, clean under pg_amcheck and pg_checksums', async () => {
  const files = join(ws.dir, 'incr-files');
  await runRestore(loadConfig(cfg), restoreOpts(files, await freePort(), false));
  // Every block-mapped file as the stopped source has it (nothing wrote to them after the backup).
  const mapped = [...new Set((await manifestOf(incr.id)).files.filter((f) => f.blockMap !== undefined).map((f) => f.path))];
  await pg.stopServer('fast');
  try {
    for (const p of mapped) assert.ok(readFileSync(join(files, p)).equals(readFileSync(join(pg.pgdata, p))), `${p} differs from the source`);
  } finally {
    await pg.start();
  }

  const pgdata = join(ws.dir, 'incr-started');
  const port = await freePort();
  await runRestore(loadConfig(cfg), restoreOpts(pgdata, port, true));
  assert.deepEqual((await queryPort(port, SUM_SQL))[0], sourceSum);
  const check = amcheck(port);
  assert.equal(check.code, 0, check.output);
  await stopInstance(findBinDir(15), pgdata, serverUser(), 'fast');
  const sums = spawnSync(join(findBinDir(15), 'pg_checksums'), ['--check', '-D', pgdata], { encoding: 'utf8', ...asPostgres() });
  assert.equal(sums.status, 0, `${sums.stdout}${sums.stderr}`);
  assert.match(sums.stdout, /Bad checksums:\s+0/);
});

test('a tampered or missing bundle of the chain fails the restore by name, and nothing is left behind', async () => {
  const m = await manifestOf(incr.id);
  const bundleFile = (backup: string, bundle: number) => join(ws.repoDir, backupBundleKey(backup, bundle));
  const own = m.files.find((f) => f.backup === incr.id && f.blockMap !== undefined && f.size > 0)!;
  const theirs = m.files.find((f) => f.backup === full.id && f.blockMap !== undefined)!;

  for (const [what, path] of [['changed blocks', bundleFile(incr.id, own.bundle)], ['referenced blocks', bundleFile(full.id, theirs.bundle)]] as const) {
    const original = readFileSync(path);
    const bad = Buffer.from(original);
    const at = Math.floor(bad.length / 2);
    bad[at] = bad[at]! ^ 0x01;
    writeFileSync(path, bad);
    const pgdata = join(ws.dir, `tampered-${what.replace(' ', '-')}`);
    try {
      await assert.rejects(runRestore(loadConfig(cfg), restoreOpts(pgdata, await freePort(), false)), (e: FsdrError) => {
        assert.equal(e.code, 'FSDR_OBJECT_CORRUPT', e.message);
        assert.ok(e.message.includes(path.slice(ws.repoDir.length + 1)), e.message);
        if (what === 'referenced blocks') assert.match(e.message, new RegExp(`a bundle of backup ${full.id}, which incremental ${incr.id} reads`));
        return true;
      });
      assert.ok(!existsSync(pgdata) || readdirSync(pgdata).length === 0, 'nothing half-written stays');
      const report = await runVerify(loadConfig(cfg), { backup: incr.id });
      assert.ok(report.faults.some((f) => f.object === path.slice(ws.repoDir.length + 1)), JSON.stringify(report.faults));
    } finally {
      writeFileSync(path, original);
    }
  }

  const gone = bundleFile(full.id, theirs.bundle);
  renameSync(gone, `${gone}.away`);
  const pgdata = join(ws.dir, 'missing-bundle');
  try {
    await assert.rejects(runRestore(loadConfig(cfg), restoreOpts(pgdata, await freePort(), false)), (e: FsdrError) => {
      assert.equal(e.code, 'FSDR_BACKUP_BUNDLE_MISSING', e.message);
      assert.match(e.message, new RegExp(`backup ${full.id}'s bundle`));
      return true;
    });
    assert.ok(!existsSync(pgdata), 'refused before writing');
  } finally {
    renameSync(`${gone}.away`, gone);
  }
});

test('a second incremental reads blocks of all three backups, restores to the same rows, and retention keeps the chain', async () => {
  // Other pages this time (and a few of the same): blocks changed only in the first incremental stay there.
  const { sum } = await changeOnePercent(2, 7);
  assert.notDeepEqual(sum, sourceSum);
  const second = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'incr', '--json'])) as { id: string; prior: string };
  assert.equal(second.prior, incr.id);
  const m = await manifestOf(second.id);
  const rel = (await pg.query<{ p: string }>(`SELECT pg_relation_filepath('big') AS p`)).rows[0]!.p;
  assert.deepEqual([...new Set(m.files.filter((f) => f.path === rel).map((f) => f.backup))].sort(), [full.id, incr.id, second.id].sort(), 'the table is assembled from the whole chain');
  assert.deepEqual(m.references, [full.id, incr.id, second.id].sort());

  const pgdata = join(ws.dir, 'second-started');
  const port = await freePort();
  await runRestore(loadConfig(cfg), { ...restoreOpts(pgdata, port, true), backup: second.id });
  assert.deepEqual((await queryPort(port, SUM_SQL))[0], sum);
  const check = amcheck(port);
  assert.equal(check.code, 0, check.output);
  await stopRestored(pgdata);

  // Long after all three ended, retention keeps only the newest backup and what it reads: all of them.
  const plan = await runExpire(loadConfig(cfg), { dryRun: true, now: new Date(Date.now() + 400 * 86_400_000) });
  assert.deepEqual(plan.keepBackups, [full.id, incr.id, second.id].sort());
  assert.deepEqual(plan.expireBackups, []);
});

test('kill -9 of a block incremental half-way leaves no backup; the next one reads the same chain and restores exactly', async () => {
  const { sum } = await changeOnePercent(3, 11);
  const dirs = () => readdirSync(join(ws.repoDir, 'backups')).sort();
  const before = dirs();
  const child = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'backup', '--type', 'incr'], { stdio: 'ignore' });
  const killed = await waitUntil(async () => {
    const fresh = dirs().find((d) => !before.includes(d));
    return fresh && readdirSync(join(ws.repoDir, 'backups', fresh)).filter((f) => f.startsWith('bundle-')).length >= 2 ? fresh : undefined;
  }, 120_000, 'the incremental to be half-way');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(existsSync(join(ws.repoDir, 'backups', killed!, 'manifest.json')), false, 'killed before its manifest');
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.ok(!info.backups.some((b: { id: string }) => b.id === killed), 'the killed backup is not listed');

  await new Promise((r) => setTimeout(r, 1100)); // backup ids have one-second resolution
  const next = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'incr', '--json'])) as { id: string; prior: string };
  assert.notEqual(next.id, killed);
  assert.ok(!(await manifestOf(next.id)).references.includes(killed!), 'nothing of the killed run is read');
  const pgdata = join(ws.dir, 'after-kill');
  const port = await freePort();
  await runRestore(loadConfig(cfg), { ...restoreOpts(pgdata, port, true), backup: next.id });
  assert.deepEqual((await queryPort(port, SUM_SQL))[0], sum);
  await stopRestored(pgdata);
});
