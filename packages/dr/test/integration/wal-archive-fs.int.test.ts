// WAL archiving into a directory repository from a real PostgreSQL 15, through `fsdr wal-push` as
// archive_command: nothing fails, everything fetches back byte-identical, nothing is in plaintext,
// damage and wrong keys are refused with the object named, duplicates follow pgBackRest's rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync, truncateSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';

const MARKER = 'FSDR-PLAINTEXT-CANARY-7f3a9c';
let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let archivedSegments: string[] = [];

function walkFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walkFiles(p) : [p];
  });
}

before(async () => {
  ws = makeWorkspace();
  // wal_keep_size keeps archived segments in pg_wal so the test can compare them byte for byte.
  ({ pg, cfg } = await archivingCluster(ws, { compression: { algorithm: 'zstd', level: 3 } }, { archive_timeout: 60, wal_keep_size: 1024 }));

  await pgbench(pg, ['-i', '-s', '2', '-q']);
  await pg.query(`CREATE TABLE canary (t text); INSERT INTO canary SELECT '${MARKER}' || g FROM generate_series(1, 2000) g`);
  // A fixed amount of work and explicit switches: the segment count must not depend on machine load.
  let last = '';
  for (let i = 0; i < 3; i++) {
    await pgbench(pg, ['-c', '2', '-t', '200', '-n']);
    last = await switchWal(pg);
  }
  const stats = await waitArchived(pg, last);
  assert.equal(stats.failed_count, 0, 'no archive_command failure');
  await pg.stopServer();
  const statusDir = join(pg.pgdata, 'pg_wal', 'archive_status');
  archivedSegments = readdirSync(statusDir).filter((n) => n.endsWith('.done')).map((n) => n.slice(0, -5));
  assert.ok(archivedSegments.filter((n) => !n.includes('.')).length >= 3, `archived: ${archivedSegments}`);
});

after(async () => {
  await pg?.stop();
  ws?.cleanup();
});

test('every archived WAL file fetches back byte-identical; a missing one exits 1 quietly', async () => {
  const out = mkdtempSync(join(tmpdir(), 'fsdr-fetch-'));
  for (const name of archivedSegments) {
    const dest = join(out, name);
    await fsdrOk(['wal-fetch', name, dest], { FSDR_CONFIG: cfg });
    assert.ok(readFileSync(dest).equals(readFileSync(join(pg.pgdata, 'pg_wal', name))), `${name} differs`);
  }
  const miss = await runFsdr(['wal-fetch', '00000009.history', join(out, 'x')], { FSDR_CONFIG: cfg });
  assert.equal(miss.code, 1);
  assert.equal(miss.stderr, '');
  assert.equal(existsSync(join(out, 'x')), false);
});

test('no plaintext in the repository', () => {
  const inWal = readdirSync(join(pg.pgdata, 'pg_wal')).some((n) => n.length === 24 && readFileSync(join(pg.pgdata, 'pg_wal', n)).includes(MARKER));
  assert.ok(inWal, 'the canary must be in the WAL, or this test proves nothing');
  for (const f of walkFiles(ws.repoDir)) assert.equal(readFileSync(f).includes(MARKER), false, `${f} holds plaintext`);
});

test('fsdr info shows the timeline with no gap', async () => {
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.equal(info.cluster.pgVersion, 15);
  assert.equal(info.wal.timelines.length, 1);
  assert.deepEqual(info.wal.timelines[0].gaps, []);
  assert.ok(info.wal.timelines[0].segments >= archivedSegments.filter((n) => n.length === 24).length);
  const text = await fsdrOk(['--config', cfg, 'info']);
  assert.match(text, /wal tl 1/);
});

