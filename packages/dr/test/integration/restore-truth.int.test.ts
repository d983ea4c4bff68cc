// A restore tells the truth (issue 8): a hole in the archive fails verify and restore naming the
// segment; a copy restored with defaults writes nothing into the repository; a fork where two
// timelines continue is refused; three generations of restore → promote → backup → restore
// recover exactly; bad options are usage errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { freePort } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { loadConfig } from '../../src/config/load.js';
import { Repository } from '../../src/repository/repository.js';
import { measureExposure } from '../../src/agent/monitor.js';
import { AgentMetrics } from '../../src/agent/metrics.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
const restored: string[] = [];

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(`${relative(dir, p)}:${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

async function restoreArgs(name: string, args: string[], config = cfg): Promise<{ pgdata: string; port: number; run: Awaited<ReturnType<typeof runFsdr>> }> {
  const pgdata = join(ws.dir, name);
  restored.push(pgdata);
  const port = await freePort();
  const run = await runFsdr(['--config', config, 'restore', '--pgdata', pgdata, '--port', String(port), '--json', ...args]);
  return { pgdata, port, run };
}

async function content(port: number) {
  return (await queryPort<{ n: number; sum: string }>(port, CONTENT_SQL))[0]!;
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2, bundleSizeMiB: 4 } }));
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('bad restore options are usage errors (exit 2) that name the option', async () => {
  for (const bad of [['--port', 'abc'], ['--port', '70000'], ['--target-time', '12'], ['--target-timeline', 'x']]) {
    const r = await runFsdr(['--config', cfg, 'restore', '--pgdata', join(ws.dir, 'never'), ...bad]);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^fsdr: .*${bad[0]}`));
    assert.equal(existsSync(join(ws.dir, 'never')), false);
  }
  const unknown = await runFsdr(['--config', cfg, 'restore', '--pgdata', join(ws.dir, 'never'), '--frobnicate']);
  assert.equal(unknown.code, 2);
});

