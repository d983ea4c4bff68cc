// Bounded memory (issue 12 item 4): peak RSS of fsdr backup and restore of a cluster whose largest
// relation is ~390 MiB, with two workers, and of wal-push of a 16 MiB segment (all threads counted:
// the processes measure themselves at exit, test/helpers/max-rss-hook.ts).
//
// The targets: 128 MiB for backup and restore, whatever the size, and 60 MiB for wal-push.
// History of the figures measured here: backup 210 -> 132-136 (reused-buffer encoder, young
// collections) -> 115-116 (validated config from the cache, so no yaml and zod; pg loaded without
// undici; 2 MiB young generation per worker); restore 205 -> 128-134 (pull decoder) -> 105-108;
// wal-push 87 -> 57-62; re-push of an archived segment 86 -> 67 -> 56-61 (a stat before encoding).
// A restore chooses among every backup: with each manifest's file list kept (and decoded through
// a stream pipeline) 12 full backups of this cluster took it to 132-139 MiB; summaries and the
// pull decoder keep that at 118.
// Incrementals: their manifests list thousands of pieces (runs of blocks). Reading every manifest
// to list backups, V8's young generation growing to 16 MiB semi-spaces while one was parsed, one
// Buffer object per block digest in the workers, and worker old spaces left to grow task after
// task took the incremental backup to 160 MiB, its restore to 148-168 and even the full backup's
// restore, once those manifests were beside it, to 129-137. Now listings read each backup's
// summary object, block digests are in map objects beside the bundles (not in the manifest) and
// one buffer per piece, manifests are read as text, the young generation keeps its first size,
// each worker collects once its heap grew by 2 MiB, and restore runs V8 in its memory-saving
// mode: 116-117, 112-116 and 100-102. Beyond this test: a 2 GiB cluster's full backup and
// restore peaked at 110 and 104 (bounded with the size). An incremental's manifest lists a piece
// per run of blocks; held as parsed objects they cost its main thread ~1 KiB each (43,090 runs
// after scattered updates to 1 % of the rows of a 1.6 GiB table: backup 137, restore 130). Now
// both hold them as 96-byte records (repository/packed-pieces.ts, read piece by piece by
// manifest-scanner.ts), workers get and return them packed, a backup gives the prior's records
// back as its tasks go and writes the manifest through one buffer: 118 and 121 for that
// incremental, 133 and 125-132 for the next (76,868 pieces against it). Restore workers write
// synchronously (faster by 10-35 %), which costs this test's restores 2-3 MiB (measured).
// wal-push measured 57-62 MiB over many runs (less compressible WAL holds more ciphertext in
// flight), then 53-54 once the lean path ran without TurboFan (its compile zones: ~3.5 MiB) and
// pushed through 256 KiB frames, a 512 KiB zstd window and a young collection every MiB
// (codec SMALL_FOOTPRINT): the bound is now the 60.
const BACKUP_BOUND = 128;
const RESTORE_BOUND = 128;
const INCR_BACKUP_BOUND = 128;
const INCR_RESTORE_BOUND = 128;
const PUSH_BOUND = 60;
const REPUSH_BOUND = 60;
/** Incremental backups after the full one: the restores choose among them all. */
const INCREMENTALS = 4;
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type PostgresHandle } from '@featuresignals/testkit';
import { parse as parseYaml } from 'yaml';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, giveToPostgres, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { fsdrMaxRss } from '../helpers/max-rss.js';

const MiB = 1024 * 1024;
let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2 } }));
  // One relation file larger than the bound (md5 text: compresses about 2:1, as heap pages do).
  await pg.query(`CREATE TABLE big AS SELECT i, md5(i::text) || md5((i * 7)::text) AS t FROM generate_series(1, 4000000) i`);
  await pg.query('CHECKPOINT');
});

after(async () => {
  await pg?.stop();
  ws?.cleanup();
});

const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