test('a flipped byte or a truncated object is refused naming the object; nothing is written', async () => {
  const segs = walkFiles(join(ws.repoDir, 'wal')).filter((f) => /\/[0-9A-F]{24}$/.test(f)).sort();
  const [a, b] = [segs[0]!, segs[1]!];
  const bytes = readFileSync(a);
  bytes[Math.floor(bytes.length / 2)] ^= 0x10;
  writeFileSync(a, bytes);
  truncateSync(b, statSync(b).size - 100);
  const out = mkdtempSync(join(tmpdir(), 'fsdr-bad-'));
  for (const f of [a, b]) {
    const name = f.slice(-24);
    const r = await runFsdr(['wal-fetch', name, join(out, name)], { FSDR_CONFIG: cfg });
    // Above 125: PostgreSQL aborts recovery instead of taking a damaged segment for the archive's end.
    assert.equal(r.code, 126);
    assert.match(r.stderr, new RegExp(`object wal/${name.slice(0, 16)}/${name}`));
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(existsSync(join(out, name)), false, 'no partial file left behind');
    assert.deepEqual(readdirSync(out), []);
  }
});

test('the wrong master key is refused with a clear message', async () => {
  const other = join(ws.dir, 'other.key');
  writeFileSync(other, randomBytes(32).toString('hex'), { mode: 0o600 });
  const wrong = ws.writeConfig({
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${other}` },
  }, 'wrong.yaml');
  const r = await runFsdr(['wal-fetch', archivedSegments[archivedSegments.length - 1]!, join(ws.dir, 'w')], { FSDR_CONFIG: wrong });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /encrypted with master key [0-9a-f]{16}, but the configured key is [0-9a-f]{16}/);
  const info = await runFsdr(['--config', wrong, 'info']);
  assert.notEqual(info.code, 0);
});

test('pushing again: identical content succeeds, different content fails and overwrites nothing', async () => {
  const name = archivedSegments.filter((n) => n.length === 24).sort().at(-1)!;
  const tmp = mkdtempSync(join(tmpdir(), 'fsdr-dup-'));
  const copy = join(tmp, name);
  copyFileSync(join(pg.pgdata, 'pg_wal', name), copy);
  const key = join(ws.repoDir, 'wal', name.slice(0, 16), name);
  const before = readFileSync(key);
  assert.equal((await runFsdr(['wal-push', copy], { FSDR_CONFIG: cfg })).code, 0);
  const bytes = readFileSync(copy);
  bytes[bytes.length - 5] ^= 0xff;
  writeFileSync(copy, bytes);
  const r = await runFsdr(['wal-push', copy], { FSDR_CONFIG: cfg });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /already archived .* with different content/);
  assert.ok(readFileSync(key).equals(before), 'the archived object is untouched');
});

test('a segment from another cluster is refused', async () => {
  const other = await startPostgres({ settings: { wal_level: 'replica' } });
  try {
    const seg = (await other.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]!.f;
    await other.stopServer();
    const tmp = mkdtempSync(join(tmpdir(), 'fsdr-foreign-'));
    const renamed = join(tmp, '0000000100000000000000F0');
    copyFileSync(join(other.pgdata, 'pg_wal', seg), renamed);
    const r = await runFsdr(['wal-push', renamed], { FSDR_CONFIG: cfg });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /was written by cluster \d+, but repository primary belongs to cluster \d+/);
  } finally {
    await other.stop();
  }
});

test('init is idempotent for the same cluster and refuses a repository of another cluster', async () => {
  await pg.start();
  const again = JSON.parse(await fsdrOk(['--config', cfg, 'init', '--json']));
  assert.equal(again[0].status, 'already-initialised');
  const other = await startPostgres();
  try {
    const otherCfg = ws.writeConfig({
      cluster: { connection: other.connectionString, pgdata: other.pgdata },
      repositories: { primary: { type: 'fs', path: ws.repoDir } },
      encryption: { masterKey: `file:${ws.keyFile}` },
    }, 'other.yaml');
    const r = await runFsdr(['--config', otherCfg, 'init']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /belongs to cluster \d+, not to this cluster \d+/);
  } finally {
    await other.stop();
    await pg.stopServer();
  }
});
