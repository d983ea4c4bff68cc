// fsdr drill restore through the real CLI: real PostgreSQL 15 archiving into the repository, a
// seeded FeatureSignals server and a golden capture (as recover.int.test.ts), then the quarterly
// restore drill: the real server started by stack.start on the restored copy, golden equal,
// evidence of kind restore with its steps and objectives, and nothing left running or on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { ADMIN_TOKEN, seedProject, startFeatureSignals, type FeatureSignals, type SeededProject } from '../helpers/featuresignals.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { stopRestored } from '../helpers/restored.js';

const SERVER_MAIN = fileURLToPath(new URL('../../../../server/dist/src/main.js', import.meta.url));
const serverStart = { command: [process.execPath, SERVER_MAIN], env: { DATABASE_URL: '{{DATABASE_URL}}', FS_SCHEDULER: 'off', LOG_LEVEL: 'warn' }, secretEnv: { FS_ADMIN_TOKEN: 'env:FS_ADMIN_TOKEN' } };

let ws: Workspace;
let pg: PostgresHandle;
let fs: FeatureSignals;
let seeded: SeededProject;
let cfg: string;
let env: Record<string, string>;
let workDir: string;
const left: Array<{ pgdata: string; pid: number }> = [];

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws));
  fs = await startFeatureSignals(pg);
  seeded = await seedProject(fs, pg);
  workDir = join(ws.dir, 'drills');
  mkdirSync(workDir, { mode: 0o755 });
  let doc = (await import('yaml')).parse(readFileSync(cfg, 'utf8'));
  // checkUrl names where recover finds a server started elsewhere; a drill must ignore it (it
  // could be production's), so here it points at a closed port the drill must never probe.
  doc = {
    ...doc,
    stack: { url: fs.url, keys: { prod: 'env:FS_PROD_KEY', staging: 'env:FS_STAGING_KEY' }, database: 'featuresignals', start: { ...serverStart, checkUrl: 'http://127.0.0.1:9' } },
    // The writer commits for 3 s with no archive_timeout: only its anchored first commit reaches
    // the archive, so about 3 s of acknowledged commits are lost, beyond an RPO objective of 1 s.
    drill: { ...(doc.drill ?? {}), workDir, writer: { enabled: true, seconds: 3, intervalMs: 100 } },
    // Generous RTO: the drill on this machine is well within an hour.
    objectives: { databaseCorruption: { rpoSeconds: 1, rtoSeconds: 3600 } },
  };
  cfg = ws.writeConfig(doc);
  env = { FS_PROD_KEY: seeded.keys.prod!, FS_STAGING_KEY: seeded.keys.staging!, FS_ADMIN_TOKEN: ADMIN_TOKEN };
  await fsdrOk(['--config', cfg, 'backup'], env);
  await fsdrOk(['--config', cfg, 'golden', 'capture'], env);
  await new Promise((r) => setTimeout(r, 1100));
  await waitArchived(pg, await switchWal(pg));
});

after(async () => {
  for (const l of left) {
    try { process.kill(-l.pid, 'SIGKILL'); } catch { /* gone */ }
    await stopRestored(l.pgdata).catch(() => undefined);
  }
  await fs?.close();
  await pg?.stop();
  ws?.cleanup();
});

