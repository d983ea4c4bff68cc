// In-region automatic failover on real parts: one etcd member (one host: a 3-member cluster on one
// machine proves nothing more about the lease), two Patroni 3.0 nodes on PostgreSQL 15 configured by
// `fsdr ha config` (fsdr archives, restores and builds the replica from the repository), HAProxy
// routing to whichever node answers GET /primary, and the FeatureSignals server connected through
// HAProxy. A writer logs commits client-side through HAProxy the whole time.
// Lease for the test: ttl 12, loop_wait 2, retry_timeout 4 (Patroni's rule 2 + 2x4 <= 12), so the run
// stays short; `npm run bench -- ha` measures the shipped defaults (20/5/5).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { sleep, waitUntil } from '@featuresignals/testkit';
import { recordFromServer, verifyAgainst, type GoldenRecord, type RunningServer } from '@featuresignals/server';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import type { SeededProject } from '../helpers/featuresignals.js';
import { clusterView, proxyQuery, startHaStack, waitRole, patroniLog, type HaCluster, type HaNode } from '../helpers/ha.js';
import { parse } from 'yaml';
import { freePort } from '@featuresignals/testkit';
import { commitsLost, startHaWriter, outageAround, type HaWriter } from '../../src/drills/ha-writer.js';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';

let ws: Workspace;
let c: HaCluster;
let a: HaNode;
let b: HaNode;
let server: RunningServer;
let seeded: SeededProject;
let golden: GoldenRecord;
let writer: HaWriter;
/** Every moment both nodes answered as primaries (pg_is_in_recovery false on both): must stay empty. */
const twoPrimaries: string[] = [];
let watching = true;
let watcher: Promise<void>;

