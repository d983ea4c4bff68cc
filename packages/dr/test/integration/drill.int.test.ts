// fsdr drill verify on real PostgreSQL 15: on a good repository every step passes and the restored
// copy has the source's rows; with one flipped byte in a backup bundle the drill fails naming the
// object, and its evidence (drill show) records the failure. Evidence is an encoded repository object.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, giveToPostgres, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let backupId: string;
let work: string;

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2, bundleSizeMiB: 4 }, drill: { writer: { enabled: true, seconds: 1 } } }));
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
  await pgbench(pg, ['-i', '-s', '1', '-q']);
  await pg.query("INSERT INTO status (marker) SELECT 'before-' || g FROM generate_series(1, 250) g");
  backupId = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'])).id;
  await pg.query("INSERT INTO status (marker) SELECT 'after-' || g FROM generate_series(1, 70) g");
  await waitArchived(pg, await switchWal(pg));
  work = join(ws.dir, 'drill-work');
  mkdirSync(work);
  giveToPostgres(work);
});

after(async () => {
  await pg?.stop();
  ws?.cleanup();
});

test('drill verify on a good repository passes every step; the copy has the source\'s rows; evidence is listed', async () => {
  const r = await runFsdr(['--config', cfg, 'drill', 'verify', '--work-dir', work, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.result, 'ok');
  assert.equal(e.kind, 'verify');
  assert.deepEqual(e.steps.map((s: { name: string }) => s.name), ['verify', 'restore', 'rpo', 'amcheck', 'row-counts', 'recovered-point', 'golden', 'cleanup']);
  // No stack.start: the golden step says why it did not run, in the evidence and in drill show.
  assert.match(e.checks.golden.skipped, /stack\.start is not configured/);
  // RPO measured by the writer (on the source's database postgres), beside the archive's exposure.
  assert.equal(typeof e.rpoSeconds, 'number');
  assert.equal(e.objectives.rpo.measuredSeconds, e.rpoSeconds);
  assert.equal(e.objectives.rpo.met, e.rpoSeconds <= 300);
  for (const s of e.steps) {
    assert.equal(s.ok, true, `step ${s.name}: ${JSON.stringify(s.detail)}`);
    assert.equal(typeof s.seconds, 'number');
  }
  const status = e.checks.rowCounts.tables.find((t: { database: string; table: string }) => t.database === 'postgres' && t.table === 'public.status');
  const source = (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM status')).rows[0]!.n;
  assert.equal(source, 320);
  assert.deepEqual(status, { database: 'postgres', table: 'public.status', rows: source, method: 'count' }, 'WAL after the backup was replayed');
  const accounts = e.checks.rowCounts.tables.find((t: { table: string }) => t.table === 'public.pgbench_accounts');
  assert.equal(accounts.rows, 100_000);
  assert.equal(e.checks.restore.backup, backupId);
  assert.match(e.postgresVersion, /^15\./);
  assert.ok(e.rtoSeconds > 0 && e.rtoSeconds < 600);
  assert.ok(e.rpoExposureSeconds >= 0);
  assert.equal(e.checks.recoveredPoint.archiveEnd.timeline, 1);
  assert.deepEqual(readdirSync(work), [], 'the temporary instance is stopped and removed');

  // The evidence is an encoded object under drills/: not plaintext, read back through the catalog.
  const raw = readFileSync(join(ws.repoDir, 'drills', `${e.id}.json`));
  assert.ok(!raw.includes(Buffer.from('"steps"')), 'evidence is encrypted like every object');
  const list = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json']));
  assert.deepEqual(list.map((d: { id: string; result: string }) => [d.id, d.result]), [[e.id, 'ok']]);
  assert.deepEqual(JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'show', e.id, '--json'])), e);
  const text = await fsdrOk(['--config', cfg, 'drill', 'show', e.id]);
  assert.match(text, /PASSED/);
  assert.match(text, /skip\s+golden .*stack\.start is not configured/);
  // The copy never archived: the repository has no timeline 2.
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.deepEqual(info.wal.timelines.map((t: { timeline: number }) => t.timeline), [1]);
});

test('a flipped byte in a backup bundle fails the drill naming the object; the evidence records the failure', async () => {
  const dir = join(ws.repoDir, 'backups', backupId);
  const bundle = readdirSync(dir).filter((f) => f.startsWith('bundle-')).sort().pop()!;
  const path = join(dir, bundle);
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0x10;
  writeFileSync(path, bytes);
  const key = `backups/${backupId}/${bundle}`;

  const r = await runFsdr(['--config', cfg, 'drill', 'verify', '--work-dir', work, '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`failed at step verify \\(${key}\\)`));
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const e = JSON.parse(r.stdout);
  assert.equal(e.result, 'failed');
  assert.deepEqual(readdirSync(work), [], 'a failed drill leaves nothing behind either');

  const shown = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'show', e.id, '--json']));
  assert.equal(shown.result, 'failed');
  assert.equal(shown.failure.step, 'verify');
  assert.equal(shown.failure.object, key);
  const steps = Object.fromEntries(shown.steps.map((s: { name: string; ok: boolean }) => [s.name, s]));
  assert.equal(steps.verify.ok, false);
  assert.equal(steps.restore.ok, false, 'restore refuses the damaged bundle too');
  assert.match(steps.restore.detail.error, new RegExp(`object ${key}`));
  assert.equal(steps.amcheck.detail.skipped, 'the restore failed');
  const list = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json']));
  assert.deepEqual(list.map((d: { result: string }) => d.result), ['ok', 'failed']);
  assert.match(await fsdrOk(['--config', cfg, 'drill', 'list']), new RegExp(`FAILED .*verify: ${key}`));
});
