// fsdr golden capture|list|show against real PostgreSQL 15 and the real FeatureSignals server on
// a database of the archiving cluster: the capture is an encoded object under drills/golden/ with
// the cluster's LSN, equal to a direct recordFromServer; a rejected key or a server that is down
// is one line naming the cause, and nothing is written. The agent captures after its backup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { recordFromServer, verifyAgainst } from '@featuresignals/server';
import { archivingCluster } from '../helpers/cluster.js';
import { FSDR_BIN, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { ADMIN_TOKEN, seedProject, startFeatureSignals, type FeatureSignals, type SeededProject } from '../helpers/featuresignals.js';
import { freePort, waitUntil } from '@featuresignals/testkit';

let ws: Workspace;
let pg: PostgresHandle;
let fs: FeatureSignals;
let seeded: SeededProject;
let cfg: string;
let doc: Record<string, unknown>;

const goldenDir = () => join(ws.repoDir, 'drills', 'golden');
const captures = () => (existsSync(goldenDir()) ? readdirSync(goldenDir()).filter((f) => f.endsWith('.json')).sort() : []);

/** A config with this stack section (the archiving cluster's config otherwise). */
function withStack(stack: Record<string, unknown>, name: string): string {
  return ws.writeConfig({ ...doc, stack }, name);
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws));
  fs = await startFeatureSignals(pg);
  seeded = await seedProject(fs, pg);
  doc = (await import('yaml')).parse(readFileSync(cfg, 'utf8'));
  // prod's key from the environment, staging's from a file: both secret reference forms.
  writeFileSync(join(ws.dir, 'staging.key'), seeded.keys.staging! + '\n', { mode: 0o600 });
  cfg = withStack({ url: fs.url, keys: { prod: 'env:FS_PROD_KEY', staging: `file:${join(ws.dir, 'staging.key')}` } }, 'fsdr.yaml');
});

after(async () => {
  await fs?.close();
  await pg?.stop();
  ws?.cleanup();
});

