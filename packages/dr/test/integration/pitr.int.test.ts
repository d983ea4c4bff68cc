// Base backups and point-in-time restore on real PostgreSQL 15: marker rows before and after each
// target (as pgBackRest's integration tests do), restore to a time and to latest on new instances,
// an incremental chain equal to a full backup, and a second timeline restored again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived, pgbench } from '../helpers/pg-load.js';
import { CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { freePort, waitUntil } from '@featuresignals/testkit';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
const restored: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function mark(marker: string): Promise<void> {
  await pg.query('INSERT INTO status (marker) VALUES ($1)', [marker]);
}

async function content(port?: number): Promise<{ n: number; sum: string }> {
  if (port === undefined) return (await pg.query<{ n: number; sum: string }>(CONTENT_SQL)).rows[0]!;
  return (await queryPort<{ n: number; sum: string }>(port, CONTENT_SQL))[0]!;
}

async function restore(name: string, args: string[]): Promise<{ port: number; result: any }> {
  const pgdata = join(ws.dir, name);
  restored.push(pgdata);
  const port = await freePort();
  const out = await fsdrOk(['--config', cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--json', ...args]);
  return { port, result: JSON.parse(out) };
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2, bundleSizeMiB: 4 } }, { archive_timeout: 60 }));
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL, at timestamptz DEFAULT clock_timestamp())');
  await pgbench(pg, ['-i', '-s', '3', '-q']);
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('restore to a time gives exactly the rows committed at or before it; latest gives everything', async () => {
  await mark('before-full');
  const full = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json']));
  assert.equal(full.type, 'full');
  await mark('after-full-1');
  await mark('after-full-2');
  await sleep(1100);
  const T = (await pg.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t.toISOString();
  const atT = await content();
  await sleep(1100);
  await mark('after-target-1');
  await mark('after-target-2');
  const all = await content();
  const last = await switchWal(pg);
  await waitArchived(pg, last);

  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.equal(info.backups.length, 1);
  assert.equal(info.recoveryWindows.length, 1);
  assert.ok(info.recoveryWindows[0].earliest <= T && T <= info.recoveryWindows[0].latest);

  const byTime = await restore('pitr-time', ['--target-time', T]);
  assert.equal(byTime.result.backup, full.id);
  assert.equal(byTime.result.recoveredTo.timeline, 2, 'promotion at the target opens a new timeline');
  assert.deepEqual(await content(byTime.port), atT);
  assert.equal(atT.n, 3);

  const latest = await restore('pitr-latest', ['--latest']);
  assert.deepEqual(await content(latest.port), all);
  assert.equal(all.n, 5);
});

test('an incremental chain (full + 2 incr) restores to the same content as a full backup at that point', async () => {
  // Only the small status table changes between these backups: the pgbench tables are reused.
  await mark('before-incr-1');
  const i1 = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'incr', '--json']));
  await mark('before-incr-2');
  const i2 = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'incr', '--json']));
  assert.equal(i2.type, 'incr');
  assert.equal(i2.prior, i1.id);
  assert.ok(i2.newBytes < i2.bytes / 2, `incremental copied ${i2.newBytes} of ${i2.bytes} bytes`);
  const f2 = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--type', 'full', '--json']));
  const expected = await content();
  const expectedAccounts = (await pg.query('SELECT sum(abalance)::text AS s, count(*)::int AS n FROM pgbench_accounts')).rows[0];

  const fromIncr = await restore('incr-chain', ['--backup', i2.id, '--target-immediate']);
  const fromFull = await restore('full-same-point', ['--backup', f2.id, '--target-immediate']);
  for (const r of [fromIncr, fromFull]) {
    assert.deepEqual(await content(r.port), expected);
    assert.deepEqual((await queryPort(r.port, 'SELECT sum(abalance)::text AS s, count(*)::int AS n FROM pgbench_accounts'))[0], expectedAccounts);
  }
});

test('timelines: restore, promote, write, archive on timeline 2, then restore again to latest on timeline 2', async () => {
  const first = await restore('tl2-source', ['--latest', '--archive']); // this copy becomes the primary: it archives timeline 2
  assert.equal(first.result.recoveredTo.timeline, 2);
  await queryPort(first.port, "INSERT INTO status (marker) VALUES ('on-timeline-2')");
  const seg = (await queryPort<{ f: string }>(first.port, 'SELECT pg_walfile_name(pg_switch_wal()) AS f'))[0]!.f;
  assert.ok(seg.startsWith('00000002'));
  await waitUntil(async () => {
    const r = (await queryPort<{ w: string | null }>(first.port, 'SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0]!;
    return r.w && r.w >= seg ? true : undefined;
  }, 60_000, 'timeline 2 archived');
  const expected = await content(first.port);
  await stopRestored(join(ws.dir, 'tl2-source'));

  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.ok(info.wal.historyFiles.includes('00000002.history'));
  assert.ok(info.wal.timelines.some((t: { timeline: number }) => t.timeline === 2));

  const again = await restore('tl2-again', ['--latest']);
  assert.equal(again.result.recoveredTo.timeline, 3);
  assert.deepEqual(await content(again.port), expected);
  assert.ok((await content(again.port)).n >= 1);
});
