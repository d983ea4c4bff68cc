// Regional failover through the real CLI, two regions on this machine: eu (primary: PostgreSQL,
// its bucket on its own moto behind a cuttable proxy, the FeatureSignals server) and us (its own
// bucket, filled by `fsdr replicate`, and a warm standby built from it alone), BIND for the zone.
// A client-side commit log measures what the unplanned failover loses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNamed, startPostgres, waitUntil, type NamedHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, FSDR_BIN, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { archiverStats, switchWal, waitArchived } from '../helpers/pg-load.js';
import { listVersions, s3Client } from '../helpers/s3.js';
import { startRegion, stopRegion, writeRegionConfig, type Region } from '../helpers/regions.js';
import { ADMIN_TOKEN, seedProject, startFeatureSignals, type FeatureSignals } from '../helpers/featuresignals.js';
import { queryPort, stopRestored } from '../helpers/restored.js';

const SERVER_MAIN = fileURLToPath(new URL('../../../../server/dist/src/main.js', import.meta.url));
const serverStart = { command: [process.execPath, SERVER_MAIN], env: { DATABASE_URL: '{{DATABASE_URL}}', FS_SCHEDULER: 'off', LOG_LEVEL: 'warn' }, secretEnv: { FS_ADMIN_TOKEN: 'env:FS_ADMIN_TOKEN' } };

let ws: Workspace;
let eu: Region;
let us: Region;
let pg: PostgresHandle;
let fs: FeatureSignals;
let named: NamedHandle;
let euCfg: string;
let usCfg: string;
let usPort: number;
let usPgdata: string;
let env: Record<string, string>;
let serverPid: number | undefined;
let warmPid: number | undefined;
let agentPort = 0;
let agent: ChildProcess | undefined;
/** Client-side commit log: id → when the commit was acknowledged. */
const committed = new Map<number, number>();
let nextId = 1;

async function commitRows(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = nextId++;
    await pg.query('INSERT INTO commit_log (id) VALUES ($1)', [id]);
    committed.set(id, Date.now());
  }
}

async function snapshot(r: Region): Promise<string[]> {
  return (await listVersions(s3Client(r.moto), r.bucket)).map((v) => `${v.Key} ${v.VersionId} ${v.Size}`).sort();
}

function writeConfigs(): void {
  const stackKeys = { prod: 'env:FS_PROD_KEY', staging: 'env:FS_STAGING_KEY' };
  const extra = {
    dns: { providers: { bind: { type: 'rfc2136', server: named.server, zone: named.zone, keyName: named.keyName, keySecret: 'env:FSDR_TEST_TSIG' } } },
    objectives: { regionFailure: { rpoSeconds: 1, rtoSeconds: 600 } },
    agent: { listen: `127.0.0.1:${agentPort}`, token: 'env:FSDR_AGENT_TOKEN' },
    schedule: Object.fromEntries(['backup', 'dump', 'expire', 'replicate', 'verify', 'drillVerify', 'drillTabletop', 'drillRestore', 'golden'].map((j) => [j, 'off'])),
  };
  const members = {
    eu: { stack: { url: fs?.url ?? 'http://127.0.0.1:1', keys: stackKeys, database: 'featuresignals' }, dns: { name: 'api.fs.test', address: '127.0.0.1' } },
    us: { stack: { url: 'http://127.0.0.1:1', keys: stackKeys, database: 'featuresignals', start: serverStart }, dns: { name: 'api.fs.test', address: '127.0.0.2' } },
  };
  euCfg = writeRegionConfig(ws, eu, eu, us, extra, members);
  usCfg = writeRegionConfig(ws, us, eu, us, extra, members);
}

before(async () => {
  ws = makeWorkspace();
  [eu, us] = await Promise.all([startRegion('eu'), startRegion('us')]);
  named = await startNamed({ zone: 'fs.test', records: ['api 300 IN A 127.0.0.1'] });
  usPort = await freePort();
  agentPort = await freePort();
  usPgdata = join(ws.dir, 'us-pg');
  us.cluster = { connection: `postgres://postgres@127.0.0.1:${usPort}/postgres`, pgdata: usPgdata };
  writeConfigs();
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(euCfg, eu.moto.env) } });
  eu.cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
  fs = await startFeatureSignals(pg);
  const seeded = await seedProject(fs, pg);
  env = { ...eu.moto.env, FSDR_AGENT_TOKEN: 'agent-token', FS_PROD_KEY: seeded.keys.prod!, FS_STAGING_KEY: seeded.keys.staging!, FS_ADMIN_TOKEN: ADMIN_TOKEN, FSDR_TEST_TSIG: named.keySecret };
  writeConfigs();
  await pg.query('CREATE TABLE commit_log (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())');
  await fsdrOk(['--config', euCfg, 'init'], env);
  await fsdrOk(['--config', euCfg, 'backup'], env);
  await fsdrOk(['--config', euCfg, 'golden', 'capture'], env);
});

