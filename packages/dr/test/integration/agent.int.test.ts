// The fsdr agent as an SRE runs it: two agents start on one repository with an overdue backup
// (exactly one backup is taken), /health is open, /status and /metrics need the token, /metrics
// shows WAL age and the lag of a standby-region bucket (moto), and SIGTERM stops it cleanly. The
// weekly drill (never run: overdue) runs at start and /metrics shows its result and age from its evidence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startMoto, startPostgres, waitUntil, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { createBucket, s3Client } from '../helpers/s3.js';
import { archiveCommand, FSDR_BIN, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { createServer, type AddressInfo } from 'node:net';
import { switchWal, waitArchived } from '../helpers/pg-load.js';

const TOKEN = 'test-agent-token-3f9a';
let ws: Workspace;
let pg: PostgresHandle;
let moto: MotoHandle;
const agents: ChildProcess[] = [];

async function startAgent(name: string, schedule: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const cfg = ws.writeConfig({
    cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
    repositories: {
      primary: { type: 'fs', path: ws.repoDir },
      standby: { type: 's3', bucket: 'fsdr-standby-region', region: 'eu-west-1', endpoint: moto.endpoint, forcePathStyle: true, objectLock: { mode: 'compliance', days: 7 } },
    },
    encryption: { masterKey: `file:${ws.keyFile}` },
    schedule: { backup: '0 3 * * *', dump: 'off', expire: 'off', verify: 'off', replicate: 'off', drillVerify: 'off', drillTabletop: 'off', drillRestore: 'off', ...schedule },
    agent: { listen: `127.0.0.1:${port}`, token: 'env:FSDR_AGENT_TOKEN' },
  }, `${name}.yaml`);
  const child = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'agent'], { env: { ...process.env, ...moto.env, FSDR_AGENT_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  agents.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => ((await fetch(`${url}/health`)).ok ? true : undefined), 30_000, `agent ${name}`);
  return url;
}

const get = (url: string, token?: string) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

before(async () => {
  moto = await startMoto();
  await createBucket(s3Client(moto), 'fsdr-standby-region', true);
  ws = makeWorkspace();
  const cfg = ws.writeConfig({ repositories: { primary: { type: 'fs', path: ws.repoDir } }, encryption: { masterKey: `file:${ws.keyFile}` } });
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg) } });
  ws.writeConfig({ cluster: { connection: pg.connectionString, pgdata: pg.pgdata }, repositories: { primary: { type: 'fs', path: ws.repoDir } }, encryption: { masterKey: `file:${ws.keyFile}` } });
  await fsdrOk(['--config', cfg, 'init']);
  await waitArchived(pg, await switchWal(pg));
});

after(async () => {
  for (const a of agents) if (a.exitCode === null) a.kill('SIGKILL');
  await pg?.stop();
  await moto?.stop();
  ws?.cleanup();
});

test('two agents, one overdue backup: exactly one backup is taken; the API, metrics and SIGTERM behave', async () => {
  const [a, b] = await Promise.all([startAgent('a'), startAgent('b')]);
  const statusOf = async (url: string) => (await get(`${url}/status`, TOKEN)).json() as Promise<any>;
  await waitUntil(async () => {
    const s = await Promise.all([statusOf(a), statusOf(b)]);
    const jobs = s.map((x) => x.jobs.find((j: any) => j.name === 'backup'));
    return jobs.every((j) => !j.running) && jobs.some((j) => j.lastRun?.ok) ? true : undefined;
  }, 120_000, 'the overdue backup');
  const info = JSON.parse(await fsdrOk(['--config', join(ws.dir, 'a.yaml'), 'info', '--json']));
  assert.equal(info.backups.length, 1, 'one occurrence, one backup, whichever agent took it');
  const s = await Promise.all([statusOf(a), statusOf(b)]);
  const runs = s.map((x) => x.jobs.find((j: any) => j.name === 'backup'));
  assert.equal(runs.filter((j) => j.successes === 1).length, 1);
  assert.equal(runs.filter((j) => j.skipped === 1).length, 1);

  assert.equal((await get(`${a}/health`)).status, 200);
  assert.equal((await get(`${a}/status`)).status, 401);
  assert.equal((await get(`${a}/metrics`, 'wrong')).status, 401);
  const metrics = await (await get(`${a}/metrics`, TOKEN)).text();
  assert.match(metrics, /fsdr_wal_archive_age_seconds \d/);
  // Positive, not ">= 1": the monitor may measure within a second of the first object's write.
  const lag = Number(/fsdr_replication_lag_seconds\{replica="standby"\} (\S+)/.exec(metrics)?.[1]);
  assert.ok(lag > 0, `the never-replicated standby lags (${lag})`);
  assert.match(metrics, /fsdr_objective_exposure_seconds\{scenario="database_corruption",objective="rpo"\}/);
  assert.match(metrics, /fsdr_repository_free_bytes\{repository="primary"\} \d/);

  for (const child of agents) child.kill('SIGTERM');
  const codes = await Promise.all(agents.map((c) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', r)))));
  assert.deepEqual(codes, [0, 0]);
});

test('an agent whose listen address is taken says which config key to change', async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as AddressInfo).port;
  try {
    const cfg = ws.writeConfig({
      repositories: { primary: { type: 'fs', path: ws.repoDir } },
      encryption: { masterKey: `file:${ws.keyFile}` },
      schedule: { backup: 'off', dump: 'off', expire: 'off', verify: 'off', replicate: 'off' },
      agent: { listen: `127.0.0.1:${port}` },
    }, 'busy.yaml');
    const r = await runFsdr(['--config', cfg, 'agent']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`^fsdr: agent\\.listen 127\\.0\\.0\\.1:${port}: the address is in use`, 'm'));
  } finally {
    holder.close();
  }
});

test('the weekly drill, never run, runs at start; /metrics shows its result, last success and age from the evidence', async () => {
  const url = await startAgent('drill', { backup: 'off', drillVerify: '0 6 * * 0' });
  const job = await waitUntil(async () => {
    const j = ((await (await get(`${url}/status`, TOKEN)).json()) as any).jobs.find((x: any) => x.name === 'drill-verify');
    return j?.lastRun?.finishedAt ? j : undefined;
  }, 300_000, 'the overdue drill');
  assert.equal(job.lastRun.ok, true, job.lastRun.error);
  const list = JSON.parse(await fsdrOk(['--config', join(ws.dir, 'drill.yaml'), 'drill', 'list', '--json']));
  assert.deepEqual(list.map((d: any) => [d.id, d.result]), [[job.lastRun.summary.id, 'ok']]);
  const metrics = await waitUntil(async () => {
    const m = await (await get(`${url}/metrics`, TOKEN)).text();
    return /fsdr_drill_last_result\{kind="verify"\} 1/.test(m) ? m : undefined;
  }, 30_000, 'drill metrics');
  const last = Number(/fsdr_drill_last_success_timestamp_seconds\{kind="verify"\} (\S+)/.exec(metrics)![1]);
  assert.ok(Math.abs(last - Date.parse(list[0].endTime) / 1000) < 1, `${last} vs ${list[0].endTime}`);
  assert.match(metrics, /fsdr_drill_age_seconds\{kind="verify"\} \d/);
  const child = agents.at(-1)!;
  child.kill('SIGTERM');
  assert.equal(await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r))), 0);
});
