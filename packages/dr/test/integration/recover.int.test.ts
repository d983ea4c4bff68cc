// fsdr recover through the real CLI: real PostgreSQL 15 archiving into the repository, the real
// FeatureSignals server started by stack.start as a child process on the restored database, a
// golden capture, and BIND (testkit startNamed) for the switch, checked with real DNS queries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNamed, waitUntil, type NamedHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { ADMIN_TOKEN, seedProject, startFeatureSignals, waitSynced, type FeatureSignals, type SeededProject } from '../helpers/featuresignals.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { stopRestored } from '../helpers/restored.js';

const SERVER_MAIN = fileURLToPath(new URL('../../../../server/dist/src/main.js', import.meta.url));

let ws: Workspace;
let pg: PostgresHandle;
let fs: FeatureSignals;
let seeded: SeededProject;
let named: NamedHandle;
let doc: Record<string, unknown>;
let cfg: string;
let env: Record<string, string>;
const left: Array<{ pgdata: string; pid: number }> = [];
/** a target after the audited change and before the silent one (the connection-file test recovers to it) */
let goodT: string;

function withStart(start: Record<string, unknown>, name: string): string {
  const stack = { ...(doc.stack as object), start };
  return ws.writeConfig({ ...doc, stack }, name);
}

const serverStart = { command: [process.execPath, SERVER_MAIN], env: { DATABASE_URL: '{{DATABASE_URL}}', FS_SCHEDULER: 'off', LOG_LEVEL: 'warn' }, secretEnv: { FS_ADMIN_TOKEN: 'env:FS_ADMIN_TOKEN' } };

async function archivedNow(): Promise<string> {
  await new Promise((r) => setTimeout(r, 1100));
  const t = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 1100));
  await waitArchived(pg, await switchWal(pg));
  return t;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws));
  fs = await startFeatureSignals(pg);
  seeded = await seedProject(fs, pg);
  named = await startNamed({ zone: 'fs.test', records: ['api 300 IN A 10.0.0.1', 'old 300 IN A 10.9.9.9'] });
  doc = (await import('yaml')).parse(readFileSync(cfg, 'utf8'));
  doc = {
    ...doc,
    stack: { url: fs.url, keys: { prod: 'env:FS_PROD_KEY', staging: 'env:FS_STAGING_KEY' }, database: 'featuresignals', start: serverStart },
    dns: { providers: { bind: { type: 'rfc2136', server: named.server, zone: named.zone, keyName: named.keyName, keySecret: 'env:FSDR_TEST_TSIG' } } },
  };
  cfg = ws.writeConfig(doc);
  env = { FS_PROD_KEY: seeded.keys.prod!, FS_STAGING_KEY: seeded.keys.staging!, FS_ADMIN_TOKEN: ADMIN_TOKEN, FSDR_TEST_TSIG: named.keySecret };
  await fsdrOk(['--config', cfg, 'backup'], env);
  await fsdrOk(['--config', cfg, 'golden', 'capture'], env);
});

after(async () => {
  for (const l of left) {
    try { process.kill(-l.pid, 'SIGKILL'); } catch { /* gone */ }
    await stopRestored(l.pgdata);
  }
  await fs?.close();
  await pg?.stop();
  await named?.stop();
  ws?.cleanup();
});


/** Timeline history files in the repository: what a restored instance that archives adds. */
function histories(): string[] {
  return readdirSync(join(ws.repoDir, 'wal')).filter((n) => n.endsWith('.history')).sort();
}

test('recover --no-switch to a time after the capture with no change since: golden evaluations equal exactly through server and SDK; nothing switched, the copy never archives', async () => {
  const T0 = await archivedNow();
  const pgdata = join(ws.dir, 'recovered-0');
  const r = await runFsdr(['--config', cfg, 'recover', '--pgdata', pgdata, '--target-time', T0, '--no-switch'], env);
  const id = /recover (\S+): ok/.exec(r.stdout)?.[1];
  assert.equal(r.code, 0, r.stderr + r.stdout);
  // Text mode: one line per step as it ends, then the summary.
  assert.match(r.stdout, /ok   restore .*\n.*ok   start-server.*\n.*ok   ready.*\n.*ok   golden.*\n.*ok   integration.*\n.*ok   switch .*\(--no-switch\)/);
  const report = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'show', id!, '--json'], env));
  left.push({ pgdata, pid: report.steps[1].detail.pid });
  assert.equal(report.kind, 'recover');
  const g = report.checks.golden;
  assert.equal(g.via.server.equal, true);
  assert.equal(g.via.sdk.equal, true);
  assert.equal(g.via.server.actualFingerprint, g.via.server.expectedFingerprint);
  assert.deepEqual([g.changedAfterCapture, g.unexplained, g.unexplainedRulesets], [[], [], []]);
  assert.equal(report.steps[0].detail.archive, false);
  assert.ok(report.rtoSeconds > 0);
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '10.0.0.1', ttl: 300 }]);
  // Stopped here so that it cannot be mistaken for the later recoveries.
  process.kill(-report.steps[1].detail.pid, 'SIGTERM');
  await stopRestored(pgdata);
});

