// fsdr check against real PostgreSQL 15 clusters: a healthy archiving one passes every check and
// reports how long a switched segment took to arrive; a wrong cluster.pgdata, archive_mode=off,
// a repository initialised for another cluster and an unreachable bucket each fail naming the
// problem, while the other checks are still listed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { asPostgres, fsdrOk, giveToPostgres, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';

let ws: Workspace;
let pgA: PostgresHandle;
let pgB: PostgresHandle;
let standby: PostgresHandle | undefined;
let cfgA: string;
let docA: Record<string, unknown>;
let repoB: string;
const ENV = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

interface Line { check: string; status: string; message: string; hint?: string; seconds?: number }
const byName = (lines: Line[], name: string) => lines.find((l) => l.check === name) ?? assert.fail(`no ${name} line in ${JSON.stringify(lines)}`);
async function checkJson(cfg: string, args: string[] = []): Promise<{ code: number; lines: Line[]; stderr: string }> {
  const r = await runFsdr(['--config', cfg, 'check', '--json', ...args], ENV);
  return { code: r.code, lines: JSON.parse(r.stdout) as Line[], stderr: r.stderr };
}

before(async () => {
  ws = makeWorkspace();
  // wal_log_hints: the failback prerequisite, so a healthy cluster has no warning at all.
  ({ pg: pgA, cfg: cfgA } = await archivingCluster(ws, {}, { wal_log_hints: true }));
  docA = {
    cluster: { connection: pgA.connectionString, pgdata: pgA.pgdata },
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
  };
  // A second cluster, started without archiving, with its own initialised repository.
  pgB = await startPostgres({ settings: { wal_log_hints: true } });
  repoB = join(ws.dir, 'repo-b');
  mkdirSync(repoB);
  giveToPostgres(repoB);
  await fsdrOk(['--config', cfgB(), 'init']);
});

after(async () => {
  await pgA?.stop();
  await pgB?.stop();
  await standby?.stop();
  ws?.cleanup();
});

function cfgB(): string {
  return ws.writeConfig({
    cluster: { connection: pgB.connectionString, pgdata: pgB.pgdata },
    repositories: { primary: { type: 'fs', path: repoB } },
    encryption: { masterKey: `file:${ws.keyFile}` },
  }, 'b.yaml');
}

test('a healthy archiving cluster: every check ok, exit 0, the WAL switch reports its seconds', async () => {
  const r = await runFsdr(['--config', cfgA, 'check'], ENV);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const l of lines) assert.match(l, /^ok {4}/, r.stdout);
  for (const name of ['config', 'master key', 'repository primary', 'cluster.connection', 'cluster.pgdata', 'archive_mode', 'archive_command', 'wal_level', 'failback (pg_rewind)', 'wal switch']) {
    assert.ok(lines.some((l) => l.slice(6).startsWith(name)), `${name} in\n${r.stdout}`);
  }
  assert.match(r.stdout, /wal switch +[0-9A-F]{24} reached repository primary in \d+\.\ds/);
});

test('--json gives the list of checks with status, message and the WAL switch seconds', async () => {
  const { code, lines } = await checkJson(cfgA);
  assert.equal(code, 0);
  assert.ok(Array.isArray(lines));
  for (const l of lines) {
    assert.equal(typeof l.check, 'string');
    assert.ok(['ok', 'fail', 'warn', 'skip'].includes(l.status), l.status);
    assert.equal(typeof l.message, 'string');
  }
  const sw = byName(lines, 'wal switch');
  assert.equal(sw.status, 'ok');
  assert.equal(typeof sw.seconds, 'number');
  assert.ok(sw.seconds! >= 0 && sw.seconds! < 60);
});

test('a wrong cluster.pgdata fails naming it, and the other checks are still listed', async () => {
  const wrong = join(ws.dir, 'not-pgdata');
  mkdirSync(wrong);
  const cfg = ws.writeConfig({ ...docA, cluster: { connection: pgA.connectionString, pgdata: wrong } }, 'wrong-pgdata.yaml');
  const r = await runFsdr(['--config', cfg, 'check'], ENV);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, new RegExp(`^FAIL  cluster\\.pgdata +cluster\\.pgdata ${wrong} is not the data directory of the connected server: cannot read PG_VERSION`, 'm'));
  assert.match(r.stdout, /hint: set cluster\.pgdata/);
  for (const name of ['repository primary', 'archive_mode', 'wal_level', 'wal switch']) assert.match(r.stdout, new RegExp(`^ok {4}${name}`, 'm'));
});

test('archive_mode=off fails on archive_mode and on the WAL switch', async () => {
  const { code, lines } = await checkJson(cfgB());
  assert.equal(code, 1);
  const mode = byName(lines, 'archive_mode');
  assert.equal(mode.status, 'fail');
  assert.match(mode.message, /archive_mode is off/);
  assert.match(mode.hint!, /archive_mode = on/);
  const sw = byName(lines, 'wal switch');
  assert.equal(sw.status, 'fail');
  assert.match(sw.message, /archive_mode is off/);
  assert.equal(byName(lines, 'repository primary').status, 'ok');
  assert.equal(byName(lines, 'cluster.pgdata').status, 'ok');
});

