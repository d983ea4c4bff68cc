// The fast archive_command (bin/fsdr-archive.sh): it says "archived" only for a segment the
// background pusher stored and recorded. The pusher is killed with -9 at random points, and right
// after a segment's object lands (between the PUT and its status record), many times over a real
// fs repository and once over moto S3; every segment the shell confirms is then read back from the
// repository byte for byte, and the fallback (the full wal-push) archives the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, startPostgres, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { FSDR_BIN, fsdrOk, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { pgbench } from '../helpers/pg-load.js';
import { createBucket, s3Client } from '../helpers/s3.js';
import { loadConfig } from '../../src/config/load.js';
import { Repository } from '../../src/repository/repository.js';
import { parseWalName } from '../../src/postgres/wal-name.js';
import { archiveCommandFor } from '../../src/commands/wal-push/archive-command.js';

const SCRIPT = join(FSDR_BIN, '..', 'fsdr-archive.sh');
let ws: Workspace;
let pg: PostgresHandle;
let moto: MotoHandle | undefined;
let pgWal: string;
let segments: string[] = [];
let template: string;

function baseDoc(run: string, repo: Record<string, unknown>) {
  return {
    cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
    repositories: { primary: repo },
    encryption: { masterKey: `file:${ws.keyFile}` },
    archive: { async: true, processes: 3, spoolPath: join(ws.dir, run, 'spool'), timeoutSeconds: 60 },
  };
}

before(async () => {
  ws = makeWorkspace();
  pg = await startPostgres({ settings: { wal_level: 'replica', wal_keep_size: 2048 } });
  await pgbench(pg, ['-i', '-s', '5', '-q']);
  await pg.query('SELECT pg_switch_wal()');
  const current = (await pg.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]!.f;
  // Completed segments of a real cluster, copied once into a pg_wal of our own.
  pgWal = join(ws.dir, 'pg_wal');
  mkdirSync(join(pgWal, 'archive_status'), { recursive: true });
  segments = readdirSync(join(pg.pgdata, 'pg_wal')).filter((n) => /^[0-9A-F]{24}$/.test(n) && n < current).sort().slice(-6);
  for (const n of segments) copyFileSync(join(pg.pgdata, 'pg_wal', n), join(pgWal, n));
  assert.ok(segments.length >= 4, `${segments.length} segments`);
  template = join(ws.dir, 'template-repo');
  mkdirSync(template);
  const cfg = ws.writeConfig(baseDoc('template', { type: 'fs', path: template }), 'template.yaml');
  await fsdrOk(['--config', cfg, 'init']);
});