test('recover to T: /health and /ready 200, golden evaluations match but for the audited change (changed after capture), DNS answers the new address with TTL 60', async () => {
  // A legitimate change after the capture, through the management API (audited).
  await fs.admin('PUT', `/v1/projects/${seeded.projectId}/flags/banner/environments/${seeded.envs.prod}`, { default_value: 'red' });
  await waitSynced(fs, pg, 'prod', seeded.keys.prod!);
  const T = await archivedNow();
  goodT = T;
  const pgdata = join(ws.dir, 'recovered-1');
  const r = await runFsdr(['--config', cfg, 'recover', '--pgdata', pgdata, '--target-time', T, '--dns-name', 'api.fs.test', '--dns-address', '127.0.0.1', '--json'], env);
  const report = JSON.parse(r.stdout);
  if (report.stack) left.push({ pgdata, pid: report.stack.serverPid });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(report.result, 'ok');
  assert.deepEqual(report.steps.map((s: { name: string; ok: boolean }) => [s.name, s.ok]),
    [['restore', true], ['start-server', true], ['ready', true], ['golden', true], ['integration', true], ['switch', true]]);
  for (const s of report.steps) assert.equal(typeof s.seconds, 'number');
  // The restored instance becomes the primary: it archives.
  assert.equal(report.steps[0].detail.archive, true);
  // The server is the child of stack.start, on the restored instance, and stays up.
  const url = report.stack.serverUrl;
  assert.equal((await fetch(url + '/health')).status, 200);
  const ready = await fetch(url + '/ready');
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
  assert.equal(report.steps[2].detail.ready.status, 200);
  assert.ok(!report.steps[1].detail.databaseUrl.includes(ADMIN_TOKEN));

  // Golden: everything equal except the audited flag, named with its audit entry.
  const g = report.checks.golden;
  assert.deepEqual(g.unexplained, []);
  assert.deepEqual(g.unexplainedRulesets, []);
  assert.deepEqual(g.changedAfterCapture.map((c: { env: string; flag: string }) => `${c.env}/${c.flag}`), ['prod/banner']);
  assert.equal(g.changedAfterCapture[0].audit[0].action, 'flag_state.updated');
  assert.equal(g.via.server.rulesetChanges.join(), 'prod', 'staging matches the capture exactly');
  assert.ok(report.checks.integration.checks.length >= 8 && report.checks.integration.ok);

  // The switch: old and new answer in the report, and a real query sees the new one with TTL 60.
  assert.deepEqual(report.dns.old, { name: 'api.fs.test.', type: 'A', ttl: 300, values: ['10.0.0.1'] });
  assert.deepEqual(report.dns.new, { name: 'api.fs.test.', type: 'A', ttl: 60, values: ['127.0.0.1'] });
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '127.0.0.1', ttl: 60 }]);
  assert.equal(report.removeWith, undefined, 'a switched stack is production: no removal command');
  // Archiving was held until the switch, then released: the new timeline reaches the repository.
  assert.equal(report.steps[5].detail.archiving.released, true);
  const tli = report.steps[0].detail.recoveredTo.timeline as number;
  await waitUntil(async () => (histories().includes(`${tli.toString(16).toUpperCase().padStart(8, '0')}.history`) ? true : undefined), 30_000, 'the new primary archiving its timeline');

  // Evidence of kind recover in the repository.
  const list = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json'], env));
  assert.ok(list.some((d: { id: string }) => d.id === report.id), JSON.stringify(list));
});