async function restorePeak(name: string, extra: string[]): Promise<number> {
  const dest = join(ws.dir, name);
  const r = await fsdrMaxRss(['--config', cfg, 'restore', '--pgdata', dest, '--port', '5999', '--target-immediate', '--no-start', '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.maxRss;
}

test(`backup and restore of a 390 MiB relation with 2 workers stay within ${BACKUP_BOUND} / ${RESTORE_BOUND} MiB RSS (incremental: ${INCR_BACKUP_BOUND} / ${INCR_RESTORE_BOUND})`, async () => {
  const rel = (await pg.query(`SELECT pg_relation_filepath('big') AS p`)).rows[0].p as string;
  assert.ok(statSync(join(pg.pgdata, rel)).size > 300 * MiB);
  const b = await fsdrMaxRss(['--config', cfg, 'backup', '--type', 'full', '--json']);
  assert.equal(b.code, 0, b.stderr);
  const full = (JSON.parse(b.stdout) as { id: string }).id;
  let incr = b;
  for (let i = 0; i < INCREMENTALS; i++) {
    await pg.query(`UPDATE big SET t = t || 'x' WHERE i % 997 = ${i}`);
    await pg.query('CHECKPOINT');
    incr = await fsdrMaxRss(['--config', cfg, 'backup', '--type', 'incr', '--json']);
    assert.equal(incr.code, 0, incr.stderr);
  }
  const r = await restorePeak('restored-full', ['--backup', full]);
  const ri = await restorePeak('restored', []);
  // The restore checked every file's sha256; the big relation is all there.
  assert.equal(statSync(join(ws.dir, 'restored', rel)).size, statSync(join(pg.pgdata, rel)).size);
  console.log(`peak RSS: fsdr backup ${mib(b.maxRss)}, restore ${mib(r)}; incremental backup ${mib(incr.maxRss)}, restore of it ${mib(ri)}`);
  assert.ok(b.maxRss <= BACKUP_BOUND * MiB, `fsdr backup peaked at ${mib(b.maxRss)}`);
  assert.ok(r <= RESTORE_BOUND * MiB, `fsdr restore peaked at ${mib(r)}`);
  assert.ok(incr.maxRss <= INCR_BACKUP_BOUND * MiB, `fsdr backup --type incr peaked at ${mib(incr.maxRss)}`);
  assert.ok(ri <= INCR_RESTORE_BOUND * MiB, `fsdr restore of an incremental peaked at ${mib(ri)}`);
});

test(`wal-push of a 16 MiB segment stays within ${PUSH_BOUND} MiB RSS (re-push ${REPUSH_BOUND})`, async () => {
  await pg.query('SELECT pg_switch_wal()');
  const walDir = join(pg.pgdata, 'pg_wal');
  const segs = readdirSync(walDir).filter((f) => /^[0-9A-F]{24}$/.test(f) && statSync(join(walDir, f)).size === 16 * MiB).sort();
  assert.ok(segs.length >= 2);
  // A second repository of the same cluster, so the pushes are real ones (the first one has them).
  const repo2 = join(ws.dir, 'repo2');
  mkdirSync(repo2);
  giveToPostgres(repo2);
  const doc = parseYaml(readFileSync(cfg, 'utf8')) as Record<string, unknown>;
  const cfg2 = ws.writeConfig({ ...doc, repositories: { primary: { type: 'fs', path: repo2 } } }, 'fsdr2.yaml');
  await fsdrOk(['--config', cfg2, 'init']);
  // The first call after a config change validates it (yaml + zod, ~15 MiB more); PostgreSQL's
  // archive_command runs with the validated config cached (config/cache.ts), as the others here do.
  const cold = await fsdrMaxRss(['--config', cfg2, 'wal-push', join(walDir, segs[0]!)]);
  assert.equal(cold.code, 0, cold.stderr);
  const push = await fsdrMaxRss(['--config', cfg2, 'wal-push', join(walDir, segs[1]!)]);
  assert.equal(push.code, 0, push.stderr);
  const again = await fsdrMaxRss(['--config', cfg2, 'wal-push', join(walDir, segs[1]!)]);
  assert.equal(again.code, 0, again.stderr);
  console.log(`peak RSS: wal-push ${mib(push.maxRss)} (config not cached: ${mib(cold.maxRss)}), re-push ${mib(again.maxRss)}`);
  assert.ok(push.maxRss <= PUSH_BOUND * MiB, `fsdr wal-push peaked at ${mib(push.maxRss)}`);
  assert.ok(again.maxRss <= REPUSH_BOUND * MiB, `fsdr wal-push of an archived segment peaked at ${mib(again.maxRss)}`);
});
