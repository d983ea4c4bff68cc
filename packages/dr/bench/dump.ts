// `npm run bench -- dump`: logical backup of a pgbench cluster (scale 70 by default) and
// replication between two S3 buckets, in one run.
//
//   dump:         fsdr dump (pg_dump -Fc -Z0 of every database + globals, through the codec
//                 (zstd level 3 by default, AES-256-GCM) into a directory repository)
//                 vs plain pg_dump -Fc (its default compression) to a local file
//   restore-dump: fsdr restore-dump (streamed, one job) vs pg_restore -j 2 --no-owner of that file, each into
//                 a fresh, empty PostgreSQL 15 instance; row counts checked afterwards
//   replicate:    a moto S3 server, two buckets: the primary seeded with the stored objects of a
//                 directory repository (full backup + WAL + dump; objects <= 8 MiB first, larger after),
//                 then fsdr replicate to the replica bucket (MB/s of stored bytes copied), beside
//                 the same objects copied GET+PUT with the AWS SDK in-process (4 at a time: moto's
//                 ceiling on this machine), and a second fsdr replicate with nothing to copy.
//
// Tools run as the postgres OS user, timed from spawn to exit, peak RSS sampled over the process
// tree (for fsdr dump/restore-dump this includes the pg_dump/pg_restore/psql children it runs).
//
// Options (after `dump`): --scale N (70), --rounds R (1), --level N (3, fsdr's compression level),
// --no-replicate, --keep. `npm run bench -- backup --dump` runs this on the backup run's cluster.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { startMoto, startPostgres, type MotoHandle, type PostgresHandle } from '@featuresignals/testkit';
import { FSDR_BIN, giveToPostgres } from '../test/helpers/fsdr.js';
import { createBucket, s3Client } from '../test/helpers/s3.js';
import {
  f1, f2, gitState, measure, measureOk, median, mib, mkdirPg, orderFor, parseScaleOptions,
  startScaleCluster, MB, type BenchContext, type Measured, type ScaleCluster, type ScaleOptions,
  openBenchRun,
} from './common.js';

export type { BenchContext } from './common.js';

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const opt = parseScaleOptions(ctx.args, { rounds: 1, level: 3 }, ['--no-replicate']);
  const log = ctx.log;
  const bench = await openBenchRun('fsdr-bench-dump-', log, opt.keep);
  const { work, check } = bench;
  let cluster: ScaleCluster | undefined;
  try {
    cluster = await startScaleCluster(opt.scale, log);
    const keyFile = join(work, 'master.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    giveToPostgres(keyFile);
    const r = await dumpPhase(ctx, opt, cluster, work, keyFile, check);
    return { ...r, options: { ...opt, flags: [...opt.flags] }, cluster: { scale: opt.scale, dataBytes: cluster.dataBytes, initSeconds: cluster.initSeconds } };
  } catch (err) {
    throw bench.interrupted() ? new Error('interrupted; cleaned up') : err;
  } finally {
    await bench.close(cluster);
  }
}

interface Row {
  tool: string;
  what: string;
  round: number;
  seconds: number;
  peakTreeRssMiB: number;
  processes: number;
  cpuSeconds: number;
  bytes: number;
  detail?: Record<string, unknown>;
}

const rowOf = (tool: string, what: string, round: number, m: Measured, bytes: number, detail?: Record<string, unknown>): Row => ({
  tool, what, round, seconds: m.seconds, peakTreeRssMiB: m.peakTreeRss / 1048576, processes: m.peakProcesses, cpuSeconds: m.cpuSeconds, bytes, detail,
});

