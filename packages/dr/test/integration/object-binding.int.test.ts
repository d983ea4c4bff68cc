// Objects are bound to their names (issue 8): a valid object copied over another's name in a
// directory repository must be refused by verify, by restore (instead of PostgreSQL ending recovery
// early at "unexpected pageaddr" and promoting), by wal-fetch, and by restore-dump — for format 2
// objects by the key in their authenticated header, for format 1 objects (no bound key) by the WAL
// page header and by the dump manifest's digest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { freePort, startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { ObjectCodec } from '../../src/codec/object-codec.js';
import { parseWalName } from '../../src/postgres/wal-name.js';
import { walKey } from '../../src/repository/layout.js';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';
import { stopRestored } from '../helpers/restored.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let segs: string[] = [];
const restored: string[] = [];

const file = (key: string) => join(ws.repoDir, ...key.split('/'));
const segKey = (name: string) => walKey(parseWalName(name)!);

/** The plaintext of `from`, written as a format 1 object (no bound key) over `to`. */
async function writeV1Copy(from: string, to: string): Promise<void> {
  const codec = new ObjectCodec(Buffer.from(ws.key, 'hex'), { algorithm: 'zstd', level: 3 });
  const plain = await codec.decode(from, createReadStream(file(from)));
  const parts: Buffer[] = [];
  for await (const c of codec.encode(to, plain, { version: 1 }).stream) parts.push(c as Buffer);
  writeFileSync(file(to), Buffer.concat(parts));
}

/** Run `fn` with `to` replaced by `bytes`, then put the original back. */
async function withReplaced(to: string, replace: () => Promise<void>, fn: () => Promise<void>): Promise<void> {
  const original = readFileSync(file(to));
  await replace();
  try {
    await fn();
  } finally {
    writeFileSync(file(to), original);
  }
}

async function verifyFaults(): Promise<Array<{ object: string; problem: string }>> {
  const r = await runFsdr(['--config', cfg, 'verify', '--json']);
  assert.equal(r.code, 1, `verify must fail: ${r.stdout} ${r.stderr}`);
  return JSON.parse(r.stdout).faults;
}

async function restoreLatest(name: string) {
  const pgdata = join(ws.dir, name);
  restored.push(pgdata);
  return runFsdr(['--config', cfg, 'restore', '--pgdata', pgdata, '--port', String(await freePort()), '--latest', '--json']);
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { compression: { algorithm: 'zstd', level: 3 } }));
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text)');
  await pgbench(pg, ['-i', '-s', '1', '-q']);
  await fsdrOk(['--config', cfg, 'backup', '--json']);
  for (let i = 0; i < 4; i++) {
    await pg.query('INSERT INTO status (marker) VALUES ($1)', [`after-backup-${i}`]);
    segs.push(await switchWal(pg));
  }
  await waitArchived(pg, segs[3]!);
  await pg.query('CREATE DATABASE featuresignals');
  await pg.query(`CREATE TABLE flags (key text PRIMARY KEY, on_ boolean); INSERT INTO flags SELECT 'f' || g, true FROM generate_series(1, 200) g`, [], 'featuresignals');
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('a WAL object copied over another segment: verify names both keys, restore --latest fails naming the segment', async () => {
  const [a, b] = [segs[1]!, segs[2]!];
  await withReplaced(segKey(a), async () => writeFileSync(file(segKey(a)), readFileSync(file(segKey(b)))), async () => {
    const faults = await verifyFaults();
    assert.equal(faults.length, 1, JSON.stringify(faults));
    assert.equal(faults[0]!.object, segKey(a));
    assert.match(faults[0]!.problem, new RegExp(`written as ${segKey(b)}`));

    const dest = join(mkdtempSync(join(tmpdir(), 'fsdr-bind-')), 'RECOVERYXLOG');
    const f = await runFsdr(['wal-fetch', a, dest], { FSDR_CONFIG: cfg });
    assert.equal(f.code, 126, 'fatal to recovery, not "not archived"');
    assert.match(f.stderr, new RegExp(`^fsdr: object ${segKey(a)}: was written as ${segKey(b)}`));
    assert.equal(existsSync(dest), false);

    const r = await restoreLatest('swapped-v2');
    assert.notEqual(r.code, 0, `restore must not report success: ${r.stdout}`);
    assert.match(r.stderr, new RegExp(`could not restore file "${a}".*written as ${segKey(b)}`));
  });
});