test('drill restore on a seeded FeatureSignals stack passes (golden equal), records steps and objectives (RTO met), and leaves no process or directory behind', async () => {
  const r = await runFsdr(['--config', cfg, 'drill', 'restore', '--json'], env);
  const e = JSON.parse(r.stdout);
  const pid = e.steps.find((s: { name: string }) => s.name === 'start-server')?.detail?.pid as number;
  const pgdata = e.steps[0]?.detail?.pgdata as string;
  if (pid > 0 && alive(pid)) left.push({ pgdata, pid });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(e.kind, 'restore');
  assert.equal(e.result, 'ok');
  assert.deepEqual(e.steps.map((s: { name: string; ok: boolean }) => [s.name, s.ok]),
    [['restore', true], ['rpo', true], ['start-server', true], ['ready', true], ['golden', true], ['integration', true], ['switch', true], ['cleanup', true]]);
  for (const s of e.steps) assert.equal(typeof s.seconds, 'number');
  assert.match(e.steps[6].detail.skipped, /never moved/);
  // Isolated: archiving off, PostgreSQL and the server on free ports (not production's), under drill.workDir.
  assert.equal(e.steps[0].detail.archive, false);
  assert.notEqual(e.steps[0].detail.port, pg.port);
  assert.notEqual(e.steps[2].detail.url, fs.url);
  assert.ok(pgdata.startsWith(workDir + '/'), pgdata);
  const g = e.checks.golden;
  assert.equal(g.via.server.equal, true);
  assert.equal(g.via.sdk.equal, true);
  assert.deepEqual([g.changedAfterCapture, g.unexplained, g.unexplainedRulesets], [[], [], []]);
  assert.ok(e.checks.integration.ok);
  // Objectives: RTO measured and met; RPO measured by the writer's commit log: the copy holds
  // its commits up to the anchored first one, the ~3 s of acknowledged commits after it are lost.
  assert.ok(e.rtoSeconds > 0);
  assert.equal(e.objectives.scenario, 'database_corruption');
  assert.deepEqual(e.objectives.rto, { measuredSeconds: e.rtoSeconds, limitSeconds: 3600, met: true });
  const rpo = e.checks.rpo;
  assert.ok(rpo.commits >= 20, JSON.stringify(rpo));
  assert.equal(rpo.present + rpo.missing, rpo.commits);
  assert.ok(rpo.present >= 1 && rpo.missing >= 1, JSON.stringify(rpo));
  assert.equal(rpo.rpoSeconds, (Date.parse(rpo.lastCommitted) - Date.parse(rpo.recoveredThrough)) / 1000);
  assert.ok(e.rpoSeconds >= 2 && e.rpoSeconds < 60, `RPO ${e.rpoSeconds}`);
  assert.deepEqual(e.objectives.rpo, { measuredSeconds: e.rpoSeconds, limitSeconds: 1, met: false });
  // The writer wrote only its own schema, and removed it from the source after the drill.
  assert.equal((await pg.query<{ t: string | null }>(`SELECT to_regclass('fsdr_drill.commit_log')::text AS t`, [], 'featuresignals')).rows[0]!.t, null);
  // Nothing left: the server process is gone, the data directory and the work directory removed.
  assert.ok(pid > 0);
  assert.equal(alive(pid), false, 'the drill\'s server is stopped');
  assert.equal(existsSync(pgdata), false, 'pgdata removed');
  assert.deepEqual(readdirSync(workDir), [], 'the drill\'s temporary directory removed');
  assert.equal(e.stack, undefined);
  assert.equal(e.removeWith, undefined);

  // The evidence is in the repository, and the text form says met.
  const list = JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json'], env));
  assert.ok(list.some((d: { id: string; kind: string }) => d.id === e.id && d.kind === 'restore'), JSON.stringify(list));
  const shown = await fsdrOk(['--config', cfg, 'drill', 'show', e.id], env);
  assert.match(shown, /RTO \d+\.\d s <= 1 h: met/);
  assert.match(shown, /RPO \d+\.\d s > 1 s: NOT MET/);
  assert.match(shown, /writer: \d+ commits acknowledged, \d+ in the copy, \d+ lost/);
});

test('drill verify with stack.start: golden evaluations through the SDK against a server started on the copy, and RPO measured by the writer', async () => {
  const r = await runFsdr(['--config', cfg, 'drill', 'verify', '--work-dir', workDir, '--json'], env);
  const e = JSON.parse(r.stdout);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(e.steps.map((s: { name: string; ok: boolean }) => [s.name, s.ok]),
    [['verify', true], ['restore', true], ['rpo', true], ['amcheck', true], ['row-counts', true], ['recovered-point', true], ['golden', true], ['cleanup', true]]);
  const g = e.checks.golden;
  assert.equal(g.via.server.equal, true);
  assert.equal(g.via.sdk.equal, true);
  assert.equal(g.server.ready.ready.status, 200);
  assert.notEqual(g.server.url, fs.url, 'a server of its own on the copy');
  assert.ok(e.checks.rpo.commits > 0 && typeof e.rpoSeconds === 'number');
  assert.equal(e.objectives.rpo.measuredSeconds, e.rpoSeconds);
  assert.deepEqual(readdirSync(workDir), [], 'the copy and its server are removed');
});