/** The dump, restore-dump and replication measurements on a running scale cluster. */
export async function dumpPhase(
  ctx: BenchContext, opt: ScaleOptions, cluster: ScaleCluster, work: string, keyFile: string, check: () => void,
): Promise<Record<string, unknown>> {
  const log = ctx.log;
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
  const pg = cluster.pg;
  const dir = mkdirPg(join(work, 'dump'));
  const repo = mkdirPg(join(dir, 'repo'));
  const cfg = join(dir, 'fsdr.yaml');
  writeFileSync(cfg, stringify({
    cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
    repositories: { primary: { type: 'fs', path: repo } },
    encryption: { masterKey: `file:${keyFile}` },
    compression: { algorithm: 'zstd', level: opt.level },
  }));
  giveToPostgres(cfg);
  const fsdr = `${process.execPath} ${FSDR_BIN} --config ${cfg}`;
  await measureOk(`${fsdr} init`);
  const bin = (t: string) => join(pg.binDir, t);
  const expectedAccounts = opt.scale * 100000;

  // --- dumps, interleaved ----------------------------------------------------------------------
  const dumps: Row[] = [];
  let pgDumpFile = '';
  const TOOLS = ['fsdr', 'pg_dump'] as const;
  log(`dump: fsdr dump vs pg_dump -Fc, ${opt.rounds} round(s) (${elapsed()})`);
  for (let r = 0; r < opt.rounds; r++) {
    for (const tool of orderFor(TOOLS, r)) {
      check();
      let row: Row;
      if (tool === 'fsdr') {
        const m = await measureOk(`exec ${fsdr} dump --json`);
        const man = JSON.parse(m.stdout) as { id: string; databases: { name: string; size: number; storedSize: number }[] };
        const stored = man.databases.reduce((a, d) => a + d.storedSize, 0);
        row = rowOf('fsdr', 'dump', r, m, stored, { id: man.id, databases: man.databases });
      } else {
        const file = join(dir, `pg_dump-r${r}.dump`);
        const m = await measureOk(`exec ${bin('pg_dump')} -Fc -f ${file} -h 127.0.0.1 -p ${pg.port} -U postgres -d postgres`);
        pgDumpFile = file;
        row = rowOf('pg_dump', 'dump', r, m, statSync(file).size);
      }
      dumps.push(row);
      log(`  dump round ${r} ${tool.padEnd(8)} ${f1(row.seconds).padStart(6)} s  peak RSS ${f1(row.peakTreeRssMiB)} MiB  ${mib(row.bytes)} MiB stored (${elapsed()})`);
    }
  }

  // --- restores into fresh instances, interleaved ---------------------------------------------
  const restores: Row[] = [];
  const RTOOLS = ['fsdr', 'pg_restore'] as const;
  log(`restore-dump: fsdr restore-dump (streamed, one job) vs pg_restore -j 2 into fresh instances (${elapsed()})`);
  for (let r = 0; r < opt.rounds; r++) {
    for (const tool of orderFor(RTOOLS, r + 1)) {
      check();
      let target: PostgresHandle | undefined;
      try {
        target = await startPostgres({ settings: { maintenance_work_mem: '256MB', max_wal_size: '4GB' } });
        const url = `postgres://postgres@127.0.0.1:${target.port}/postgres`;
        const m = tool === 'fsdr'
          ? await measureOk(`exec ${fsdr} restore-dump --connection ${url} --json`)
          : await measureOk(`exec ${bin('pg_restore')} -j 2 --no-owner -h 127.0.0.1 -p ${target.port} -U postgres -d postgres ${pgDumpFile}`);
        const n = Number((await target.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_accounts')).rows[0]!.n);
        if (n !== expectedAccounts) throw new Error(`${tool}: restored pgbench_accounts has ${n} rows, expected ${expectedAccounts}`);
        const row = rowOf(tool, 'restore', r, m, cluster.dataBytes, { accounts: n });
        restores.push(row);
        log(`  restore round ${r} ${tool.padEnd(10)} ${f1(row.seconds).padStart(6)} s  peak RSS ${f1(row.peakTreeRssMiB)} MiB  (${n} accounts) (${elapsed()})`);
      } finally {
        await target?.stop().catch((err: unknown) => log(`stopping restore target: ${String(err)}`));
      }
    }
  }

  // --- replication between two moto buckets ----------------------------------------------------
  // The primary bucket is seeded (untimed, SDK PUTs) with the files of a directory repository that
  // holds a full backup, its WAL and the dump above: the same stored objects fsdr would have written
  // there. Objects up to 8 MiB stored are seeded first and replicated (the throughput figure); then
  // the larger ones, and a second replicate. fsdr backup straight into a bucket is tried as well.
  // (S3Storage.put passes a DigestTap as the Upload Body; lib-storage reads its `size` property as
  // the body's length, so multipart uploads, objects over 8 MiB, fail with "Expected N part(s)".)
  let replication: Record<string, unknown> | undefined;
  const replRows: (string | number)[][] = [];
  if (!opt.flags.has('--no-replicate')) {
    check();
    let moto: MotoHandle | undefined;
    const attempt = async (cmd: string, env: Record<string, string>) => {
      const m = await measure(cmd, { env });
      return { m, error: m.code === 0 ? undefined : (m.out.trim().split('\n').filter((l) => !l.startsWith('{')).pop() ?? `exit ${m.code}`).slice(0, 300) };
    };
    try {
      // A full backup into the dump's directory repository (archive_command pushes to it meanwhile).
      log(`replicate: fsdr backup into the directory repository to seed the buckets (${elapsed()})`);
      await cluster.setArchiveCommand(`FSDR_CONFIG=${cfg} ${process.execPath} ${FSDR_BIN} wal-push %p`);
      try {
        await measureOk(`exec ${fsdr} backup --type full --json`);
      } finally {
        await cluster.setArchiveCommand('/bin/true');
      }
      moto = await startMoto();
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // the SDK's Node 20 notice, for the baseline client
      const s3 = s3Client(moto);
      for (const b of ['bench-primary', 'bench-replica', 'bench-raw']) await createBucket(s3, b, false);
      const bucket = (name: string, prefix: string) => ({ type: 's3', bucket: name, region: 'us-east-1', endpoint: moto!.endpoint, forcePathStyle: true, prefix });
      const s3dir = mkdirPg(join(work, 'replicate'));
      const writeCfg = (name: string, repositories: Record<string, unknown>) => {
        const p = join(s3dir, name);
        writeFileSync(p, stringify({
          cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
          repositories,
          encryption: { masterKey: `file:${keyFile}` },
          compression: { algorithm: 'zstd', level: opt.level },
        }));
        giveToPostgres(p);
        return `${process.execPath} ${FSDR_BIN} --config ${p}`;
      };
      const env = moto.env;

      // fsdr backup straight into a bucket (its own prefix).
      const direct = writeCfg('direct.yaml', { primary: bucket('bench-primary', 'direct') });
      await measureOk(`${direct} init`, { env });
      const envInline = Object.entries({ ...env, FSDR_CONFIG: join(s3dir, 'direct.yaml') }).map(([k, v]) => `${k}=${v}`).join(' ');
      await cluster.setArchiveCommand(`${envInline} ${process.execPath} ${FSDR_BIN} wal-push %p`);
      let backupToS3;
      try {
        backupToS3 = await attempt(`exec ${direct} backup --type full --json`, env);
      } finally {
        await cluster.setArchiveCommand('/bin/true');
      }
      const dumpToS3 = await attempt(`exec ${direct} dump --json`, env);
      log(`  fsdr backup -> S3: ${backupToS3.error ? `FAILED after ${f1(backupToS3.m.seconds)} s: ${backupToS3.error}` : `${f1(backupToS3.m.seconds)} s`}; fsdr dump -> S3: ${dumpToS3.error ? `FAILED: ${dumpToS3.error}` : `${f1(dumpToS3.m.seconds)} s`} (${elapsed()})`);

      // Seed the primary prefix with the directory repository's stored objects.
      const files = listFiles(repo).filter((f) => !f.rel.endsWith('.fsdr-tmp'));
      const LIMIT = 8 * 1024 * 1024;
      const small = files.filter((f) => f.size <= LIMIT);
      const large = files.filter((f) => f.size > LIMIT);
      const seed = async (xs: typeof files) => {
        for (const f of xs) await s3.send(new PutObjectCommand({ Bucket: 'bench-primary', Key: `fsdr/${f.rel}`, Body: readFileSync(f.abs) }));
      };
      await seed(small);
      const fsdrS3 = writeCfg('replicate.yaml', { primary: bucket('bench-primary', 'fsdr'), standby: bucket('bench-replica', 'fsdr') });
      const sumSize = (xs: typeof files) => xs.reduce((a, f) => a + f.size, 0);
      log(`  seeded ${small.length} objects of <= 8 MiB (${mib(sumSize(small))} MiB); ${large.length} larger (${mib(sumSize(large))} MiB) held back (${elapsed()})`);

      check();
      const rep = await measureOk(`exec ${fsdrS3} replicate --json`, { env });
      const res = JSON.parse(rep.stdout) as { replica: string; copied: number; bytes: number; skipped: number }[];
      const copied = res.reduce((a, x) => a + x.copied, 0);
      const bytes = res.reduce((a, x) => a + x.bytes, 0);
      log(`  fsdr replicate: ${copied} objects, ${mib(bytes)} MiB in ${f1(rep.seconds)} s = ${f1(bytes / MB / rep.seconds)} MB/s (${elapsed()})`);
      const again = await measureOk(`exec ${fsdrS3} replicate --json`, { env });
      const againCopied = (JSON.parse(again.stdout) as { copied: number }[]).reduce((a, x) => a + x.copied, 0);
      // Baseline: the same objects GET + PUT through the SDK, in this process, 4 at a time.
      const raw = await rawCopy(s3, 'bench-primary', 'fsdr/', 'bench-raw', 4);
      log(`  SDK GET+PUT baseline: ${raw.objects} objects, ${mib(raw.bytes)} MiB in ${f1(raw.seconds)} s = ${f1(raw.bytes / MB / raw.seconds)} MB/s (${elapsed()})`);

      // The objects over 8 MiB.
      let repLarge: Awaited<ReturnType<typeof attempt>> | undefined;
      if (large.length) {
        await seed(large);
        repLarge = await attempt(`exec ${fsdrS3} replicate --json`, env);
        log(`  fsdr replicate of ${large.length} objects > 8 MiB: ${repLarge.error ? `FAILED after ${f1(repLarge.m.seconds)} s: ${repLarge.error}` : `${f1(repLarge.m.seconds)} s`} (${elapsed()})`);
      }
      const largeBytes = sumSize(large);
      replRows.push(
        ['fsdr backup --type full -> S3 (moto)', '', f1(backupToS3.m.seconds), backupToS3.error ? '' : f1(cluster.dataBytes / MB / backupToS3.m.seconds), f1(backupToS3.m.peakTreeRss / 1048576), backupToS3.error ? `FAILED: ${backupToS3.error}` : 'MB/s of cluster data'],
        ['fsdr dump -> S3 (moto)', '', f1(dumpToS3.m.seconds), '', f1(dumpToS3.m.peakTreeRss / 1048576), dumpToS3.error ? `FAILED: ${dumpToS3.error}` : ''],
        ['fsdr replicate, objects <= 8 MiB', `${copied} / ${mib(bytes)} MiB`, f1(rep.seconds), f1(bytes / MB / rep.seconds), f1(rep.peakTreeRss / 1048576), 'MB/s of stored bytes'],
        ['SDK GET+PUT of the same, 4 at a time (in-process)', `${raw.objects} / ${mib(raw.bytes)} MiB`, f1(raw.seconds), f1(raw.bytes / MB / raw.seconds), '', 'moto ceiling'],
        ['fsdr replicate again (nothing new)', `${againCopied} copied`, f1(again.seconds), '', f1(again.peakTreeRss / 1048576), 'listing cost'],
        ...(repLarge ? [['fsdr replicate, objects > 8 MiB', `${large.length} / ${mib(largeBytes)} MiB`, f1(repLarge.m.seconds), repLarge.error ? '' : f1(largeBytes / MB / repLarge.m.seconds), f1(repLarge.m.peakTreeRss / 1048576), repLarge.error ? `FAILED: ${repLarge.error}` : 'MB/s of stored bytes']] : []),
      );
      replication = {
        backupToS3: { seconds: backupToS3.m.seconds, error: backupToS3.error }, dumpToS3: { seconds: dumpToS3.m.seconds, error: dumpToS3.error },
        seeded: { small: small.length, smallBytes: sumSize(small), large: large.length, largeBytes, largest: Math.max(0, ...files.map((f) => f.size)) },
        replicate: { seconds: rep.seconds, objects: copied, bytes, mbPerSec: bytes / MB / rep.seconds, peakTreeRss: rep.peakTreeRss, result: res },
        replicateAgain: { seconds: again.seconds, copied: againCopied },
        replicateLarge: repLarge ? { seconds: repLarge.m.seconds, error: repLarge.error, stdout: repLarge.m.stdout.slice(0, 2000) } : undefined,
        sdkBaseline: { ...raw, mbPerSec: raw.bytes / MB / raw.seconds },
      };
    } finally {
      await moto?.stop().catch((err: unknown) => log(`stopping moto: ${String(err)}`));
    }
  }

  // --- the report ---------------------------------------------------------------------------------
  const med = (xs: Row[], tool: string) => median(xs.filter((x) => x.tool === tool).map((x) => x.seconds));
  const maxRss = (xs: Row[], tool: string) => Math.max(...xs.filter((x) => x.tool === tool).map((x) => x.peakTreeRssMiB));
  const rows: (string | number)[][] = [];
  const add = (xs: Row[], tool: string, what: string, peer: string, sizeOf: (x: Row) => string) => {
    const mine = xs.filter((x) => x.tool === tool);
    rows.push([
      tool, what, mine.map((x) => f1(x.seconds)).join(' / '), f1(med(xs, tool)), f1(cluster.dataBytes / MB / med(xs, tool)), f1(median(mine.map((x) => x.cpuSeconds))), f1(maxRss(xs, tool)),
      sizeOf(mine[0]!), tool === peer ? '' : f2(med(xs, tool) / med(xs, peer)),
    ]);
  };
  add(dumps, 'fsdr', `dump (zstd ${opt.level} + AES-GCM, fs repo)`, 'pg_dump', (x) => mib(x.bytes));
  add(dumps, 'pg_dump', 'pg_dump -Fc to a local file', 'pg_dump', (x) => mib(x.bytes));
  add(restores, 'fsdr', 'restore-dump', 'pg_restore', () => '');
  add(restores, 'pg_restore', 'pg_restore -j 2 from the local file', 'pg_restore', () => '');
  const tables: { title: string; columns: string[]; rows: (string | number)[][] }[] = [{
    title: `Logical dump and restore, pgbench scale ${opt.scale} (${mib(cluster.dataBytes)} MiB of data), ${opt.rounds} round(s)`,
    columns: ['tool', 'what', 'seconds per round', 'median s', 'MB/s of data', 'CPU s', 'peak RSS MiB', 'stored MiB', 'fsdr/peer time'],
    rows,
  }];
  if (replRows.length) tables.push({ title: 'S3 (moto) replication between two buckets', columns: ['what', 'objects / bytes', 'seconds', 'MB/s', 'peak RSS MiB', 'note'], rows: replRows });
  const git = await gitState();
  const notes = [
    `fsdr at ${git.head}${git.dirtySrcFiles ? ` + ${git.dirtySrcFiles} uncommitted file(s) in packages/dr/src` : ''}; node ${process.version}; ${cpus().length} CPUs.`,
    `Dump: fsdr dump = pg_dump -Fc -Z0 per database + pg_dumpall --globals-only through zstd level ${opt.level} and AES-256-GCM into the repository; ` +
      'pg_dump = the postgres database only, default compression (gzip), to a local file. Restores go into a fresh instance each; pgbench_accounts row counts checked. ' +
      'fsdr/peer time > 1: fsdr slower. Peak RSS includes the pg_dump/pg_restore children.',
    ...(replication ? [`Replication: the primary bucket was seeded with the stored objects of a directory repository holding a full backup, its WAL and the dump (untimed SDK PUTs). ` +
      `fsdr replicate copied ${(replication.replicate as { objects: number }).objects} objects of <= 8 MiB at ${f1((replication.replicate as { mbPerSec: number }).mbPerSec)} MB/s; ` +
      `the SDK baseline reached ${f1((replication.sdkBaseline as { mbPerSec: number }).mbPerSec)} MB/s on the same moto server (${cpus().length} CPUs shared by moto, node and PostgreSQL). ` +
      'Objects over 8 MiB go through multipart upload (see the last row and the backup -> S3 row).'] : []),
  ];
  return { tables, notes, git, dumps, restoreDumps: restores, replication };
}

/** Copy every object under `prefix` of one bucket to another with the SDK, `parallel` at a time (GET streamed into PUT). */
async function rawCopy(s3: S3Client, from: string, prefix: string, to: string, parallel: number): Promise<{ objects: number; bytes: number; seconds: number }> {
  const keys: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: from, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) keys.push({ key: o.Key!, size: o.Size ?? 0 });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  const t = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const k = keys[next++]!;
      const g = await s3.send(new GetObjectCommand({ Bucket: from, Key: k.key }));
      await new Upload({ client: s3, params: { Bucket: to, Key: k.key, Body: g.Body as Readable, ContentLength: g.ContentLength }, partSize: 8 * 1024 * 1024, queueSize: 2 }).done();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, keys.length) }, worker));
  return { objects: keys.length, bytes: keys.reduce((a, k) => a + k.size, 0), seconds: Number(process.hrtime.bigint() - t) / 1e9 };
}

/** Every file under `root`, with its path relative to it ('/'-separated) and size. */
function listFiles(root: string, rel = ''): { rel: string; abs: string; size: number }[] {
  const out: { rel: string; abs: string; size: number }[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, r));
    else if (e.isFile()) out.push({ rel: r, abs: join(root, r), size: statSync(join(root, r)).size });
  }
  return out;
}