after(async () => {
  await pg?.stop();
  await moto?.stop();
  ws?.cleanup();
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The shell alone (no fallback): exit 0 is its claim that the segment is archived. */
function shellConfirms(statusDir: string, name: string): boolean {
  return spawnSync('/bin/sh', [SCRIPT, statusDir, join(pgWal, name)]).status === 0;
}

async function assertStored(cfgPath: string, names: string[]): Promise<void> {
  const repo = await Repository.open(loadConfig(cfgPath));
  try {
    for (const n of names) {
      const out = join(ws.dir, `fetched-${n}`);
      rmSync(out, { force: true });
      await repo.wal.fetch(parseWalName(n)!, out);
      assert.ok(readFileSync(out).equals(readFileSync(join(pgWal, n))), `${n} in the repository is the segment`);
      rmSync(out);
    }
  } finally {
    await repo.close();
  }
}

interface RunResult {
  confirmed: number;
}

/**
 * One crash: a fresh repository and spool, a pusher killed -9 after `delayMs` (or, with
 * `afterObjects`, right after that many segment objects landed in the fs repository).
 */
async function crashRun(run: string, repo: Record<string, unknown>, how: { delayMs?: number; afterObjects?: number; noKill?: boolean }): Promise<RunResult> {
  mkdirSync(join(ws.dir, run, 'spool'), { recursive: true, mode: 0o700 });
  const cfgPath = ws.writeConfig(baseDoc(run, repo), `${run}.yaml`);
  const status = join(pgWal, 'archive_status');
  for (const f of readdirSync(status)) rmSync(join(status, f));
  for (const n of segments) writeFileSync(join(status, `${n}.ready`), '');
  const { statusDir } = await archiveCommandFor(loadConfig(cfgPath));

  const pusher = spawn(process.execPath, [FSDR_BIN, 'archive-push-async', '--pg-wal', pgWal, '--config', cfgPath], { stdio: 'ignore', env: { ...process.env } });
  const exited = once(pusher, 'exit');
  if (how.noKill) {
    await exited;
  } else {
    if (how.afterObjects !== undefined) {
      const walDir = join(repo.path as string, 'wal');
      const count = () => (existsSync(walDir) ? readdirSync(walDir).flatMap((d) => (d.length === 16 ? readdirSync(join(walDir, d)) : [])).filter((f) => !f.includes('.tmp') && !f.startsWith('.')).length : 0);
      const deadline = Date.now() + 60_000;
      while (count() < how.afterObjects && Date.now() < deadline) await sleep(1);
      await sleep(Math.floor(Math.random() * 4));
    } else {
      await sleep(how.delayMs ?? 0);
    }
    pusher.kill('SIGKILL');
    await exited;
  }

  const confirmed = segments.filter((n) => shellConfirms(statusDir, n));
  await assertStored(cfgPath, confirmed);
  // The fallback: the full wal-push (async: it starts a pusher and waits for it) for the rest.
  const fallback = [process.execPath, FSDR_BIN, '--config', cfgPath, 'wal-push'];
  for (const n of segments.filter((s) => !confirmed.includes(s))) {
    const r = spawnSync('/bin/sh', [SCRIPT, statusDir, join(pgWal, n), ...fallback], { encoding: 'utf8' });
    assert.equal(r.status, 0, `fallback for ${n}: ${r.stderr}`);
  }
  await assertStored(cfgPath, segments);
  return { confirmed: confirmed.length };
}

test('kill -9 of the pusher at any point: archive_command never confirms a segment the repository lacks; the fallback archives it', async () => {
  const results: RunResult[] = [];
  const fsRepo = (run: string) => {
    const path = join(ws.dir, run, 'repo');
    mkdirSync(join(ws.dir, run), { recursive: true });
    cpSync(template, path, { recursive: true });
    return { type: 'fs', path };
  };
  // The two extremes first: killed before it read anything, and never killed.
  results.push(await crashRun('run-0', fsRepo('run-0'), { delayMs: 0 }));
  const t0 = Date.now();
  results.push(await crashRun('run-1', fsRepo('run-1'), { noKill: true }));
  // Random kills spread over how long a whole run takes on this machine now (start, push, idle).
  const whole = Date.now() - t0;
  assert.equal(results[0]!.confirmed, 0, 'a pusher killed at once confirmed nothing');
  assert.equal(results[1]!.confirmed, segments.length, 'a pusher that finished confirmed every segment');
  for (let i = 2; i < 10; i++) {
    const run = `run-${i}`;
    // Half right after an object landed (between the PUT and its record), half at random times.
    const how = i % 2 === 0 ? { afterObjects: 1 + (i % segments.length) } : { delayMs: Math.floor(whole * (0.2 + Math.random() * 0.5)) };
    results.push(await crashRun(run, fsRepo(run), how));
  }
  const partial = results.filter((r) => r.confirmed > 0 && r.confirmed < segments.length).length;
  // Not an assertion on timing: the counts only show which windows the kills hit.
  console.log(`confirmed per run: ${results.map((r) => r.confirmed).join(' ')} (${partial} runs killed between segments)`);
});

test('over S3 (moto): killed right after the first object, then the fallback', async () => {
  moto = await startMoto();
  await createBucket(s3Client(moto), 'fsdr-confirm', false);
  Object.assign(process.env, moto.env);
  const repo = { type: 's3', bucket: 'fsdr-confirm', region: 'us-east-1', endpoint: moto.endpoint, prefix: 'c', forcePathStyle: true };
  const cfg = ws.writeConfig(baseDoc('s3', repo), 's3-init.yaml');
  await fsdrOk(['--config', cfg, 'init']);
  const r = await crashRun('s3', repo, { delayMs: 400 + Math.floor(Math.random() * 800) });
  console.log(`s3: ${r.confirmed} of ${segments.length} confirmed before the fallback`);
});

test('a record never answers for a changed file, nor from a directory others can write', async () => {
  const cfgPath = join(ws.dir, 'run-1.yaml');
  const { statusDir } = await archiveCommandFor(loadConfig(cfgPath));
  const [a, b] = segments;
  assert.ok(shellConfirms(statusDir, a!) && shellConfirms(statusDir, b!), 'confirmed after the pusher stored them');
  // Same name, same size, other bytes (a recycled segment rewritten, a restored cluster reusing names).
  const path = join(pgWal, a!);
  const original = readFileSync(path);
  const other = Buffer.from(original);
  other[100] = other[100]! ^ 0xff;
  writeFileSync(path, other);
  assert.equal(shellConfirms(statusDir, a!), false, 'a rewritten file is not confirmed');
  writeFileSync(path, original);
  assert.equal(shellConfirms(statusDir, a!), false, 'nor the original bytes written again (a new ctime)');
  chmodSync(statusDir, 0o770);
  try {
    assert.equal(shellConfirms(statusDir, b!), false, 'a group-writable status directory is not trusted');
  } finally {
    chmodSync(statusDir, 0o700);
  }
  assert.ok(shellConfirms(statusDir, b!));
});
