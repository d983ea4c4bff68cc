// Streaming archiving (issue 12, item 2): `fsdr stream` runs pg_receivewal on a replication slot
// and ships completed segments and, every partialSeconds, the segment being written. Under a
// client-side commit log the primary's postmaster and the streamer are killed (-9) together (a
// host loss: no last pass after the crash); `fsdr restore --latest` then
// recovers every commit acknowledged more than about partialSeconds before the kill, with row
// checksums consistent and pg_amcheck clean. With streaming off, nothing of it happens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { freePort } from '@featuresignals/testkit';
import pg from 'pg';
import { archivingCluster } from '../helpers/cluster.js';
import { asPostgres, FSDR_BIN, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { amcheck, queryPort, stopRestored } from '../helpers/restored.js';

const PARTIAL_SECONDS = 2;
let ws: Workspace;
let db: PostgresHandle;
let cfg: string;
let stream: ChildProcess | undefined;
const restored: string[] = [];

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(n);
    }
  };
  walk(dir);
  return out;
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopStream(): Promise<number | null> {
  const s = stream;
  stream = undefined;
  if (!s || s.exitCode !== null) return Promise.resolve(s?.exitCode ?? null);
  return new Promise((res) => {
    s.once('exit', (code) => res(code));
    s.kill('SIGTERM');
  });
}

before(async () => {
  ws = makeWorkspace();
  ({ pg: db, cfg } = await archivingCluster(ws, { archive: { streaming: { enabled: true, partialSeconds: PARTIAL_SECONDS, spoolPath: join(ws.dir, 'stream-spool') } } }));
});

after(async () => {
  await stopStream();
  for (const d of restored) await stopRestored(d);
  await db?.stop();
  ws?.cleanup();
});

