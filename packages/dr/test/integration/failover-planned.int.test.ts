// Planned switchover (fsdr failover --planned): a writer commits continuously and logs every
// acknowledged commit client-side; the switchover stops writes on the primary, archives and
// copies its last segment, waits for the standby to replay it, then promotes. Zero loss: every
// acknowledged commit is on the new primary; the old one is fenced and read-only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { startRegion, stopRegion, writeRegionConfig, type Region } from '../helpers/regions.js';
import { amcheck, queryPort, stopRestored } from '../helpers/restored.js';

let ws: Workspace;
let eu: Region;
let us: Region;
let primary: PostgresHandle;
let euCfg: string;
let usCfg: string;
let usPort: number;
let usPgdata: string;

before(async () => {
  ws = makeWorkspace();
  [eu, us] = await Promise.all([startRegion('eu'), startRegion('us')]);
  usPort = await freePort();
  usPgdata = join(ws.dir, 'us-pg');
  us.cluster = { connection: `postgres://postgres@127.0.0.1:${usPort}/postgres`, pgdata: usPgdata };
  euCfg = writeRegionConfig(ws, eu, eu, us);
  // wal_log_hints: failback may rewind the old primary instead of restoring it afresh.
  primary = await startPostgres({ settings: { wal_level: 'replica', wal_log_hints: 'on', archive_mode: 'on', archive_command: archiveCommand(euCfg, eu.moto.env) } });
  eu.cluster = { connection: primary.connectionString, pgdata: primary.pgdata };
  euCfg = writeRegionConfig(ws, eu, eu, us);
  usCfg = writeRegionConfig(ws, us, eu, us);
  await primary.query('CREATE TABLE commit_log (id int PRIMARY KEY)');
  await fsdrOk(['--config', euCfg, 'init'], eu.moto.env);
  await fsdrOk(['--config', euCfg, 'backup'], eu.moto.env);
  await waitArchived(primary, await switchWal(primary));
  await fsdrOk(['--config', euCfg, 'replicate'], eu.moto.env);
  await fsdrOk(['--config', usCfg, 'standby', 'start'], eu.moto.env);
});

after(async () => {
  await stopRestored(usPgdata).catch(() => undefined);
  await stopRestored(primary.pgdata).catch(() => undefined);
  await primary?.stop().catch(() => undefined);
  await Promise.all([stopRegion(eu), stopRegion(us)]);
  ws?.cleanup();
});

test('planned switchover under a continuous writer: zero acknowledged commits lost, roles reversed, the old primary fenced and read-only', async (t) => {
  const acked: number[] = [];
  let refused = '';
  let stop = false;
  const writer = (async () => {
    const c = new pg.Client({ connectionString: primary.connectionString });
    c.on('error', () => undefined); // the switchover ends this session: reported through the query
    await c.connect();
    for (let id = 1; !stop; id++) {
      try {
        await c.query('INSERT INTO commit_log (id) VALUES ($1)', [id]);
        acked.push(id);
      } catch (err) {
        refused = (err as Error).message;
        break;
      }
    }
    await c.end().catch(() => undefined);
  })();
  await new Promise((r) => setTimeout(r, 1500));
  const r = await runFsdr(['--config', usCfg, 'failover', '--to', 'us', '--planned', '--confirm', '--json'], eu.moto.env);
  stop = true;
  await writer;
  const report = JSON.parse(r.stdout);
  assert.equal(report.result, 'ok', r.stderr + JSON.stringify(report.failure ?? report.steps));
  assert.deepEqual(report.steps.map((s: { name: string }) => s.name), ['stop-writes', 'replicate', 'fence', 'catch-up', 'promote', 'archive-history']);
  assert.ok(acked.length > 10, `the writer committed (${acked.length})`);
  t.diagnostic(`planned: RTO ${report.rtoSeconds}s; steps ${report.steps.map((x: { name: string; seconds: number }) => `${x.name} ${x.seconds}s`).join(', ')}; ${acked.length} commits acknowledged, 0 lost`);
  assert.match(refused, /terminat|read-only|not queryable/, 'the writer was stopped by the switchover (its session ended)');
  const have = new Set((await queryPort<{ id: number }>(usPort, 'SELECT id FROM commit_log')).map((x) => x.id));
  assert.deepEqual(acked.filter((id) => !have.has(id)), [], 'every acknowledged commit is on the new primary');
  assert.equal((await queryPort<{ r: boolean }>(usPort, 'SELECT pg_is_in_recovery() AS r'))[0]!.r, false);
  await queryPort(usPort, 'INSERT INTO commit_log (id) VALUES (1000000)');
  // Roles reversed: the old primary refuses writes and its fsdr writes are fenced.
  await assert.rejects(primary.query('INSERT INTO commit_log (id) VALUES (-1)'), /read-only transaction/);
  const b = await runFsdr(['--config', euCfg, 'backup'], eu.moto.env);
  assert.match(b.stderr, /backup refused: region eu is fenced; fence epoch 1/);
  const st = JSON.parse(await fsdrOk(['--config', usCfg, 'fence', 'status', '--json'], eu.moto.env));
  assert.deepEqual([st.self, st.writer, st.fenced], ['us', 'us', false]);
  // Replication reverses with the roles: the us node replicates its repository into eu's.
  const rep = JSON.parse(await fsdrOk(['--config', usCfg, 'replicate', '--json'], eu.moto.env));
  assert.ok(rep[0].copied > 0, 'the new primary\'s timeline copied into the old region\'s bucket');
});