test('a flag altered silently in the source database (no audit entry) fails recover at the golden step; DNS is unchanged; the stack is left for inspection', async () => {
  await pg.query(`UPDATE flag_states s SET percentage_rollout = 2600 FROM flags f, environments e
    WHERE s.flag_id = f.id AND s.env_id = e.id AND f.key = 'new-checkout' AND e.slug = 'prod'`, [], 'featuresignals');
  const T = await archivedNow();
  const pgdata = join(ws.dir, 'recovered-2');
  const historiesBefore = histories();
  // Timeline 1: the first recovery's primary archived a timeline 2 beside it.
  const r = await runFsdr(['--config', cfg, 'recover', '--pgdata', pgdata, '--target-time', T, '--target-timeline', '1', '--dns-name', 'old.fs.test', '--dns-address', '127.0.0.1', '--json'], env);
  const report = JSON.parse(r.stdout);
  if (report.stack) left.push({ pgdata, pid: report.stack.serverPid });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(report.failure.step, 'golden');
  // child has new-checkout as its prerequisite: it differs too, and nothing audited explains either.
  assert.match(report.failure.message, /^2 flag\(s\) evaluate differently from golden capture \S+ with no audit entry after it; first: prod\/child/);
  assert.match(r.stderr, /recover failed at step golden: .*prod\/child.*traffic was not moved; the new stack is left for inspection/s);
  assert.deepEqual(report.checks.golden.unexplained.map((u: { env: string; flag: string }) => `${u.env}/${u.flag}`).sort(), ['prod/child', 'prod/new-checkout']);
  // The audited change before it is still only reported.
  assert.deepEqual(report.checks.golden.changedAfterCapture.map((c: { env: string; flag: string }) => `${c.env}/${c.flag}`), ['prod/banner']);
  assert.deepEqual(report.steps.slice(-2).map((s: { name: string; detail: { skipped?: string } }) => [s.name, !!s.detail.skipped]), [['integration', true], ['switch', true]]);
  assert.equal(report.dns, undefined);
  assert.deepEqual(await named.resolve4('old.fs.test'), [{ address: '10.9.9.9', ttl: 300 }]);
  // Its archiving was held: the copy that failed its checks wrote no timeline into the repository.
  await new Promise((res) => setTimeout(res, 1500));
  assert.deepEqual(histories(), historiesBefore);
  // Left for inspection: the server still answers on the restored copy; the report says how to remove it.
  assert.ok(alive(report.stack.serverPid));
  assert.equal((await fetch(report.stack.serverUrl + '/ready')).status, 200);
  assert.match(report.removeWith, /kill -TERM -\d+; .*pg_ctl -D .*recovered-2 stop -m fast'?; rm -rf /);
  // ...and that command removes it.
  assert.equal(spawnSync('sh', ['-c', report.removeWith], { stdio: 'ignore' }).status, 0);
  await waitUntil(async () => (alive(report.stack.serverPid) ? undefined : true), 15_000, 'the left server to stop');
  assert.ok(!existsSync(pgdata));
});

test('a server whose start command exits fails at ready with its exit code; everything it started is removed', async () => {
  const bad = withStart({ command: [process.execPath, '-e', 'console.error("no database for me"); process.exit(3)'] }, 'exits.yaml');
  const pgdata = join(ws.dir, 'recovered-3');
  const r = await runFsdr(['--config', bad, 'recover', '--pgdata', pgdata, '--latest', '--target-timeline', '1', '--no-switch'], env);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /recover failed at step ready: the FeatureSignals server exited with code 3 before \/health answered 200; its log ends: no database for me/);
  assert.match(r.stderr, /nothing was left running/);
  assert.match(r.stdout, /FAIL ready/);
  assert.ok(!existsSync(pgdata), 'the restored data directory is removed');
  assert.ok(!existsSync(`${pgdata}.fsdr-server.log`));
});

test('a server that never becomes ready fails naming the path and the timeout; with --keep it is left running', async () => {
  const hang = withStart({ command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] }, 'hangs.yaml');
  const pgdata = join(ws.dir, 'recovered-4');
  const r = await runFsdr(['--config', hang, 'recover', '--pgdata', pgdata, '--latest', '--target-timeline', '1', '--no-switch', '--ready-timeout', '3', '--keep', '--json'], env);
  const report = JSON.parse(r.stdout);
  if (report.stack) left.push({ pgdata, pid: report.stack.serverPid });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(report.failure.step, 'ready');
  assert.match(report.failure.message, /never became ready: \/health did not answer 200 within 3 s \(it never answered\)/);
  assert.equal(report.steps[0].detail.archive, false, '--no-switch: the copy never archives');
  assert.ok(existsSync(pgdata));
  assert.ok(alive(report.stack.serverPid));
  assert.match(report.removeWith, /recovered-4/);
});

