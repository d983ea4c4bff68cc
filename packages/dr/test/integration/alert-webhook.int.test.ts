// The agent's own alerting and live RPO exposure against a real PostgreSQL, a real directory
// repository and a local HTTP receiver (a node http server that answers 500 to the first delivery
// of every notification, so each one needs a retry):
//   - a quiet database (its WAL switched and archived; the bgwriter then writes a record of its
//     own into the new segment) reports RPO exposure 0 in /metrics, scrape after scrape;
//   - with the repository refusing writes (its directories made read-only for the postgres user),
//     a committed row and a WAL switch leave WAL that cannot be archived: the archiver failures and
//     the .ready backlog rise, the exposure grows and crosses the at-risk ratio of the objective,
//     and the receiver accepts FsdrWalArchiveFailing once, in Alertmanager's webhook format,
//     however many evaluations follow;
//   - once the repository takes writes again, the receiver gets one `resolved` for it;
//   - a fence written into the repository shows as fsdr_fence_epoch.
// The payload's keys and fingerprint are checked against a real Alertmanager's (Debian's
// prometheus-alertmanager) webhook for an alert with the same labels.
// The agent runs in this process (the real Agent on a real config, its alert `for` durations scaled
// by 0.01 and its monitor at 1 s) so the test does not wait out production timings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPostgres, waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { fingerprint } from '../../src/alerts/engine.js';
import { archiveCommand, fsdrOk, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { writeFence } from '../../src/failover/fence.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Config } from '../../src/config/load.js';

const RPO_SECONDS = 20;
const TOKEN = 'webhook-test-token-51d2';

interface Delivery { path: string; body: string; answered: number }

/** A webhook receiver: on /agent every body is answered 500 the first time it arrives, 200 after. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const seen = new Set<string>();
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answered = seen.has(body) || req.url !== '/agent' ? 200 : 500;
      seen.add(body);
      deliveries.push({ path: req.url ?? '', body, answered });
      res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'try again');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, deliveries, server };
}

let ws: Workspace;
let pg: PostgresHandle;
let agent: Agent;
let agentUrl: string;
let config: Config;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

type Payload = { status: string; alerts: Array<{ status: string; labels: Record<string, string>; startsAt: string; endsAt: string; fingerprint: string }>; [k: string]: unknown };
/** Notifications the receiver accepted (answered 200) on the agent's path. */
const accepted = (): Payload[] => receiver.deliveries.filter((d) => d.path === '/agent' && d.answered === 200).map((d) => JSON.parse(d.body) as Payload);
const acceptedOf = (alertname: string, status: string) => accepted().filter((p) => p.alerts[0]!.labels.alertname === alertname && p.status === status);

async function metrics(): Promise<string> {
  const r = await fetch(`${agentUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  return r.text();
}
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
const EXPOSURE = 'fsdr_wal_rpo_exposure_seconds';
const OBJ_EXPOSURE = 'fsdr_objective_exposure_seconds{scenario="database_corruption",objective="rpo"}';
const RATIO = 'fsdr_objective_at_risk_ratio{scenario="database_corruption",objective="rpo"}';

/** Waits for `n` more measurements of the agent's monitor (each is followed by an alert evaluation). */
async function measurements(n: number): Promise<void> {
  let last = (agent.status() as { exposure?: { checkedAt: string } }).exposure?.checkedAt;
  for (let i = 0; i < n; i++) {
    last = await waitUntil(async () => {
      const now = (agent.status() as { exposure?: { checkedAt: string } }).exposure?.checkedAt;
      return now && now !== last ? now : undefined;
    }, 30_000, 'the next measurement');
  }
}

/** The repository's directories, read-only (0555) for the postgres user that runs archive_command, or back. */
function repositoryWritable(dir: string, writable: boolean): void {
  const walk = (d: string) => {
    for (const e of readdirSync(d)) if (statSync(join(d, e)).isDirectory()) walk(join(d, e));
    chmodSync(d, writable ? 0o755 : 0o555);
  };
  walk(dir);
}

before(async () => {
  receiver = await startReceiver();
  ws = makeWorkspace();
  const port = await freePort();
  const doc = (cluster?: object) => ({
    ...(cluster ? { cluster } : {}),
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    schedule: { backup: 'off', dump: 'off', expire: 'off', verify: 'off', replicate: 'off', drillVerify: 'off', drillTabletop: 'off', drillRestore: 'off' },
    agent: { listen: `127.0.0.1:${port}`, token: 'env:FSDR_WEBHOOK_TEST_TOKEN', monitorIntervalSeconds: 1 },
    alerts: { webhooks: [{ url: `${receiver.url}/agent` }], attempts: 4 },
    objectives: { databaseCorruption: { rpoSeconds: RPO_SECONDS, rtoSeconds: 1800 }, instanceFailure: { rpoSeconds: RPO_SECONDS, rtoSeconds: 900 } },
  });
  const cfg = ws.writeConfig(doc());
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg) } });
  ws.writeConfig(doc({ connection: pg.connectionString, pgdata: pg.pgdata }));
  await fsdrOk(['--config', cfg, 'init']);
  await waitArchived(pg, await switchWal(pg));
  await fsdrOk(['--config', cfg, 'backup']);
  // Everything written so far is archived; the segment being written holds nothing yet.
  await waitArchived(pg, await switchWal(pg));
  process.env.FSDR_WEBHOOK_TEST_TOKEN = TOKEN;
  config = loadConfig(cfg);
  agent = new Agent(config, { alertPendingScale: 0.01 });
  agentUrl = (await agent.start()).url;
});

after(async () => {
  await agent?.stop();
  if (ws) repositoryWritable(ws.repoDir, true);
  await pg?.stop();
  ws?.cleanup();
  receiver?.server.close();
});

test('a quiet database reports RPO exposure 0, even with the server\'s own records unarchived', async () => {
  const lsn = async () => (await pg.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
  const switched = await lsn();
  // The bgwriter logs the running transactions 15 s after other WAL: unarchived, but no data.
  await waitUntil(async () => ((await lsn()) !== switched ? true : undefined), 60_000, 'the bgwriter\'s running-xacts record');
  await measurements(2);
  for (let i = 0; i < 5; i++) {
    const m = await metrics();
    assert.ok(value(m, 'fsdr_wal_unarchived_bytes')! > 0, `the segment being written holds WAL not archived yet: ${JSON.stringify((agent.status() as { exposure?: unknown }).exposure)}`);
    assert.equal(value(m, EXPOSURE), 0, `scrape ${i}: nothing to lose, nothing exposed`);
    assert.equal(value(m, OBJ_EXPOSURE), 0);
    assert.equal(value(m, RATIO), 0);
    assert.equal(value(m, 'fsdr_wal_ready_files'), 0);
    assert.equal(value(m, 'fsdr_fence_epoch{repository="primary"}'), 0, 'never failed over');
    await measurements(1);
  }
  assert.deepEqual(accepted().map((p) => p.alerts[0]!.labels.alertname).filter((n) => /Wal|Rpo/.test(n)), [], 'no archive or RPO alert for a quiet database');
});

test('archiving broken: failures and backlog rise, exposure grows past the at-risk ratio, the archive alert arrives once', async () => {
  repositoryWritable(ws.repoDir, false);
  await pg.query('CREATE TABLE IF NOT EXISTS orders (id serial primary key, at timestamptz default now())');
  await pg.query('INSERT INTO orders DEFAULT VALUES');
  const segment = await switchWal(pg);
  await waitUntil(async () => {
    const r = await pg.query<{ w: string | null }>('SELECT last_failed_wal AS w FROM pg_stat_archiver');
    return r.rows[0]!.w === segment ? true : undefined;
  }, 60_000, `archive_command failing on ${segment}`);

  // Exposure grows measurement after measurement, then crosses 80 % of the objective.
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    await measurements(2);
    seen.push(value(await metrics(), EXPOSURE)!);
  }
  assert.ok(seen[0]! > 0 && seen[1]! > seen[0]! && seen[2]! > seen[1]!, `exposure grows: ${seen.join(', ')}`);
  const m = await waitUntil(async () => {
    const t = await metrics();
    return value(t, RATIO)! > 0.8 ? t : undefined;
  }, 60_000, `the at-risk ratio over 0.8 (${RPO_SECONDS} s objective)`);
  assert.equal(value(m, OBJ_EXPOSURE), value(m, EXPOSURE), 'the objective\'s exposure is the unarchived WAL\'s age');
  assert.ok(value(m, 'fsdr_wal_archiver_failures_total')! > 0, 'failures counted from pg_stat_archiver');
  assert.ok(value(m, 'fsdr_wal_ready_files')! >= 1, 'the segment waits as .ready');
  assert.ok(value(m, 'fsdr_wal_archiver_last_failure_timestamp_seconds')! > value(m, 'fsdr_wal_archiver_last_success_timestamp_seconds')!);

  const firing = await waitUntil(async () => acceptedOf('FsdrWalArchiveFailing', 'firing')[0], 60_000, 'FsdrWalArchiveFailing at the receiver');
  await waitUntil(async () => acceptedOf('FsdrRpoAtRisk', 'firing').length ? true : undefined, 60_000, 'FsdrRpoAtRisk at the receiver');
  // Alertmanager's webhook payload (version 4), one alert per notification.
  assert.equal(firing.version, '4');
  assert.equal(firing.receiver, 'fsdr-agent');
  assert.equal(firing.status, 'firing');
  assert.deepEqual(firing.groupLabels, { alertname: 'FsdrWalArchiveFailing' });
  assert.equal(firing.alerts.length, 1);
  const a = firing.alerts[0]!;
  assert.equal(a.status, 'firing');
  assert.equal(a.labels.severity, 'warning');
  assert.ok(a.labels.instance, 'the instance label');
  assert.deepEqual(firing.commonLabels, a.labels);
  assert.equal(a.endsAt, '0001-01-01T00:00:00Z', 'a firing alert has Alertmanager\'s zero endsAt');
  assert.ok(Date.parse(a.startsAt) <= Date.now());
  assert.equal(a.fingerprint, fingerprint(a.labels));
  assert.match((firing.commonAnnotations as { description: string }).description, /archive_command .* last failed at/);
  // The first delivery was answered 500 and retried with the same body.
  const tries = receiver.deliveries.filter((d) => d.path === '/agent' && (JSON.parse(d.body) as Payload).alerts[0]!.labels.alertname === 'FsdrWalArchiveFailing');
  assert.deepEqual(tries.map((d) => d.answered), [500, 200], 'one retry after the 500, then nothing more');
  assert.equal(tries[0]!.body, tries[1]!.body);

  // Many evaluations later, still one notification: the agent sends state changes, not evaluations.
  await measurements(8);
  assert.ok((agent.status() as { alerts: Array<{ labels: Record<string, string> }> }).alerts.some((x) => x.labels.alertname === 'FsdrWalArchiveFailing'), 'still firing');
  assert.equal(acceptedOf('FsdrWalArchiveFailing', 'firing').length, 1);
  assert.equal(receiver.deliveries.filter((d) => d.path === '/agent' && d.body === tries[0]!.body).length, 2);
});

test('the repository takes writes again: archiving catches up, one resolved notification, exposure back to 0', async () => {
  repositoryWritable(ws.repoDir, true);
  await waitArchived(pg, await switchWal(pg), 90_000);
  const resolved = await waitUntil(async () => acceptedOf('FsdrWalArchiveFailing', 'resolved')[0], 60_000, 'FsdrWalArchiveFailing resolved at the receiver');
  const firing = acceptedOf('FsdrWalArchiveFailing', 'firing')[0]!;
  const r = resolved.alerts[0]!;
  assert.equal(r.status, 'resolved');
  assert.equal(r.fingerprint, firing.alerts[0]!.fingerprint, 'the same alert');
  assert.equal(r.startsAt, firing.alerts[0]!.startsAt);
  assert.ok(Date.parse(r.endsAt) >= Date.parse(r.startsAt), 'a resolved alert carries its end');
  await waitUntil(async () => acceptedOf('FsdrRpoAtRisk', 'resolved').length ? true : undefined, 60_000, 'FsdrRpoAtRisk resolved');
  await measurements(3);
  const m = await metrics();
  assert.equal(value(m, 'fsdr_wal_ready_files'), 0);
  assert.ok(value(m, EXPOSURE)! < RPO_SECONDS * 0.8, 'exposure back under the threshold');
  // Over the whole run, no notification (alert × state) was accepted twice.
  const keys = accepted().map((p) => `${p.alerts[0]!.fingerprint} ${p.status}`);
  assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], 'no duplicate notification');
  assert.equal(acceptedOf('FsdrWalArchiveFailing', 'resolved').length, 1);
});

test('a failover\'s fence in the repository shows as its epoch in /metrics', async () => {
  const storage = await openStorage(config.repositories.primary, 'primary');
  try {
    await writeFence(storage, { epoch: 1, region: 'us-east', at: new Date().toISOString(), by: 'alert-webhook test' });
  } finally {
    await storage.close();
  }
  await measurements(2);
  assert.equal(value(await metrics(), 'fsdr_fence_epoch{repository="primary"}'), 1);
});

test('the payload has the keys and the fingerprint a real Alertmanager sends for the same alert', async (t) => {
  const amPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-am-'));
  writeFileSync(join(dir, 'am.yml'), [
    'route: { receiver: hook, group_by: ["..."], group_wait: 0s, group_interval: 1s, repeat_interval: 1h }',
    `receivers: [{ name: hook, webhook_configs: [{ url: "${receiver.url}/alertmanager", send_resolved: true }] }]`,
    '',
  ].join('\n'));
  const probe = spawnSync('prometheus-alertmanager', ['--version']);
  assert.ok(!probe.error, 'prometheus-alertmanager not found: run scripts/setup-tests.sh (Debian package prometheus-alertmanager)');
  const am = spawn('prometheus-alertmanager', [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  am.stderr.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-8000); });
  const exited = new Promise((r) => am.once('exit', r));
  t.after(async () => { am.kill('SIGTERM'); await exited; rmSync(dir, { recursive: true, force: true }); });
  const ours = acceptedOf('FsdrWalArchiveFailing', 'firing')[0]!;
  const labels = ours.alerts[0]!.labels;
  try {
    await waitUntil(async () => ((await fetch(`http://127.0.0.1:${amPort}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000, 'Alertmanager ready');
    const post = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels, annotations: ours.commonAnnotations, startsAt: ours.alerts[0]!.startsAt }]) });
    assert.equal(post.status, 200, await post.text());
    const theirs = await waitUntil(async () => {
      const d = receiver.deliveries.find((x) => x.path === '/alertmanager' && x.answered === 200);
      return d ? (JSON.parse(d.body) as Payload) : undefined;
    }, 30_000, 'Alertmanager\'s webhook');
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), 'the same top-level keys');
    assert.deepEqual(Object.keys(ours.alerts[0]!).sort(), Object.keys(theirs.alerts[0]!).sort(), 'the same alert keys');
    assert.equal(ours.alerts[0]!.fingerprint, theirs.alerts[0]!.fingerprint, 'the same fingerprint for the same labels');
    assert.deepEqual(ours.commonLabels, theirs.commonLabels);
    assert.equal(theirs.version, ours.version);
    assert.equal(theirs.alerts[0]!.endsAt, '0001-01-01T00:00:00Z');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- alertmanager log ---\n${log}`, { cause: err });
  }
});