async function inRecovery(n: HaNode): Promise<boolean | undefined> {
  const cl = new pg.Client({ connectionString: n.url(), connectionTimeoutMillis: 500 });
  cl.on('error', () => undefined);
  try {
    await cl.connect();
    return (await cl.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
  } catch {
    return undefined;
  } finally {
    await cl.end().catch(() => undefined);
  }
}

async function dbidSeen(): Promise<string> {
  const r = await fetch(`${server.url}/v1/ruleset/prod`, { headers: { 'X-API-Key': seeded.keys.prod! } });
  return ((await r.json()) as { dbid: string }).dbid;
}

before(async () => {
  ws = makeWorkspace();
  ({ c, a, b, server, seeded } = await startHaStack(ws, { synchronous: true, ttl: 12, loopWait: 2, retryTimeout: 4 }));
  watcher = (async () => {
    while (watching) {
      const [ra, rb] = await Promise.all([inRecovery(a), inRecovery(b)]);
      if (ra === false && rb === false) twoPrimaries.push(new Date().toISOString());
      await sleep(100);
    }
  })();
  golden = await recordFromServer({ url: server.url, keys: seeded.keys });
  writer = await startHaWriter({ connectionString: c.proxyUrl('featuresignals') }, { intervalMs: 20 });
});

after(async () => {
  watching = false;
  await watcher;
  await writer?.stop().catch(() => undefined);
  await server?.close().catch(() => undefined);
  await c?.stop();
  ws?.cleanup();
});

test('the replica was restored from the repository (fsdr ha create-replica), not copied from the leader; ha status shows leader, members and timeline', async () => {
  assert.match(readFileSync(b.patroni!.logFile, 'utf8'), /replica has been created using fsdr/);
  const r = await runFsdr(['--config', a.configPath, 'ha', 'status', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const st = JSON.parse(r.stdout);
  assert.equal(st.dcs.reachable, true);
  assert.equal(st.leader, 'pg-a');
  assert.deepEqual(st.members.map((m: { name: string; role: string; timeline: number }) => [m.name, m.role, m.timeline]), [['pg-a', 'leader', 1], ['pg-b', 'sync_standby', 1]]);
  assert.deepEqual(st.problems, []);
});

test('kill -9 of the leader\'s postmaster under a writer: pg-b promoted, HAProxy routes to it, /ready 200 with golden evaluations matching, no acknowledged commit lost (synchronous)', async (t) => {
  await sleep(1000);
  assert.ok(writer.snapshot().commits.length > 20, 'the writer commits through HAProxy before the failure');
  const dbidBefore = await dbidSeen();
  const t0 = Date.now();
  await a.patroni!.killPostmaster();
  await waitRole(b, 'primary', 60_000);
  const tPromoted = Date.now();
  await waitUntil(async () => ((await c.haproxy!.servers())[b.name] === 'UP' ? true : undefined), 30_000, 'haproxy routes to pg-b');
  const tRouted = Date.now();
  await waitUntil(async () => (writer.snapshot().commits.some((t) => t > tRouted) ? true : undefined), 30_000, 'a commit through HAProxy after the switch');
  const out = outageAround(writer.snapshot(), t0);
  // The server notices the new timeline (its dbid) and re-warms; then it is ready.
  await waitUntil(async () => ((await dbidSeen()) !== dbidBefore ? true : undefined), 30_000, 'the server on the new timeline');
  await waitUntil(async () => ((await fetch(server.url + '/ready')).status === 200 ? true : undefined), 30_000, '/ready 200');
  const tReady = Date.now();
  assert.equal((await dbidSeen()).split(':')[1], '2', 'the server reads timeline 2');
  const v = await verifyAgainst(golden, { url: server.url, keys: seeded.keys });
  assert.ok(v.server.equal, `golden through the server: ${JSON.stringify(v.server.differences.slice(0, 2))}`);
  assert.ok(v.sdk.equal, `golden through the SDK: ${JSON.stringify(v.sdk.differences.slice(0, 2))}`);
  const log = writer.snapshot();
  const loss = await commitsLost({ connectionString: c.proxyUrl('featuresignals') }, log);
  assert.ok(loss.acknowledged > 40);
  assert.deepEqual(loss.lost, [], 'synchronous mode: every acknowledged commit is on the new primary');
  t.diagnostic(`failover: promoted ${(tPromoted - t0) / 1000}s, haproxy ${(tRouted - t0) / 1000}s, client outage ${out.seconds}s, /ready on timeline 2 ${(tReady - t0) / 1000}s; ${loss.acknowledged} commits, lost ${loss.lost.length}`);
});

test('the old leader rejoins as a replica of pg-b (Patroni restarts it, pg_rewind when it diverged); restarted as a whole node, it rejoins again; never two primaries', async () => {
  await waitRole(a, 'replica', 90_000).catch((e) => { throw new Error(`${e.message}\n${patroniLog(a)}`); });
  assert.equal(await inRecovery(a), true);
  await waitUntil(async () => ((await clusterView(b)).find((m) => m.name === a.name)?.timeline === 2 ? true : undefined), 30_000, 'pg-a on timeline 2');
  // The node lost whole (Patroni and PostgreSQL killed together), then started again.
  await a.patroni!.kill();
  await a.patroni!.start();
  await waitRole(a, 'replica', 90_000).catch((e) => { throw new Error(`${e.message}\n${patroniLog(a)}`); });
  assert.equal(await b.patroni!.check('/primary'), 200);
  assert.equal(await a.patroni!.check('/primary'), 503);
  // It follows pg-b: the writer's latest commits reach it.
  const last = writer.snapshot().seqs.at(-1)!;
  await waitUntil(async () => {
    const cl = new pg.Client({ connectionString: a.url('featuresignals') });
    cl.on('error', () => undefined);
    try {
      await cl.connect();
      return (await cl.query('SELECT 1 FROM fsdr_drill.ha_commit_log WHERE run = $1 AND seq = $2', [writer.run, last])).rowCount === 1 ? true : undefined;
    } finally {
      await cl.end().catch(() => undefined);
    }
  }, 30_000, 'pg-a replays pg-b\'s commits');
  assert.deepEqual(twoPrimaries, [], 'both nodes answered as primaries at once');
});

test('archived WAL continues on timeline 2 with no gap: 00000002.history in the repository, fsdr info one history, fsdr verify clean', async () => {
  const seg = (await proxyQuery<{ f: string }>(c, 'SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
  assert.equal(seg.slice(0, 8), '00000002');
  await waitUntil(async () => {
    const w = (await proxyQuery<{ w: string | null }>(c, 'SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!.w;
    return w && w >= seg ? true : undefined;
  }, 60_000, `archiving of ${seg}`);
  const info = JSON.parse(await fsdrOk(['--config', b.configPath, 'info', '--json']));
  const tls = info.wal.timelines as Array<{ timeline: number; first: string; last: string; gaps: unknown[] }>;
  assert.deepEqual(tls.map((t) => t.timeline), [1, 2]);
  for (const t of tls) assert.deepEqual(t.gaps, [], `timeline ${t.timeline} has no gap`);
  const tree = info.timelineTree as Array<{ timeline: number; parent?: number; forkLsn?: string; continues: boolean }>;
  const t2 = tree.find((t) => t.timeline === 2)!;
  assert.equal(t2.parent, 1, 'the history file of timeline 2 is archived');
  assert.equal(t2.continues, true);
  // Timeline 1 is archived up to the segment before the fork point; timeline 2 from the fork's segment.
  const [hi, lo] = t2.forkLsn!.split('/').map((x) => parseInt(x, 16));
  const forkSeg = Math.floor((hi! * 2 ** 32 + lo!) / (16 * 1024 * 1024));
  const segNo = (name: string) => parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16), 16);
  assert.ok(segNo(tls[0]!.last) >= forkSeg - 1, `timeline 1 reaches the fork: last ${tls[0]!.last}, fork segment ${forkSeg}`);
  assert.ok(segNo(tls[1]!.first) <= forkSeg, `timeline 2 starts at the fork: first ${tls[1]!.first}, fork segment ${forkSeg}`);
  const v = await runFsdr(['--config', b.configPath, 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('only the leader backs up: the agent on the replica skips its due backup (outcome skipped, fsdr_ha_role replica), the leader\'s runs it', async () => {
  const token = 'ha-agent-token';
  const agents: Record<string, { agent: Agent; url: string }> = {};
  const before = JSON.parse(await fsdrOk(['--config', b.configPath, 'info', '--json'])).backups.length;
  try {
    for (const n of [a, b]) {
      const doc = parse(readFileSync(n.configPath, 'utf8'));
      const off = Object.fromEntries(['dump', 'expire', 'replicate', 'verify', 'drillVerify', 'drillTabletop', 'drillRestore', 'golden'].map((k) => [k, 'off']));
      doc.schedule = { ...off, backup: '* * * * *' };
      doc.agent = { listen: `127.0.0.1:${await freePort()}`, token: 'env:FSDR_HA_AGENT_TOKEN' };
      process.env.FSDR_HA_AGENT_TOKEN = token;
      const path = ws.writeConfig(doc, `agent-${n.name}.yaml`);
      const agent = new Agent(loadConfig(path), { monitorIntervalMs: 60_000 });
      agents[n.name] = { agent, url: (await agent.start()).url };
    }
    const job = (n: HaNode) => (agents[n.name]!.agent.status() as { jobs: Array<{ name: string; running: boolean; lastRun?: { ok?: boolean; skipped?: string; finishedAt?: string } }> }).jobs.find((j) => j.name === 'backup')!;
    await waitUntil(async () => (job(a).lastRun?.finishedAt && job(b).lastRun?.finishedAt && !job(b).running ? true : undefined), 60_000, 'both agents\' backup occurrence');
    assert.match(job(a).lastRun!.skipped!, /Patroni replica \(GET \/primary answered 503\)/);
    assert.equal(job(b).lastRun!.ok, true, JSON.stringify(job(b).lastRun));
    const after = JSON.parse(await fsdrOk(['--config', b.configPath, 'info', '--json'])).backups;
    assert.equal(after.length, before + 1, 'one new backup, the leader\'s');
    assert.equal(after.at(-1).timeline, 2);
    const metrics = async (n: HaNode) => (await fetch(`${agents[n.name]!.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const ma = await metrics(a);
    const mb = await metrics(b);
    assert.match(ma, /^fsdr_ha_role\{role="replica"\} 1$/m);
    assert.match(ma, /^fsdr_ha_role\{role="leader"\} 0$/m);
    assert.match(ma, /^fsdr_operation_runs_total\{operation="backup",outcome="skipped"\} 1$/m);
    assert.match(mb, /^fsdr_ha_role\{role="leader"\} 1$/m);
    assert.match(mb, /^fsdr_operation_runs_total\{operation="backup",outcome="success"\} 1$/m);
  } finally {
    for (const x of Object.values(agents)) await x.agent.stop();
  }
});

test('etcd stopped: no failover, the primary keeps serving writes (Patroni 3.0 failsafe_mode), ha status says the DCS is unreachable; etcd back: healthy again', async () => {
  const before = writer.snapshot().commits.length;
  await c.etcd.stopServer();
  const t0 = Date.now();
  // Past the lease (ttl 12) and retry_timeout (4): without failsafe_mode pg-b demotes itself within
  // ~9 s here (seen with failsafeMode: false: both nodes replicas, HAProxy with no server).
  await sleep(13_000);
  const r = await runFsdr(['--config', b.configPath, 'ha', 'status']);
  assert.equal(r.code, 3, r.stdout);
  assert.match(r.stdout.split('\n')[0]!, /^!! DCS unreachable: no etcd endpoint answers .*; no failover can happen until it is back; Patroni last reached it: pg-a \d+s ago, pg-b \d+s ago; still primary: pg-b \(failsafe mode\)/);
  const js = JSON.parse((await runFsdr(['--config', b.configPath, 'ha', 'status', '--json'])).stdout);
  assert.equal(js.dcs.reachable, false);
  assert.equal(js.leader, null);
  assert.equal(await b.patroni!.check('/primary'), 200, 'pg-b still primary');
  assert.equal(await inRecovery(b), false);
  assert.equal(await inRecovery(a), true, 'pg-a never promoted');
  const during = writer.snapshot().commits.filter((t) => t > t0 + 1000);
  assert.ok(during.length > 100, `writes kept committing through HAProxy while etcd was down (${during.length})`);
  await c.etcd.start();
  await waitUntil(async () => ((await runFsdr(['--config', b.configPath, 'ha', 'status'])).code === 0 ? true : undefined), 30_000, 'ha status clean again');
  const log = await writer.stop();
  const loss = await commitsLost({ connectionString: c.proxyUrl('featuresignals') }, log);
  assert.ok(loss.acknowledged > before);
  assert.deepEqual(loss.lost, []);
  assert.deepEqual(twoPrimaries, []);
});

test('fsdr drill instance: kills the leader under its own writer, times detection ≤ promotion ≤ client reconnect and /ready with golden matching, 0 commits lost, old leader rejoins; evidence in the repository', async () => {
  const doc = parse(readFileSync(a.configPath, 'utf8'));
  doc.ha.clientConnection = c.proxyUrl('featuresignals');
  doc.stack = { url: server.url, keys: { prod: 'env:FS_HA_PROD_KEY', staging: 'env:FS_HA_STAGING_KEY' } };
  const cfg = ws.writeConfig(doc, 'drill.yaml');
  const env = { FS_HA_PROD_KEY: seeded.keys.prod!, FS_HA_STAGING_KEY: seeded.keys.staging! };
  const r = await runFsdr(['--config', cfg, 'drill', 'instance', '--wait-rejoin', '--json'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 3000));
  const e = JSON.parse(r.stdout);
  assert.equal(e.result, 'ok');
  assert.equal(e.oldLeader, 'pg-b');
  assert.equal(e.newLeader, 'pg-a');
  const p = e.phases;
  assert.ok(p.detectionSeconds <= p.promotionSeconds && p.promotionSeconds <= p.readySeconds && p.clientReconnectSeconds <= p.readySeconds + 1, JSON.stringify(p));
  assert.ok(p.rejoinSeconds > 0);
  assert.deepEqual(e.loss.lost, []);
  assert.ok(e.loss.acknowledged > 10);
  assert.equal(e.rtoSeconds, p.readySeconds);
  assert.equal(e.objectives.rto.met, true);
  assert.equal(e.objectives.rpo.measuredSeconds, 0);
  assert.deepEqual(e.lease, { ttl: 12, loopWait: 2, retryTimeout: 4, primaryStartTimeout: 0, synchronous: true, failsafeMode: true });
  assert.deepEqual(e.steps.map((s: { name: string; ok: boolean }) => [s.name, s.ok]), [['preflight', true], ['golden-capture', true], ['writer', true], ['kill', true], ['failover', true], ['ready', true], ['commits', true], ['rejoin', true]]);
  // ha status reports the switch the drill caused (Patroni's /history: timeline 2 → 3, its time and new leader).
  const last = await waitUntil(async () => {
    const st = JSON.parse((await runFsdr(['--config', cfg, 'ha', 'status', '--json'])).stdout);
    return st.lastFailover?.timeline === 2 ? st.lastFailover : undefined;
  }, 20_000, 'the timeline 2 → 3 switch in ha status');
  assert.ok(Date.parse(last.at) >= Date.parse(e.startTime) - 1000, JSON.stringify(last));
  const shown = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'show', e.id, '--json'], env));
  assert.equal(shown.kind, 'instance');
  assert.deepEqual(shown.phases, e.phases);
  assert.deepEqual(twoPrimaries, []);
});