test('golden capture stores an encoded capture with the LSN; list and show read it; it equals a direct recordFromServer', async () => {
  const env = { FS_PROD_KEY: seeded.keys.prod! };
  const r = await runFsdr(['--config', cfg, 'golden', 'capture', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.match(s.id, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  assert.deepEqual(Object.keys(s.envs).sort(), ['prod', 'staging']);
  assert.equal(s.envs.prod.flags, 5);
  assert.equal(s.flags, 10);
  assert.ok(s.contexts >= 1000, `contexts: ${s.contexts}`);
  assert.equal(s.server, fs.url);
  // The LSN was read after the capture, on the cluster's current timeline.
  assert.match(s.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
  assert.equal(s.timeline, 1);
  const now = (await pg.query<{ ok: boolean }>('SELECT $1::pg_lsn <= pg_current_wal_lsn() AS ok', [s.lsn])).rows[0]!.ok;
  assert.equal(now, true);

  // One object, encrypted like every object: the plaintext never reaches the repository.
  assert.deepEqual(captures(), [`${s.id}.json`]);
  const raw = readFileSync(join(goldenDir(), `${s.id}.json`));
  assert.ok(!raw.includes(Buffer.from('new-checkout')), 'the capture is encoded');

  const list = JSON.parse(await fsdrOk(['--config', cfg, 'golden', 'list', '--json']));
  assert.deepEqual(list.map((x: { id: string }) => x.id), [s.id]);
  const shown = JSON.parse(await fsdrOk(['--config', cfg, 'golden', 'show', s.id, '--json']));
  assert.deepEqual(shown, s);
  // Golden captures sit below drills/ but are not drill evidence.
  assert.deepEqual(JSON.parse(await fsdrOk(['--config', cfg, 'drill', 'list', '--json'])), []);

  // The same server state recorded directly: the same versions, ruleset digests and fingerprint.
  const direct = await recordFromServer({ url: fs.url, keys: seeded.keys });
  for (const e of ['prod', 'staging']) {
    assert.equal(shown.envs[e].version, direct.envs[e]!.version);
    assert.equal(shown.envs[e].rulesetSha256, direct.envs[e]!.rulesetSha256);
  }
  assert.equal(shown.fingerprint, direct.fingerprint);
  assert.equal(shown.contexts, direct.contexts.length);
  assert.notEqual(shown.envs.prod.rulesetSha256, shown.envs.staging.rulesetSha256, 'staging differs from prod');
  const record = JSON.parse(await fsdrOk(['--config', cfg, 'golden', 'show', s.id, '--record']));
  assert.deepEqual(record.lines, direct.lines, 'the stored record is the record');

  const text = await fsdrOk(['--config', cfg, 'golden', 'show', s.id]);
  assert.match(text, new RegExp(`LSN ${s.lsn.replace('/', '\\/')} on timeline 1`));
  assert.match(text, /prod: version \d+, 5 flags/);
});

test('against a server without /v1/ruleset (stock FeatureSignals) the capture uses only the public SDK API', async () => {
  const before = captures();
  const { startServer } = await import('@featuresignals/server');
  const stock = await startServer({ databaseUrl: pg.url('featuresignals'), adminToken: ADMIN_TOKEN, port: 0, host: '127.0.0.1', disableRuleset: true, scheduler: false });
  try {
    await waitUntil(async () => ((await fetch(stock.url + '/ready')).status === 200 ? true : undefined), 20_000, 'stock /ready');
    assert.equal((await fetch(`${stock.url}/v1/ruleset/prod`, { headers: { 'X-API-Key': seeded.keys.prod! } })).status, 404);
    const c = withStack({ url: stock.url, keys: { prod: 'env:FS_PROD_KEY', staging: `file:${join(ws.dir, 'staging.key')}` } }, 'stock.yaml');
    const r = await runFsdr(['--config', c, 'golden', 'capture', '--json'], { FS_PROD_KEY: seeded.keys.prod! });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.envs.prod.flags, 5);
    assert.equal(s.envs.prod.rulesetSha256, '');
    assert.deepEqual(captures(), [...before, `${s.id}.json`].sort());
    const record = JSON.parse(await fsdrOk(['--config', c, 'golden', 'show', s.id, '--record']));
    // The same evaluations as the normal server gives for these (key-only) contexts.
    const v = await verifyAgainst(record, { url: fs.url, keys: seeded.keys });
    assert.equal(v.server.equal, true, JSON.stringify(v.server.differences.slice(0, 3)));
    assert.equal(v.sdk.equal, true, JSON.stringify(v.sdk.differences.slice(0, 3)));
    assert.match(await fsdrOk(['--config', c, 'golden', 'show', s.id]), /prod: version 0, 5 flags, no ruleset endpoint/);
  } finally {
    await stock.close();
  }
});

test('a key the server rejects fails the capture with one line naming 401 and the environment; nothing is written', async () => {
  const before = captures();
  const bad = withStack({ url: fs.url, keys: { prod: 'env:FS_PROD_KEY', staging: 'env:FS_STAGING_KEY' } }, 'bad-key.yaml');
  const r = await runFsdr(['--config', bad, 'golden', 'capture'], { FS_PROD_KEY: seeded.keys.prod!, FS_STAGING_KEY: 'fs_srv_' + '0'.repeat(48) });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^fsdr: the server rejected the API key of environment staging \(401 unauthorized\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(!r.stderr.includes('0'.repeat(48)), 'the key is never printed');
  assert.deepEqual(captures(), before);
});

test('a server that is down fails the capture naming it unreachable; nothing is written', async () => {
  const before = captures();
  const down = withStack({ url: `http://127.0.0.1:${await freePort()}`, keys: { prod: 'env:FS_PROD_KEY' } }, 'down.yaml');
  const r = await runFsdr(['--config', down, 'golden', 'capture'], { FS_PROD_KEY: seeded.keys.prod! });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^fsdr: the FeatureSignals server at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.deepEqual(captures(), before);
  // Without a stack section the command says what is missing.
  const none = await runFsdr(['--config', ws.writeConfig(doc, 'no-stack.yaml'), 'golden', 'capture']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /stack: required for fsdr golden capture/);
});

test('the agent captures a golden set after its backup, and the capture is in the backup job\'s summary', async () => {
  const before = captures();
  const port = await freePort();
  const TOKEN = 'golden-agent-token';
  // The backup has never run (overdue at start); the hourly golden job is off so only the backup captures.
  const agentCfg = ws.writeConfig({
    ...doc, stack: { url: fs.url, keys: { prod: 'env:FS_PROD_KEY' } },
    schedule: { backup: '0 3 * * *', dump: 'off', expire: 'off', verify: 'off', replicate: 'off', drillVerify: 'off', drillRestore: 'off', golden: 'off' },
    agent: { listen: `127.0.0.1:${port}`, token: 'env:FSDR_AGENT_TOKEN' },
  }, 'agent.yaml');
  const agent: ChildProcess = spawn(process.execPath, [FSDR_BIN, '--config', agentCfg, 'agent'], { env: { ...process.env, FS_PROD_KEY: seeded.keys.prod!, FSDR_AGENT_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    const url = `http://127.0.0.1:${port}`;
    const backup = await waitUntil(async () => {
      const res = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined);
      const j = res?.ok ? ((await res.json()) as any).jobs.find((x: any) => x.name === 'backup') : undefined;
      return j?.lastRun?.finishedAt ? j : undefined;
    }, 120_000, 'the agent\'s backup');
    assert.equal(backup.lastRun.ok, true, JSON.stringify(backup.lastRun));
    const id = backup.lastRun.summary.golden?.id;
    assert.ok(id, JSON.stringify(backup.lastRun.summary));
    assert.deepEqual(captures(), [...before, `${id}.json`].sort());
    const shown = JSON.parse(await fsdrOk(['--config', cfg, 'golden', 'show', id, '--json']));
    assert.deepEqual(Object.keys(shown.envs), ['prod']);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  }
});

test('a server on another cluster than the repository\'s is refused; nothing is written', async () => {
  const before = captures();
  const { startPostgres } = await import('@featuresignals/testkit');
  const other = await startPostgres();
  const elsewhere = await startFeatureSignals(other);
  try {
    const k = await seedProject(elsewhere, other);
    const wrong = withStack({ url: elsewhere.url, keys: { prod: 'env:FS_PROD_KEY' } }, 'elsewhere.yaml');
    const r = await runFsdr(['--config', wrong, 'golden', 'capture'], { FS_PROD_KEY: k.keys.prod! });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^fsdr: the server at http:\/\/\S+ serves prod from database \d+, not from cluster \d+ \(cluster\.connection\)/);
    assert.deepEqual(captures(), before);
  } finally {
    await elsewhere.close();
    await other.stop();
  }
});