test('a format 1 object of another segment under a name: wal-fetch, verify and restore refuse it by its page header', async () => {
  const [a, b] = [segs[1]!, segs[2]!];
  await withReplaced(segKey(a), () => writeV1Copy(segKey(b), segKey(a)), async () => {
    const dest = join(mkdtempSync(join(tmpdir(), 'fsdr-bind-')), 'RECOVERYXLOG');
    const f = await runFsdr(['wal-fetch', a, dest], { FSDR_CONFIG: cfg });
    assert.equal(f.code, 126, f.stderr);
    assert.match(f.stderr, new RegExp(`^fsdr: object ${segKey(a)}: WAL segment ${a} holds the WAL of segment ${b}`));
    assert.equal(existsSync(dest), false, 'nothing handed to PostgreSQL');
    // A history file is not a segment: no page header check (and it still fetches).
    assert.equal((await runFsdr(['wal-fetch', '00000001.history', dest], { FSDR_CONFIG: cfg })).code, 1);

    const faults = await verifyFaults();
    assert.deepEqual(faults.map((x) => x.object), [segKey(a)]);
    assert.match(faults[0]!.problem, new RegExp(`holds the WAL of segment ${b}`));

    const r = await restoreLatest('swapped-v1');
    assert.notEqual(r.code, 0, `restore must not report success: ${r.stdout}`);
    // Which line reports it depends on when fsdr notices the instance stopped (PostgreSQL's
    // "could not restore file" or fsdr's "stopped during recovery"); both must name the swap.
    assert.match(r.stderr, new RegExp(`WAL segment ${a} holds the WAL of segment ${b}`));
  });
  // Put back, everything verifies again.
  await fsdrOk(['--config', cfg, 'verify']);
});

test('a dump object copied over another dump\'s: verify and restore-dump refuse it, named, before restoring anything', async () => {
  const d1 = JSON.parse(await fsdrOk(['--config', cfg, 'dump', '--json']));
  // Two dumps of unchanged data started in the same second are byte-identical (pg_dump's header
  // holds its start time to the second): a format 1 copy of one over the other would then BE the
  // right content. A row between them makes the two archives differ.
  await pg.query(`UPDATE flags SET on_ = false WHERE key = 'f1'`, [], 'featuresignals');
  const d2 = JSON.parse(await fsdrOk(['--config', cfg, 'dump', '--json']));
  const keyOf = (m: { databases: Array<{ name: string; key: string }> }) => m.databases.find((d) => d.name === 'featuresignals')!.key;
  const [from, to] = [keyOf(d1), keyOf(d2)];

  const target = await startPostgres();
  try {
    const databases = async () => (await target.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);
    const flagsTables = async () => (await target.query(`SELECT 1 FROM pg_tables WHERE tablename = 'flags'`, [], 'featuresignals')).rowCount;

    await withReplaced(to, async () => writeFileSync(file(to), readFileSync(file(from))), async () => {
      const faults = await verifyFaults();
      assert.deepEqual(faults.map((x) => x.object), [to]);
      assert.match(faults[0]!.problem, new RegExp(`written as ${from}`));
      const r = await runFsdr(['--config', cfg, 'restore-dump', '--connection', target.connectionString]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`${to}.*${from}`));
      assert.equal((await databases()).includes('featuresignals'), false, 'refused before anything was restored');
    });

    // Format 1 (no bound key): the manifest's digest catches it, and pg_restore commits nothing.
    await withReplaced(to, () => writeV1Copy(from, to), async () => {
      const faults = await verifyFaults();
      assert.deepEqual(faults.map((x) => x.object), [to]);
      assert.match(faults[0]!.problem, /content differs from its manifest/);
      const r = await runFsdr(['--config', cfg, 'restore-dump', '--connection', target.connectionString, '--database', 'featuresignals']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`object ${to}: content differs from its manifest`));
      assert.equal(await flagsTables(), 0, 'nothing of the bad archive was committed');
    });

    await fsdrOk(['--config', cfg, 'restore-dump', '--connection', target.connectionString, '--database', 'featuresignals']);
    assert.equal((await target.query('SELECT count(*)::int AS n FROM flags', [], 'featuresignals')).rows[0].n, 200);
  } finally {
    await target.stop();
  }
});