after(async () => {
  agent?.kill('SIGKILL');
  for (const pid of [serverPid, warmPid]) if (pid) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  await stopRestored(usPgdata).catch(() => undefined);
  await fs?.close();
  await pg?.stop();
  await named?.stop();
  await Promise.all([stopRegion(eu), stopRegion(us)]);
  ws?.cleanup();
});

test('the warm standby is built from the standby bucket alone (primary bucket unreachable) and replays what replication brings', async () => {
  await commitRows(20);
  await waitArchived(pg, await switchWal(pg));
  await fsdrOk(['--config', euCfg, 'replicate'], env);
  eu.proxy.cut();
  const started = JSON.parse(await fsdrOk(['--config', usCfg, 'standby', 'start', '--stack', '--json'], env));
  assert.equal(started.region, 'us');
  // Its FeatureSignals server runs on the hot standby: warm, read-only, so not ready for traffic.
  warmPid = started.stack.pid;
  assert.equal(started.stack.ready.status, 503);
  assert.equal(started.stack.ready.body.checks.warm.status, 'ok', JSON.stringify(started.stack.ready.body));
  assert.match(started.stack.ready.body.checks.listen.error, /database in recovery \(a standby\)/);
  const evaluated = await fetch(`${started.stack.url}/v1/client/prod/flags`, { headers: { 'x-api-key': env.FS_PROD_KEY! } });
  assert.equal(evaluated.status, 200, 'evaluations are served from the warm cache');
  const st = await waitUntil(async () => {
    const s = JSON.parse(await fsdrOk(['--config', usCfg, 'standby', 'status', '--json'], env));
    return s.repository.bytes === 0 ? s : undefined;
  }, 60_000, 'the standby replaying all the standby bucket holds');
  assert.equal(st.inRecovery, true);
  assert.deepEqual([st.stack?.pid, st.stack?.warm, st.stack?.ready], [warmPid, true, 503]);
  assert.equal(st.primary.reachable, true, 'the primary cluster answers (only its bucket is cut off)');
  const rows = await queryPort<{ n: number }>(usPort, 'SELECT count(*)::int AS n FROM commit_log');
  assert.equal(rows[0]!.n, 20);
  eu.proxy.restore();
  // More commits, replicated: the standby follows.
  await commitRows(10);
  await waitArchived(pg, await switchWal(pg));
  await fsdrOk(['--config', euCfg, 'replicate'], env);
  await waitUntil(async () => ((await queryPort<{ n: number }>(usPort, 'SELECT count(*)::int AS n FROM commit_log'))[0]!.n === 30 ? true : undefined), 60_000, 'the standby replaying the next segment');
  // The standby region's agent exposes the lag.
  agent = spawn(process.execPath, [FSDR_BIN, '--config', usCfg, 'agent'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore'] });
  const metrics = await waitUntil(async () => {
    const res = await fetch(`http://127.0.0.1:${agentPort}/metrics`, { headers: { authorization: 'Bearer agent-token' } }).catch(() => undefined);
    return res?.ok ? res.text() : undefined;
  }, 30_000, 'the standby agent\'s /metrics');
  assert.match(metrics, /^fsdr_standby_in_recovery 1$/m);
  assert.match(metrics, /^fsdr_standby_replay_lag_bytes\{against="repository"\} 0$/m);
  assert.match(metrics, /^fsdr_standby_replay_lag_bytes\{against="primary"\} \d+$/m);
  assert.match(metrics, /^fsdr_standby_replay_lag_seconds 0$/m);
  agent.kill('SIGTERM');
});

test('failover without --confirm only plans: the figures, the RPO warning, nothing changed', async () => {
  const before = [await snapshot(eu), await snapshot(us)];
  const r = await runFsdr(['--config', usCfg, 'failover', '--to', 'us'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /failover eu → us: fence epoch 1/);
  assert.match(r.stdout, /WARNING: the primary eu still answers/);
  assert.match(r.stdout, /nothing changed: add --confirm/);
  const plan = JSON.parse((await fsdrOk(['--config', usCfg, 'failover', '--to', 'us', '--json'], env))).plan;
  assert.equal(plan.nextEpoch, 1);
  assert.equal(plan.primary.reachable, true);
  assert.deepEqual([await snapshot(eu), await snapshot(us)], before);
  assert.equal((await queryPort<{ r: boolean }>(usPort, 'SELECT pg_is_in_recovery() AS r'))[0]!.r, true);
  // Run on the wrong node: refused before anything.
  const wrong = await runFsdr(['--config', euCfg, 'failover', '--to', 'us', '--confirm'], env);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /runs on the node of region us/);
});

test('unplanned failover with the primary region cut off: fenced, promoted, /ready and golden pass, DNS answers the standby with TTL 60, RPO within the replica lag', async (t) => {
  const replicatedAt = Date.now();
  await commitRows(5); // committed but never replicated: lost with the region
  const lastCommit = Date.now();
  eu.proxy.cut();
  await pg.stopServer('immediate');
  const r = await runFsdr(['--config', usCfg, 'failover', '--to', 'us', '--confirm', '--json'], env);
  const report = JSON.parse(r.stdout);
  serverPid = report.stack?.serverPid;
  assert.equal(report.result, 'ok', r.stderr + JSON.stringify(report.failure ?? report.steps));
  assert.deepEqual(report.steps.map((s: { name: string }) => s.name), ['fence', 'promote', 'archive-history', 'start-server', 'ready', 'golden', 'integration', 'dns']);
  // The warm server of `standby start --stack` took the traffic: adopted, not started anew.
  assert.equal(report.stack.serverPid, warmPid);
  assert.match(report.steps.find((s: { name: string }) => s.name === 'start-server').detail.adopted, /^warm since /);
  assert.match(report.plan.warnings.join('\n'), /behind by \d+ s, more than the RPO objective of 1 s/);
  assert.equal(report.plan.primary.reachable, false);
  assert.equal((await queryPort<{ r: boolean }>(usPort, 'SELECT pg_is_in_recovery() AS r'))[0]!.r, false);
  assert.equal((await fetch(report.stack.serverUrl + '/ready')).status, 200);
  assert.equal(report.checks.golden.via.server.equal, true);
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '127.0.0.2', ttl: 60 }]);
  // RPO from the client-side log: what is missing was committed after the last replication.
  const have = new Set((await queryPort<{ id: number }>(usPort, 'SELECT id FROM commit_log')).map((x) => x.id));
  const lost = [...committed].filter(([id]) => !have.has(id));
  assert.deepEqual(lost.map(([id]) => id), [31, 32, 33, 34, 35]);
  const rpoSeconds = (lastCommit - Math.max(...[...committed].filter(([id]) => have.has(id)).map(([, t]) => t))) / 1000;
  assert.ok(lost.every(([, t]) => t >= replicatedAt));
  t.diagnostic(`unplanned: RTO ${report.rtoSeconds}s; steps ${report.steps.map((x: { name: string; seconds: number }) => `${x.name} ${x.seconds}s`).join(', ')}; measured RPO ${rpoSeconds}s (${lost.length} commits), plan bound ${report.plan.lossUpToSeconds}s`);
  // The plan's bound is the time since the standby's newest replayed transaction: every commit
  // lost came after it, so the lost span fits inside it. (The writer's newest surviving row may
  // be older than that transaction: other writes replay too, so its age is no bound.)
  const replayedAt = Date.parse(report.plan.standby.replayedAt);
  assert.ok(lost.every(([, ack]) => ack >= replayedAt - 1000), `every lost commit was acknowledged after the standby's newest replayed transaction ${report.plan.standby.replayedAt}`);
  const lostSpan = (lastCommit - Math.min(...lost.map(([, ack]) => ack))) / 1000;
  assert.ok(lostSpan <= report.plan.lossUpToSeconds + 1, `the lost commits span ${lostSpan}s ≤ the plan's bound ${report.plan.lossUpToSeconds}s`);
  // The new primary writes into its own repository.
  await queryPort(usPort, 'INSERT INTO commit_log (id) VALUES (1000)');
});