test('a copy restored with defaults archives nothing; a fork that continues is refused; each timeline restores exactly', async () => {
  await pg.query("INSERT INTO status (marker) VALUES ('base')");
  await fsdrOk(['--config', cfg, 'backup']);
  await pg.query("INSERT INTO status (marker) VALUES ('before-copy')");
  await waitArchived(pg, await switchWal(pg));

  const before = listing(ws.repoDir);
  const copy = await restoreArgs('copy', ['--latest']);
  assert.equal(copy.run.code, 0, copy.run.stderr);
  await queryPort(copy.port, "INSERT INTO status (marker) VALUES ('written-in-the-copy')");
  await queryPort(copy.port, 'SELECT pg_switch_wal()');
  await queryPort(copy.port, 'CHECKPOINT');
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(listing(ws.repoDir), before, 'the copy wrote into the production repository');
  assert.equal((await queryPort<{ a: string }>(copy.port, "SELECT current_setting('archive_mode') AS a"))[0]!.a, 'off');
  await stopRestored(copy.pgdata);

  // Now a copy that archives (as a wrongly configured drill would): timeline 2 appears, and
  // production keeps writing timeline 1 past the fork.
  const drill = await restoreArgs('drill', ['--latest', '--archive']);
  assert.equal(drill.run.code, 0, drill.run.stderr);
  await queryPort(drill.port, "INSERT INTO status (marker) VALUES ('drill-only')");
  const seg2 = (await queryPort<{ f: string }>(drill.port, 'SELECT pg_walfile_name(pg_switch_wal()) AS f'))[0]!.f;
  for (let i = 0; i < 240; i++) {
    const r = (await queryPort<{ w: string | null }>(drill.port, 'SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0]!;
    if (r.w && r.w >= seg2) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const drillContent = await content(drill.port);
  await stopRestored(drill.pgdata);
  await pg.query("INSERT INTO status (marker) VALUES ('production-after-fork')");
  await waitArchived(pg, await switchWal(pg));
  const production = (await pg.query<{ n: number; sum: string }>(CONTENT_SQL)).rows[0]!;

  const tree = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).timelineTree as Array<{ timeline: number; parent?: number; continues: boolean }>;
  assert.deepEqual(tree.filter((n) => n.continues).map((n) => n.timeline), [1, 2]);
  assert.equal(tree.find((n) => n.timeline === 2)!.parent, 1);
  assert.match(await fsdrOk(['--config', cfg, 'info']), /tl 2 +forked from tl 1 at [0-9A-F]+\/[0-9A-F]+, continues \(more than one timeline continues/);

  const ambiguous = await restoreArgs('ambiguous', ['--latest']);
  assert.equal(ambiguous.run.code, 1);
  assert.match(ambiguous.run.stderr, /more than one timeline continues.*timeline 1 .*timeline 2 \(forked from 1/);
  assert.equal(existsSync(ambiguous.pgdata), false);

  const t1 = await restoreArgs('tl1', ['--latest', '--target-timeline', '1']);
  assert.equal(t1.run.code, 0, t1.run.stderr);
  assert.deepEqual(await content(t1.port), production);
  const t2 = await restoreArgs('tl2', ['--latest', '--target-timeline', '2']);
  assert.equal(t2.run.code, 0, t2.run.stderr);
  assert.deepEqual(await content(t2.port), drillContent);
  await stopRestored(t1.pgdata);
  await stopRestored(t2.pgdata);
});

test('three generations of restore → promote → backup → restore recover exactly', async () => {
  let config = cfg;
  let timeline = '1';
  let port = pg.port;
  for (let gen = 1; gen <= 3; gen++) {
    await queryPort(port, 'INSERT INTO status (marker) VALUES ($1)', [`gen-${gen}-backed-up`]);
    const b = await runFsdr(['--config', config, 'backup', '--json']);
    assert.equal(b.code, 0, b.stderr);
    await queryPort(port, 'INSERT INTO status (marker) VALUES ($1)', [`gen-${gen}-after-backup`]);
    await new Promise((r) => setTimeout(r, 1100));
    const T = (await queryPort<{ t: Date }>(port, 'SELECT now() AS t'))[0]!.t.toISOString();
    const expected = await content(port);
    await new Promise((r) => setTimeout(r, 1100));
    await queryPort(port, 'INSERT INTO status (marker) VALUES ($1)', [`gen-${gen}-after-target`]);
    const seg = (await queryPort<{ f: string }>(port, 'SELECT pg_walfile_name(pg_switch_wal()) AS f'))[0]!.f;
    for (let i = 0; i < 240; i++) {
      const r = (await queryPort<{ w: string | null }>(port, 'SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0]!;
      if (r.w && r.w >= seg) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    // The new instance becomes the archiving primary of the next generation.
    const r = await restoreArgs(`gen-${gen}`, ['--target-time', T, '--target-timeline', timeline, '--archive'], config);
    assert.equal(r.run.code, 0, `generation ${gen}: ${r.run.stderr}`);
    const out = JSON.parse(r.run.stdout);
    assert.deepEqual(await content(r.port), expected, `generation ${gen}`);
    timeline = String(out.recoveredTo.timeline);
    port = r.port;
    config = ws.writeConfig({
      cluster: { connection: `postgres://postgres@127.0.0.1:${r.port}/postgres`, pgdata: r.pgdata },
      repositories: { primary: { type: 'fs', path: ws.repoDir } },
      encryption: { masterKey: `file:${ws.keyFile}` },
      backup: { processes: 2, bundleSizeMiB: 4 },
    }, `gen-${gen}.yaml`);
  }
});

test('a hole in the archive: verify and restore --latest fail naming the segment; --accept-gap recovers exactly up to it', async () => {
  const hws = makeWorkspace();
  const h = await archivingCluster(hws, {});
  try {
    await h.pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
    await fsdrOk(['--config', h.cfg, 'backup']);
    const segs: string[] = [];
    for (let i = 0; i < 4; i++) {
      await h.pg.query('INSERT INTO status (marker) VALUES ($1)', [`row-${i}`]);
      segs.push(await switchWal(h.pg));
    }
    await waitArchived(h.pg, segs[3]!);
    const missing = segs[1]!;
    const expected = (await h.pg.query<{ n: number; sum: string }>(`${CONTENT_SQL.replace('FROM status', "FROM status WHERE marker IN ('row-0')")}`)).rows[0]!;
    rmSync(join(hws.repoDir, 'wal', missing.slice(0, 16), missing));

    const v = await runFsdr(['--config', h.cfg, 'verify']);
    assert.equal(v.code, 1, v.stdout);
    assert.match(v.stdout, new RegExp(`FAULT wal timeline 1: segments ${missing}`));
    const info = JSON.parse(await fsdrOk(['--config', h.cfg, 'info', '--json']));
    assert.deepEqual(info.wal.timelines[0].gaps, [{ from: missing, to: missing }]);

    // The agent's monitor sees it too: the hole, and an exposure measured from before it.
    const cfgObj = loadConfig(h.cfg);
    const repo = await Repository.open(cfgObj);
    try {
      const e = await measureExposure(cfgObj, repo);
      assert.deepEqual(e.wal!.gaps.map((g) => [g.from, g.segments]), [[missing, 1]]);
      assert.equal(e.wal!.firstMissing, missing);
      assert.ok(e.walAgeSeconds! >= (Date.now() - e.wal!.recoverableUntil!.getTime()) / 1000 - 1);
      const metrics = new AgentMetrics();
      metrics.observe(e);
      const text = await metrics.registry.metrics();
      assert.match(text, /^fsdr_wal_gaps 1$/m);
      assert.match(text, /^fsdr_wal_missing_segments\{timeline="1"\} 1$/m);
      assert.match(text, /^fsdr_wal_recovery_blocked 1$/m);
    } finally {
      await repo.close();
    }

    const pgdata = join(hws.dir, 'gap');
    const port = await freePort();
    const r = await runFsdr(['--config', h.cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`WAL segment ${missing} is missing`));
    assert.equal(existsSync(pgdata), false, 'nothing written');

    const ok = await runFsdr(['--config', h.cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest', '--accept-gap', '--json']);
    restored.push(pgdata);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(await content(port), expected);
  } finally {
    await stopRestored(join(hws.dir, 'gap'));
    await h.pg.stop();
    hws.cleanup();
  }
});