test('failback: the old primary re-seeded as the standby from the new primary\'s data, then switched back under a writer with zero loss; roles and replication restored', async () => {
  const usConn = `postgres://postgres@127.0.0.1:${usPort}/postgres`;
  const dry = await runFsdr(['--config', euCfg, 'failback'], eu.moto.env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /nothing changed: add --confirm/);
  assert.equal((await queryPort<{ r: boolean }>(usPort, 'SELECT pg_is_in_recovery() AS r'))[0]!.r, false);

  const acked: number[] = [];
  let stop = false;
  const writer = (async () => {
    const c = new pg.Client({ connectionString: usConn });
    c.on('error', () => undefined);
    await c.connect();
    for (let id = 2_000_000; !stop; id++) {
      try {
        await c.query('INSERT INTO commit_log (id) VALUES ($1)', [id]);
        acked.push(id);
      } catch {
        break;
      }
    }
    await c.end().catch(() => undefined);
  })();
  const r = await runFsdr(['--config', euCfg, 'failback', '--confirm', '--switchover', '--json'], eu.moto.env);
  stop = true;
  await writer;
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = JSON.parse(r.stdout);
  // Only the switchover's shutdown checkpoint lies past the fork: rewound in place, not restored.
  assert.equal(out.method, 'rewind', JSON.stringify(out.rewind));
  assert.deepEqual([out.rewind.divergentCommits, out.aside], [0, undefined], JSON.stringify(out.rewind));
  assert.equal(out.standby.backup, '(pg_rewind)');
  assert.equal(out.switchover.result, 'ok', JSON.stringify(out.switchover.failure));
  assert.equal(out.switchover.plan.nextEpoch, 2);
  assert.ok(acked.length > 10, `the writer committed on us (${acked.length})`);
  const have = new Set((await primary.query<{ id: number }>('SELECT id FROM commit_log')).rows.map((x) => x.id));
  assert.deepEqual(acked.filter((id) => !have.has(id)), [], 'every acknowledged commit on us is on eu again');
  assert.ok(have.has(1000000), 'the write made on us after the first switchover came back');
  const chk = amcheck(primary.port);
  assert.equal(chk.code, 0, `pg_amcheck on the rewound, switched-back primary: ${chk.output}`);
  await primary.query('INSERT INTO commit_log (id) VALUES (3000000)');
  await assert.rejects(queryPort(usPort, 'INSERT INTO commit_log (id) VALUES (-2)'), /read-only transaction/);
  const st = JSON.parse(await fsdrOk(['--config', euCfg, 'fence', 'status', '--json'], eu.moto.env));
  assert.deepEqual([st.writer, st.top.epoch, st.fenced], ['eu', 2, false]);
  assert.match((await runFsdr(['--config', usCfg, 'backup'], eu.moto.env)).stderr, /backup refused: region us is fenced; fence epoch 2/);
  // Replication runs eu → us again.
  await fsdrOk(['--config', euCfg, 'backup'], eu.moto.env);
  assert.ok(JSON.parse(await fsdrOk(['--config', euCfg, 'replicate', '--json'], eu.moto.env))[0].copied > 0);
});