test('split brain: the old primary started again is fenced: wal-push and backup refused, it refuses writes, /ready 503; nothing overwritten', async () => {
  eu.proxy.restore();
  const before = [await snapshot(eu), await snapshot(us)];
  await pg.start();
  const failed = (await archiverStats(pg)).failed_count;
  await pg.query("SELECT pg_switch_wal()").catch(() => undefined);
  const b = await runFsdr(['--config', euCfg, 'backup'], env);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /backup refused: region eu is fenced; fence epoch 1 in s3:\/\/fsdr-us .* names us/);
  await waitUntil(async () => ((await archiverStats(pg)).failed_count > failed ? true : undefined), 30_000, 'the old primary\'s archive_command refused');
  await fsdrOk(['--config', euCfg, 'fence', 'enforce'], env);
  await assert.rejects(pg.query('INSERT INTO commit_log (id) VALUES (2000)'), /read-only transaction/);
  const ready = await waitUntil(async () => {
    const res = await fetch(fs.url + '/ready');
    return res.status === 503 ? ((await res.json()) as { checks: Record<string, { error?: string }> }) : undefined;
  }, 30_000, 'the old region\'s /ready 503');
  assert.match(ready.checks.writable!.error!, /epoch 1 names us/);
  const after = [await snapshot(eu), await snapshot(us)];
  assert.deepEqual(after[0], before[0], 'nothing written into the old primary\'s bucket');
  // The new primary's bucket only grows (its own archiving); nothing of it is replaced.
  for (const k of before[1]!) assert.ok(after[1]!.includes(k), `${k} kept`);
});