test('a repository initialised for another cluster fails naming both system identifiers', async () => {
  const sysA = (await pgA.query<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()')).rows[0]!.s;
  const sysB = (await pgB.query<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()')).rows[0]!.s;
  assert.notEqual(sysA, sysB);
  const cfg = ws.writeConfig({ ...docA, repositories: { primary: { type: 'fs', path: ws.repoDir }, other: { type: 'fs', path: repoB } } }, 'other-cluster.yaml');
  const { code, lines } = await checkJson(cfg);
  assert.equal(code, 1);
  const other = byName(lines, 'repository other');
  assert.equal(other.status, 'fail');
  assert.match(other.message, new RegExp(`belongs to cluster ${sysB}, the connected cluster is ${sysA}`));
  assert.equal(byName(lines, 'repository primary').status, 'ok');
  assert.equal(byName(lines, 'wal switch').status, 'ok');
});

test('an unreachable bucket fails within its timeouts, naming the repository; the rest still runs', async () => {
  const closed = await freePort();
  const cfg = ws.writeConfig({
    ...docA,
    repositories: {
      primary: { type: 'fs', path: ws.repoDir },
      offsite: { type: 's3', bucket: 'fsdr-offsite', endpoint: `http://127.0.0.1:${closed}`, forcePathStyle: true, timeouts: { connectSeconds: 1, idleSeconds: 2 }, attempts: 1 },
    },
  }, 'unreachable.yaml');
  const t0 = Date.now();
  const r = await runFsdr(['--config', cfg, 'check', '--timeout', '20'], ENV);
  const secs = (Date.now() - t0) / 1000;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^FAIL  repository offsite +.*s3://fsdr-offsite.*127\\.0\\.0\\.1:${closed}`, 'm'));
  assert.match(r.stdout, /^ok {4}repository primary/m);
  assert.match(r.stdout, /^ok {4}wal switch/m);
  assert.ok(secs < 20, `took ${secs}s`);
});

test('--repo checks only the named repository; an unknown name is a config error (exit 2)', async () => {
  const { code, lines } = await checkJson(cfgA, ['--repo', 'primary']);
  assert.equal(code, 0);
  assert.equal(lines.filter((l) => l.check.startsWith('repository ')).length, 1);
  const bad = await runFsdr(['--config', cfgA, 'check', '--repo', 'nope'], ENV);
  assert.equal(bad.code, 2);
  assert.match(bad.stdout, /^FAIL  config +no repository named nope/m);
});

test('a config that cannot be read is one FAIL line and exit 2', async () => {
  const r = await runFsdr(['--config', join(ws.dir, 'missing.yaml'), 'check'], ENV);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /^FAIL  config  cannot read configuration file/m);
});

test('a key file others can read fails the key check; the repositories are still reached, the switch is skipped', async () => {
  const loose = join(ws.dir, 'loose.key');
  copyFileSync(ws.keyFile, loose);
  chmodSync(loose, 0o644);
  const { code, lines } = await checkJson(ws.writeConfig({ ...docA, encryption: { masterKey: `file:${loose}` } }, 'loose.yaml'));
  assert.equal(code, 1);
  const key = byName(lines, 'master key');
  assert.equal(key.status, 'fail');
  assert.match(key.message, /accessible by others \(mode 0644\)/);
  assert.equal(byName(lines, 'repository primary').status, 'warn');
  assert.equal(byName(lines, 'archive_mode').status, 'ok');
  assert.equal(byName(lines, 'wal switch').status, 'skip');
});

test('on a standby the WAL switch is skipped with a line; the rest passes', async () => {
  const dir = join(ws.dir, 'standby');
  mkdirSync(dir, { mode: 0o700 });
  giveToPostgres(dir);
  execFileSync(join(pgA.binDir, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(pgA.port), '-U', 'postgres', '-D', dir, '-R', '-X', 'stream'], { ...asPostgres(), stdio: 'pipe' });
  standby = await startPostgres({ pgdata: dir });
  const cfg = ws.writeConfig({ ...docA, cluster: { connection: standby.connectionString, pgdata: dir } }, 'standby.yaml');
  const { code, lines } = await checkJson(cfg);
  assert.equal(code, 0, JSON.stringify(lines));
  const sw = byName(lines, 'wal switch');
  assert.equal(sw.status, 'skip');
  assert.match(sw.message, /standby/);
  assert.equal(byName(lines, 'cluster.pgdata').status, 'ok');
  assert.equal(byName(lines, 'repository primary').status, 'ok');
});

test('a repository written with another master key fails naming both key ids; the WAL switch waits for it', async () => {
  const otherKey = join(ws.dir, 'other.key');
  writeFileSync(otherKey, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const { code, lines } = await checkJson(ws.writeConfig({ ...docA, encryption: { masterKey: `file:${otherKey}` } }, 'other-key.yaml'));
  assert.equal(code, 1);
  assert.equal(byName(lines, 'master key').status, 'ok');
  const repo = byName(lines, 'repository primary');
  assert.equal(repo.status, 'fail');
  assert.match(repo.message, /was encrypted with master key [0-9a-f]+, but the configured key is [0-9a-f]+/);
  assert.equal(byName(lines, 'wal switch').status, 'skip');
});