test('switch by connection file: a failing stack.integrationCommand stops recover before traffic moves; a passing one gets the restored URLs and the file is rewritten atomically, password redacted in the report', async () => {
  const connFile = join(ws.dir, 'app.env');
  writeFileSync(connFile, 'DATABASE_URL=postgres://app:old-secret@10.0.0.5:5432/featuresignals\n', { mode: 0o640 });
  const seen = join(ws.dir, 'integration-env.json');
  const withSwitch = (command: string[], name: string) => ws.writeConfig({
    ...doc, stack: { ...(doc.stack as object), switch: { kind: 'connection-file', path: connFile }, integrationCommand: { command, env: { SUITE: 'smoke' } } },
  }, name);
  const T = goodT;

  const failing = withSwitch([process.execPath, '-e', 'console.log("customer suite: checkout flow FAILED"); process.exit(3)'], 'suite-fails.yaml');
  const pgdataA = join(ws.dir, 'recovered-5');
  const a = await runFsdr(['--config', failing, 'recover', '--pgdata', pgdataA, '--target-time', T, '--target-timeline', '1', '--json'], env);
  const ra = JSON.parse(a.stdout);
  if (ra.stack) left.push({ pgdata: pgdataA, pid: ra.stack.serverPid });
  assert.equal(a.code, 1, a.stderr);
  assert.equal(ra.failure.step, 'integration');
  assert.match(ra.failure.message, /stack\.integrationCommand exited with code 3; its output ends: customer suite: checkout flow FAILED/);
  assert.equal(ra.checks.integration.ok, true, 'the built-in checks passed; the customer suite did not');
  assert.equal(ra.steps.find((s: { name: string }) => s.name === 'switch').detail.skipped, 'a check failed: traffic was not moved');
  assert.match(readFileSync(connFile, 'utf8'), /old-secret@10\.0\.0\.5/, 'the connection file is unchanged');
  process.kill(-ra.stack.serverPid, 'SIGTERM');
  await stopRestored(pgdataA);

  const passing = withSwitch([process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ db: process.env.DATABASE_URL, url: process.env.FS_SERVER_URL, suite: process.env.SUITE }))', seen], 'suite-passes.yaml');
  const pgdataB = join(ws.dir, 'recovered-6');
  const b = await runFsdr(['--config', passing, 'recover', '--pgdata', pgdataB, '--target-time', T, '--target-timeline', '1', '--json'], env);
  const rb = JSON.parse(b.stdout);
  if (rb.stack) left.push({ pgdata: pgdataB, pid: rb.stack.serverPid });
  assert.equal(b.code, 0, b.stderr + b.stdout);
  const port = rb.steps[0].detail.port as number;
  const want = `postgres://postgres@127.0.0.1:${port}/featuresignals`;
  assert.deepEqual(JSON.parse(readFileSync(seen, 'utf8')), { db: want, url: rb.stack.serverUrl, suite: 'smoke' });
  assert.equal(rb.checks.integrationCommand.exitCode, 0);
  assert.equal(readFileSync(connFile, 'utf8'), `DATABASE_URL=${want}\n`);
  assert.equal(statSync(connFile).mode & 0o777, 0o640, 'the file keeps its mode');
  assert.deepEqual(readdirSync(ws.dir).filter((f) => f.startsWith('.app.env.fsdr-')), [], 'no temporary file left');
  assert.deepEqual(rb.connection, { path: connFile, old: 'DATABASE_URL=postgres://app:***@10.0.0.5:5432/featuresignals\n', new: `DATABASE_URL=${want}\n` });
  assert.ok(!b.stdout.includes('old-secret'));
  assert.equal(rb.steps.find((s: { name: string }) => s.name === 'switch').detail.archiving.released, true);
  // The recovered stack is what the application now reaches through the file.
  const c = new (await import('pg')).default.Client({ connectionString: readFileSync(connFile, 'utf8').trim().slice('DATABASE_URL='.length) });
  await c.connect();
  assert.equal((await c.query<{ n: number }>('SELECT count(*)::int AS n FROM flags')).rows[0]!.n > 0, true);
  await c.end();
});