test('streaming: kill -9 of the primary under a writer; restore --latest keeps every commit acknowledged more than ~partialSeconds before it', async (t) => {
  await db.query('CREATE TABLE commit_log (id int PRIMARY KEY, payload text NOT NULL)');
  await db.query('CREATE TABLE ballast (id serial PRIMARY KEY, pad text NOT NULL)');
  await fsdrOk(['--config', cfg, 'backup']);

  let streamErr = '';
  stream = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'stream'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...asPostgres() });
  stream.stderr!.on('data', (d: Buffer) => (streamErr += d));
  await waitFor('the first streamed partial', () => filesUnder(ws.repoDir).some((n) => n.endsWith('.stream.partial')));
  const idle = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).wal.timelines[0];
  assert.match(idle.streamed?.partial ?? '', /^[0-9A-F]{24}\.stream\.partial$/, `info shows the segment being written as the archive's end: ${JSON.stringify(idle)}`);
  assert.ok(idle.streamed.partial.slice(0, 24) > idle.last);
  const slot = await db.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = 'fsdr'");
  assert.equal(slot.rows[0]?.active, true, 'pg_receivewal holds the fsdr physical slot');
  const checked = JSON.parse((await runFsdr(['--config', cfg, 'check', '--json'])).stdout) as Array<{ check: string; status: string; message: string }>;
  const sc = checked.find((x) => x.check === 'streaming');
  assert.equal(sc?.status, 'warn', `fsdr check sees the slot held, and warns of unlimited max_slot_wal_keep_size: ${JSON.stringify(sc)}`);

  // The client-side commit log: an id is acknowledged once its COMMIT returned.
  const acked: Array<{ id: number; at: number }> = [];
  const c = new pg.Client({ connectionString: db.connectionString });
  c.on('error', () => undefined);
  await c.connect();
  const ballast = new pg.Client({ connectionString: db.connectionString });
  ballast.on('error', () => undefined);
  await ballast.connect();
  let writing = true;
  let writeError = '';
  const writer = (async () => {
    for (let id = 1; writing; id++) {
      try {
        await c.query('INSERT INTO commit_log (id, payload) VALUES ($1::int, md5($1::int::text))', [id]);
      } catch (err) {
        writeError = (err as Error).message;
        return;
      }
      acked.push({ id, at: Date.now() });
    }
  })();
  // Ballast so the segment fills and completes under the writer (a full segment, then a partial).
  const load = (async () => {
    while (writing) {
      try {
        await ballast.query("INSERT INTO ballast (pad) SELECT repeat(md5(g::text), 30) FROM generate_series(1, 300) g");
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        return;
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 10_000));
  // Host loss: the primary's postmaster and the streamer beside it (with its pg_receivewal) die
  // together, so only what the streamer had uploaded counts, not a last pass after the crash.
  const killedAt = Date.now();
  process.kill(-stream.pid!, 'SIGKILL');
  await db.kill();
  writing = false;
  await Promise.all([writer, load]);
  await c.end().catch(() => undefined);
  await ballast.end().catch(() => undefined);
  assert.ok(acked.length > 100, `the writer committed (${acked.length}; it stopped on: ${writeError})`);

  await new Promise<void>((r) => (stream!.exitCode !== null || stream!.signalCode !== null ? r() : stream!.once('exit', () => r())));
  assert.equal(stream.signalCode, 'SIGKILL', `the streamer was killed: ${streamErr}`);
  stream = undefined;

  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  const tl = info.wal.timelines.find((x: { timeline: number }) => x.timeline === 1);
  assert.deepEqual(tl.gaps, [], `no hole between the archived segments and the partial: ${JSON.stringify(tl)}`);
  assert.ok(tl.segments >= 3, 'completed segments were archived under the load');
  // The crash may fall just after a segment completed and before its successor's first upload.
  if (tl.streamed) assert.ok(tl.streamed.partial.slice(0, 24) > tl.last, 'a streamed partial shown is past the last full segment');

  const pgdata = join(ws.dir, 'restored');
  restored.push(pgdata);
  const port = await freePort();
  const r = await runFsdr(['--config', cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest', '--json']);
  assert.equal(r.code, 0, `restore --latest: ${r.stderr}`);

  const rows = await queryPort<{ id: number; payload: string; ok: boolean }>(port, 'SELECT id, payload, payload = md5(id::text) AS ok FROM commit_log ORDER BY id');
  assert.ok(rows.every((x) => x.ok), 'every restored row has its own checksum');
  const have = new Set(rows.map((x) => x.id));
  const maxAcked = acked.at(-1)!.id;
  assert.ok(rows.every((x) => x.id <= maxAcked + 1), 'nothing restored that the writer never sent');
  // Commits are acknowledged in id order: what is missing is a tail.
  const missing = acked.filter((a) => !have.has(a.id));
  assert.ok(missing.every((m, i) => i === 0 || m.id === missing[i - 1]!.id + 1) && (missing.length === 0 || missing.at(-1)!.id === maxAcked), 'the missing commits are the newest ones, none from the middle');
  const spanSeconds = missing.length ? Math.max(0, killedAt - missing[0]!.at) / 1000 : 0;
  t.diagnostic(`streaming RPO: ${acked.length} commits acknowledged, ${missing.length} missing after restore --latest, the oldest missing acknowledged ${spanSeconds.toFixed(2)} s before kill -9 of the primary and the streamer (partialSeconds ${PARTIAL_SECONDS}); last acknowledged ${((acked.at(-1)!.at - killedAt) / 1000).toFixed(2)} s after the kill began`);
  assert.ok(spanSeconds <= 2 + PARTIAL_SECONDS, `missing commits span ${spanSeconds.toFixed(2)} s before the kill (bound ${2 + PARTIAL_SECONDS} s)`);

  const check = amcheck(port);
  assert.equal(check.code, 0, check.output);
});

test('streaming off: no slot, no streamed object, `fsdr stream` refuses and names the setting', async () => {
  const ws2 = makeWorkspace();
  const { pg: db2, cfg: cfg2 } = await archivingCluster(ws2);
  try {
    const check = JSON.parse(await fsdrOk(['--config', cfg2, 'config', 'check', '--json']));
    assert.equal(check.config.archive.streaming.enabled, false);
    await db2.query('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
    await waitArchived(db2, await switchWal(db2));
    const r = await runFsdr(['--config', cfg2, 'stream']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /archive\.streaming: is off/);
    assert.equal((await db2.query('SELECT count(*)::int AS n FROM pg_replication_slots')).rows[0].n, 0, 'no replication slot');
    assert.deepEqual(filesUnder(ws2.repoDir).filter((n) => n.includes('.stream.')), [], 'no streamed object');
    const info = JSON.parse(await fsdrOk(['--config', cfg2, 'info', '--json']));
    assert.equal(info.wal.timelines[0].streamed, undefined);
    const checked = JSON.parse((await runFsdr(['--config', cfg2, 'check', '--json'])).stdout) as Array<{ check: string }>;
    assert.ok(checked.length > 3 && !checked.some((x) => x.check === 'streaming'), 'fsdr check has no streaming line');
  } finally {
    await db2.stop();
    ws2.cleanup();
  }
});

test('the agent streams in-process: /metrics RPO exposure stays near partialSeconds while archive_command has not taken the segment; a killed pg_receivewal is restarted', async (t) => {
  const ws3 = makeWorkspace();
  const port = await freePort();
  const token = 'stream-test-token-0123456789';
  const { pg: db3, cfg: cfg3 } = await archivingCluster(ws3, {
    archive: { streaming: { enabled: true, partialSeconds: PARTIAL_SECONDS, spoolPath: join(ws3.dir, 'stream-spool') } },
    schedule: { backup: 'off', dump: 'off', expire: 'off', verify: 'off', replicate: 'off', drillVerify: 'off', drillTabletop: 'off', drillRestore: 'off' },
    agent: { listen: `127.0.0.1:${port}`, token: 'env:FSDR_STREAM_TEST_TOKEN', monitorIntervalSeconds: 1 },
  });
  let agentErr = '';
  const agent = spawn(process.execPath, [FSDR_BIN, '--config', cfg3, 'agent'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FSDR_STREAM_TEST_TOKEN: token }, ...asPostgres() });
  agent.stderr!.on('data', (d: Buffer) => (agentErr += d));
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } })).text();
  const exposure = async () => Number(/^fsdr_wal_rpo_exposure_seconds (\S+)$/m.exec(await get('/metrics'))?.[1]);
  const status = async () => JSON.parse(await get('/status')) as { streaming?: { receiver: { restarts: number; running: boolean }; partial?: { uploadedAt: string } } };
  try {
    await waitFor('the agent\'s first streamed partial', async () => !!(await status().catch(() => ({} as never)))?.streaming?.partial);
    const startSegment = (await db3.query<{ w: string }>('SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS w')).rows[0]!.w;
    await db3.query('CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT now())');
    const started = Date.now();
    const seen: number[] = [];
    while (Date.now() - started < 12_000) {
      await db3.query('INSERT INTO t DEFAULT VALUES');
      await new Promise((r) => setTimeout(r, 500));
      seen.push(await exposure());
    }
    const stillWriting = (await db3.query<{ w: string }>('SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS w')).rows[0]!.w;
    assert.equal(stillWriting, startSegment, 'the writes stayed in one segment, which archive_command never took');
    const elapsed = (Date.now() - started) / 1000;
    // Without the stream the exposure would be the age of the first commit (about `elapsed`).
    const late = seen.slice(-6);
    t.diagnostic(`agent /metrics fsdr_wal_rpo_exposure_seconds under one commit per 0.5 s, segment unarchived for ${elapsed.toFixed(0)} s: max ${Math.max(...seen.slice(4))} s, last six ${late.join(', ')}`);
    assert.ok(late.every((x) => x < elapsed / 2), `exposure follows the stream (${late.join(', ')} s) instead of the segment's age (${elapsed.toFixed(0)} s)`);

    // pg_receivewal killed: the agent restarts it (backoff) and the slot is held again.
    const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        const st = readFileSync(`/proc/${p}/stat`, 'utf8');
        return st.includes('(pg_receivewal)') && st.split(') ')[1]!.split(' ')[1] === String(agent.pid);
      } catch {
        return false;
      }
    });
    assert.equal(pids.length, 1, 'the agent runs one pg_receivewal');
    process.kill(Number(pids[0]), 'SIGKILL');
    await waitFor('the receiver restarted', async () => (await status()).streaming!.receiver.restarts >= 1 && (await status()).streaming!.receiver.running);
    await waitFor('the slot held again', async () => (await db3.query("SELECT active FROM pg_replication_slots WHERE slot_name = 'fsdr'")).rows[0]?.active === true);
    const before = (await status()).streaming!.partial!.uploadedAt;
    await db3.query('INSERT INTO t DEFAULT VALUES');
    await waitFor('a partial uploaded after the restart', async () => (await status()).streaming!.partial!.uploadedAt > before);
  } finally {
    await new Promise<void>((r) => {
      if (agent.exitCode !== null) return r();
      agent.once('exit', () => r());
      agent.kill('SIGTERM');
    });
    await db3.stop();
    ws3.cleanup();
  }
  assert.equal(agent.exitCode, 0, agentErr.slice(-2000));
});
