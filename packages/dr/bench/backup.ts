// `npm run bench -- backup` (and `-- restore`, the same run): physical full backup and restore of
// a pgbench cluster (scale 70 by default, about 1 GB), fsdr against pgBackRest and pg_basebackup,
// in one run and interleaved (ABC, CBA, ...), so machine noise falls on all alike.
//
//   backup:  fsdr backup --type full (zstd level 1, backup.processes N, 64 MiB bundles, fs repo)
//            pgbackrest backup --type=full (zst level 1, aes-256-cbc, process-max N, posix repo)
//            pg_basebackup -Ft -Z client-zstd:1 -X stream -c fast (plain -Fp without zstd support)
//   restore: fsdr restore --no-start --target-immediate (the file phase) into an absent dir
//            pgbackrest restore --type=immediate into an empty dir
//            zstd -dc | tar -x of pg_basebackup's base and pg_wal tars (cp -a for plain format)
//
// Every timed run starts after a `sync` (nothing earlier left dirty to write back), and every
// tool runs as the postgres OS user, timed from spawn to exit; peak RSS is the highest sum
// of VmRSS over the tool's process tree, sampled from /proc every 50 ms (pgBackRest's worker
// processes count; for pg_basebackup only the client, not the server's walsender). MB/s is the
// cluster's data (pgdata without pg_wal, the same figure for all tools) per second. The data is
// in the page cache for every tool (it was just written; 2x RAM headroom), so reads are not disk-bound.
//
// Then wal-push: fresh 16 MiB segments pushed one process each by `fsdr wal-push` and
// `pgbackrest archive-push` (first pushes, then one re-push), peak RSS per call from /usr/bin/time.
// A last table puts fsdr's peak RSS of backup, restore and wal-push next to pgBackRest's.
//
// Options (after `backup`/`restore`): --scale N (70), --rounds R (4: ABC CBA BCA ACB), --processes N (2),
// --level N (1), --profile (one extra fsdr backup and restore under node --cpu-prof, summarised;
// the .cpuprofile files are saved under bench/results/), --dump (also run the dump benchmark, 1 round, fsdr level 3, on the same cluster), --keep.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { sleep, type PostgresHandle } from '@featuresignals/testkit';
import { FSDR_BIN, giveToPostgres } from '../test/helpers/fsdr.js';
import {
  PGBACKREST, dirBytes, execFileP, f1, f2, measure, measureOk, median, mib, mkdirPg,
  gitState, orderFor, parseScaleOptions, startScaleCluster, summariseProfile, MB, type BenchContext, type Measured, type ScaleCluster, type ScaleOptions,
  openBenchRun,
} from './common.js';
import { dumpPhase } from './dump.js';

export type { BenchContext } from './common.js';

const STANZA = 'bench';
const TOOLS = ['fsdr', 'pgbackrest', 'pg_basebackup'] as const;
type Tool = (typeof TOOLS)[number];

interface Sample {
  tool: Tool;
  round: number;
  seconds: number;
  mbPerSec: number;
  peakTreeRssMiB: number;
  peakProcessHwmMiB: number;
  processes: number;
  cpuSeconds: number;
  outputBytes: number;
  detail?: Record<string, unknown>;
}

const sampleOf = (tool: Tool, round: number, m: Measured, dataBytes: number, outputBytes: number, detail?: Record<string, unknown>): Sample => ({
  tool, round, seconds: m.seconds, mbPerSec: dataBytes / MB / m.seconds,
  peakTreeRssMiB: m.peakTreeRss / 1048576, peakProcessHwmMiB: m.peakProcessHwm / 1048576, processes: m.peakProcesses, cpuSeconds: m.cpuSeconds, outputBytes, detail,
});

/**
 * Wait until PostgreSQL has no segment waiting for archive_command. The incremental phase's
 * VACUUM FULL rewrites the table (about 70 segments of WAL at scale 70), which a loaded 2-core
 * machine archived in more than the 60 s once allowed here: 300 s.
 */
async function waitArchiverIdle(pg: PostgresHandle, seconds = 300): Promise<void> {
  for (let i = 0; i < seconds * 10; i++) {
    const ready = readdirSync(join(pg.pgdata, 'pg_wal', 'archive_status')).filter((f) => f.endsWith('.ready'));
    if (ready.length === 0) return;
    await sleep(100);
  }
  throw new Error(`the archiver did not catch up within ${seconds} s`);
}

/**
 * Before each timed backup or restore: write back what earlier steps left dirty (pgbench, the
 * previous tool's restore, the directories just removed). Without it a tool pays for the one
 * before it: a syncfs-based flush (fsdr) writes everything dirty on the filesystem, fsync per
 * file (pgBackRest) only its own, and the rounds' order decided which tool looked faster.
 */
async function settle(): Promise<void> {
  await execFileP('sync', []);
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const opt = parseScaleOptions(ctx.args, { rounds: 4 }, ['--dump', '--profile']);
  return physicalBench(ctx, opt);
}

async function physicalBench(ctx: BenchContext, opt: ScaleOptions): Promise<Record<string, unknown>> {
  const log = ctx.log;
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
  if (!existsSync(PGBACKREST)) throw new Error(`${PGBACKREST} not found: apt-get install pgbackrest`);
  const pgbrVersion = (await execFileP(PGBACKREST, ['version'])).stdout.trim();
  const bench = await openBenchRun('fsdr-bench-backup-', log, opt.keep);
  const { work, check } = bench;
  let cluster: ScaleCluster | undefined;

  try {
    log(`work dir ${work}; ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`);
    cluster = await startScaleCluster(opt.scale, log);
    const pg = cluster.pg;
    const dataBytes = cluster.dataBytes;
    check();

    // --- fsdr: a directory repository, zstd level N, backup.processes N ------------------------
    const keyFile = join(work, 'master.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    giveToPostgres(keyFile);
    const fsdrDir = mkdirPg(join(work, 'fsdr'));
    const fsdrRepo = mkdirPg(join(fsdrDir, 'repo'));
    const fsdrCfg = join(fsdrDir, 'fsdr.yaml');
    writeFileSync(fsdrCfg, stringify({
      cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
      repositories: { primary: { type: 'fs', path: fsdrRepo } },
      encryption: { masterKey: `file:${keyFile}` },
      compression: { algorithm: 'zstd', level: opt.level },
      backup: { processes: opt.processes, bundleSizeMiB: 64 },
    }));
    giveToPostgres(fsdrCfg);
    const fsdr = `${process.execPath} ${FSDR_BIN} --config ${fsdrCfg}`;
    await measureOk(`${fsdr} init`);

    // --- pgBackRest: a posix repository, zst level N, aes-256-cbc, process-max N ----------------
    const pgbrDir = mkdirPg(join(work, 'pgbr'));
    const pgbrRepo = mkdirPg(join(pgbrDir, 'repo'));
    const pgbrConf = join(pgbrDir, 'pgbackrest.conf');
    writeFileSync(pgbrConf, [
      '[global]',
      `repo1-path=${pgbrRepo}`,
      'repo1-cipher-type=aes-256-cbc',
      `repo1-cipher-pass=${randomBytes(24).toString('base64')}`,
      'repo1-retention-full=99',
      'compress-type=zst',
      `compress-level=${opt.level}`,
      `process-max=${opt.processes}`,
      'start-fast=y',
      `lock-path=${mkdirPg(join(pgbrDir, 'lock'))}`,
      `log-path=${mkdirPg(join(pgbrDir, 'log'))}`,
      `spool-path=${mkdirPg(join(pgbrDir, 'spool'))}`,
      'log-level-console=warn',
      'log-level-stderr=warn',
      '',
      `[${STANZA}]`,
      `pg1-path=${pg.pgdata}`,
      `pg1-port=${pg.port}`,
      `pg1-socket-path=${pg.socketDir}`,
      '',
    ].join('\n'), { mode: 0o600 });
    giveToPostgres(pgbrConf);
    const pgbr = `${PGBACKREST} --config=${pgbrConf} --stanza=${STANZA}`;
    await measureOk(`${pgbr} stanza-create`);

    // Each tool waits for its backup's WAL in its own archive: while a tool backs up, archive_command
    // pushes to that tool alone (pg_basebackup streams its WAL: /bin/true), so no tool waits on another.
    const archiveFor: Record<Tool, string> = {
      fsdr: `FSDR_CONFIG=${fsdrCfg} ${process.execPath} ${FSDR_BIN} wal-push %p`,
      pgbackrest: `${pgbr} archive-push %p`,
      pg_basebackup: '/bin/true',
    };

    // --- pg_basebackup: tar + client-side zstd when this build links libzstd -------------------
    const pgbb = join(pg.binDir, 'pg_basebackup');
    const zstdOk = /libzstd/.test((await execFileP('ldd', [pgbb]).catch(() => ({ stdout: '' }))).stdout) && existsSync('/usr/bin/zstd');
    const pgbbFormat = zstdOk ? `-Ft -Z client-zstd:${opt.level}` : '-Fp';
    const pgbbDir = mkdirPg(join(work, 'pgbb'));

    // --- backups, interleaved ------------------------------------------------------------------
    const backups: Sample[] = [];
    const pgbbOut: string[] = [];
    for (let r = 0; r < opt.rounds; r++) {
      for (const tool of orderFor(TOOLS, r)) {
        check();
        await cluster.setArchiveCommand(archiveFor[tool]);
        await pg.query('SELECT pg_switch_wal()');
        await pg.query('CHECKPOINT'); // the same starting point for every tool: nothing dirty to flush
        await waitArchiverIdle(pg);
        await settle();
        let s: Sample;
        if (tool === 'fsdr') {
          const before = dirBytes(fsdrRepo);
          const m = await measureOk(`exec ${fsdr} backup --type full --json`);
          const man = JSON.parse(m.stdout) as { id: string; totals: { files: number; bytes: number; storedBytes: number } };
          s = sampleOf(tool, r, m, dataBytes, dirBytes(fsdrRepo) - before, { id: man.id, totals: man.totals });
        } else if (tool === 'pgbackrest') {
          const before = dirBytes(pgbrRepo);
          const m = await measureOk(`exec ${pgbr} --type=full backup`);
          s = sampleOf(tool, r, m, dataBytes, dirBytes(pgbrRepo) - before);
        } else {
          const out = join(pgbbDir, `r${r}`);
          const m = await measureOk(`exec ${pgbb} -h ${pg.socketDir} -p ${pg.port} -U postgres -D ${out} ${pgbbFormat} -X stream -c fast`);
          pgbbOut.push(out);
          s = sampleOf(tool, r, m, dataBytes, dirBytes(out));
        }
        backups.push(s);
        log(`backup round ${r} ${tool.padEnd(13)} ${f1(s.seconds).padStart(6)} s ${f1(s.mbPerSec).padStart(7)} MB/s  CPU ${f1(s.cpuSeconds)} s  peak RSS ${f1(s.peakTreeRssMiB)} MiB (${s.processes} proc)  stored ${mib(s.outputBytes)} MiB  (${elapsed()})`);
      }
    }
    await cluster.setArchiveCommand('/bin/true');
    // The source cluster is stopped while the restores run (a restore host does not run the
    // cluster it restores): its background work (autovacuum after pgbench -i, checkpoints) was
    // dirtying pages beside them, and each fsync then waited for it, which fell on pgBackRest
    // (an fsync per file, ~1000) far more than on fsdr (a syncfs per 256 MiB).
    await pg.query('CHECKPOINT');
    await pg.stopServer();

    // --- restores, interleaved -----------------------------------------------------------------
    const restores: Sample[] = [];
    const sanity: Record<string, unknown>[] = [];
    const pgbbLast = pgbbOut[pgbbOut.length - 1]!;
    for (let r = 0; r < opt.rounds; r++) {
      for (const tool of orderFor(TOOLS, r)) {
        check();
        await settle();
        const dest = join(work, `restore-${tool}-r${r}`);
        let m: Measured;
        let detail: Record<string, unknown> | undefined;
        if (tool === 'fsdr') {
          // fsdr restore creates the directory itself (it must be empty or absent).
          m = await measureOk(`exec ${fsdr} restore --pgdata ${dest} --port 5999 --target-immediate --no-start --json`);
          const res = JSON.parse(m.stdout) as { backup: string; seconds: Record<string, number> };
          detail = { backup: res.backup, fsdrSeconds: res.seconds };
        } else if (tool === 'pgbackrest') {
          mkdirPg(dest, 0o700);
          m = await measureOk(`exec ${pgbr} --pg1-path=${dest} --type=immediate restore`);
        } else {
          mkdirPg(dest, 0o700);
          // base.tar.zst into the directory, pg_wal.tar(.zst) into its pg_wal.
          const untar = (f: string, into: string) => (f.endsWith('.zst') ? `zstd -q -dc ${join(pgbbLast, f)} | tar -xf - -C ${into}` : `tar -xf ${join(pgbbLast, f)} -C ${into}`);
          const tars = readdirSync(pgbbLast).filter((f) => /\.tar(\.zst)?$/.test(f));
          const base = tars.find((f) => f.startsWith('base.'));
          const wal = tars.find((f) => f.startsWith('pg_wal.'));
          if (zstdOk && (!base || !wal)) throw new Error(`pg_basebackup output ${pgbbLast} has ${readdirSync(pgbbLast).join(', ')}`);
          m = zstdOk
            ? await measureOk(`set -e; ${untar(base!, dest)}; ${untar(wal!, `${dest}/pg_wal`)}`)
            : await measureOk(`cp -a ${pgbbLast}/. ${dest}/`);
        }
        const restoredBytes = dirBytes(dest, (p) => p === 'pg_wal');
        const s = sampleOf(tool, r, m, dataBytes, restoredBytes, detail);
        restores.push(s);
        sanity.push({ tool, round: r, restoredBytes, dataBytes, ratio: restoredBytes / dataBytes, hasBackupLabel: existsSync(join(dest, 'backup_label')) });
        if (Math.abs(restoredBytes / dataBytes - 1) > 0.05) throw new Error(`${tool} restore wrote ${restoredBytes} bytes, expected about ${dataBytes}`);
        log(`restore round ${r} ${tool.padEnd(13)} ${f1(s.seconds).padStart(6)} s ${f1(s.mbPerSec).padStart(7)} MB/s  CPU ${f1(s.cpuSeconds)} s  peak RSS ${f1(s.peakTreeRssMiB)} MiB (${s.processes} proc)  wrote ${mib(restoredBytes)} MiB  (${elapsed()})`);
        rmSync(dest, { recursive: true, force: true });
      }
    }

    await pg.start();

    // --- wal-push: peak RSS of one archive_command call, fsdr vs pgBackRest ---------------------
    // Fresh 16 MiB segments (written while archive_command was /bin/true, so new to both
    // repositories), copied out of pg_wal; each tool pushes each once (a first push), then the first
    // one again (a re-push of an archived segment). Peak RSS is the process's own ru_maxrss as
    // /usr/bin/time reports it (threads included; a 100-300 ms process is too short to sample).
    const walPushes: { tool: 'fsdr' | 'pgbackrest'; kind: 'first' | 're-push'; seconds: number; maxRssMiB: number }[] = [];
    {
      await pg.query('CREATE TABLE bench_wal AS SELECT i, md5(i::text) AS t FROM generate_series(1, 600000) i');
      await pg.query('SELECT pg_switch_wal()');
      await pg.query('DROP TABLE bench_wal');
      const walDir = join(pg.pgdata, 'pg_wal');
      const segDir = mkdirPg(join(work, 'wal-push-segments'));
      // Completed segments only (archive_status says .done or .ready): pg_wal also holds recycled
      // segment files under future names with old WAL in them, and pushing one of those put a
      // segment of garbage into fsdr's repository under a name PostgreSQL later archived for real
      // ("already archived with different content": the incremental phase's archiver then
      // never caught up).
      const done = (f: string) => existsSync(join(walDir, 'archive_status', `${f}.done`)) || existsSync(join(walDir, 'archive_status', `${f}.ready`));
      const segs = readdirSync(walDir).filter((f) => /^[0-9A-F]{24}$/.test(f) && done(f) && statSync(join(walDir, f)).size === 16 * 1048576).sort().slice(-3);
      if (segs.length < 3) throw new Error(`only ${segs.length} completed WAL segments in ${walDir} for the wal-push measurement`);
      for (const f of segs) {
        copyFileSync(join(walDir, f), join(segDir, f));
        giveToPostgres(join(segDir, f));
      }
      const timeRss = async (tool: 'fsdr' | 'pgbackrest', kind: 'first' | 're-push', path: string) => {
        const cmd = tool === 'fsdr' ? `${process.execPath} ${FSDR_BIN} --config ${fsdrCfg} wal-push ${path}` : `${pgbr} archive-push ${path}`;
        const m = await measureOk(`exec /usr/bin/time -f 'maxrss-kb %M' ${cmd}`);
        const kb = Number(/maxrss-kb (\d+)/.exec(m.out)?.[1]);
        if (!Number.isFinite(kb)) throw new Error(`no maxrss from /usr/bin/time for ${tool}: ${m.out.slice(-500)}`);
        walPushes.push({ tool, kind, seconds: m.seconds, maxRssMiB: kb / 1024 });
      };
      for (const [i, f] of segs.entries()) for (const tool of orderFor(['fsdr', 'pgbackrest'] as const, i)) await timeRss(tool, 'first', join(segDir, f));
      if (segs[0]) for (const tool of ['fsdr', 'pgbackrest'] as const) await timeRss(tool, 're-push', join(segDir, segs[0]));
      for (const w of walPushes) log(`wal-push ${w.kind.padEnd(7)} ${w.tool.padEnd(10)} ${f2(w.seconds)} s  peak RSS ${f1(w.maxRssMiB)} MiB`);
    }

    // --- --profile: one more fsdr backup and restore under node --cpu-prof (not in the figures) -----
    const profiles: Record<string, unknown> = {};
    if (opt.flags.has('--profile')) {
      for (const what of ['backup', 'restore'] as const) {
        check();
        const profDir = mkdirPg(join(work, `prof-${what}`));
        const node = `${process.execPath} --cpu-prof --cpu-prof-dir=${profDir} ${FSDR_BIN} --config ${fsdrCfg}`;
        const dest = join(work, 'restore-profiled');
        if (what === 'backup') {
          await cluster.setArchiveCommand(archiveFor.fsdr);
          await measureOk(`exec ${node} backup --type full --json`);
          await cluster.setArchiveCommand('/bin/true');
        } else {
          await measureOk(`exec ${node} restore --pgdata ${dest} --port 5999 --target-immediate --no-start --json`);
          rmSync(dest, { recursive: true, force: true });
        }
        const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
        const keepDir = join(ctx.resultsDir ?? join(work, 'results'), `profiles-${new Date(t0).toISOString().replace(/[:.]/g, '-')}`);
        mkdirSync(keepDir, { recursive: true });
        for (const f of files) copyFileSync(join(profDir, f), join(keepDir, `fsdr-${what}-${f}`));
        // The biggest profile is the command itself (small ones are helper processes).
        const main = files.map((f) => join(profDir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
        if (main) profiles[what] = { ...summariseProfile(main), savedIn: keepDir };
        log(`profiled fsdr ${what}: ${files.length} profile(s) saved in ${keepDir}`);
      }
    }

    // --- the optional dump phase on the same cluster ---------------------------------------------
    let dump: Record<string, unknown> | undefined;
    if (opt.flags.has('--dump')) dump = await dumpPhase({ ...ctx, log }, { ...opt, rounds: 1, level: 3 }, cluster, work, keyFile, check);

    // --- block-level incremental, last (its second scenario rewrites pgbench_accounts) -----------
    const incremental = await incrementalPhase(pg, cluster, { work, fsdr, fsdrRepo, pgbr, pgbrRepo, archiveFor, pgbrVersion }, log, check);

    // --- the report --------------------------------------------------------------------------------
    const git = await gitState();
    const summarise = (xs: Sample[], what: string) => {
      const by = (t: Tool) => xs.filter((x) => x.tool === t);
      const medS = (t: Tool) => median(by(t).map((x) => x.seconds));
      const mbps = (t: Tool) => dataBytes / MB / medS(t);
      const rss = (t: Tool) => Math.max(...by(t).map((x) => x.peakTreeRssMiB));
      const bestS = (t: Tool) => Math.min(...by(t).map((x) => x.seconds));
      const rows = TOOLS.map((t) => [
        t, what, by(t).map((x) => f1(x.seconds)).join(' / '), f1(medS(t)), f1(bestS(t)), f1(mbps(t)), f1(median(by(t).map((x) => x.cpuSeconds))), f1(rss(t)),
        f1(Math.max(...by(t).map((x) => x.peakProcessHwmMiB))), Math.max(...by(t).map((x) => x.processes)),
        mib(median(by(t).map((x) => x.outputBytes))),
        t === 'fsdr' ? '' : f2(mbps('fsdr') / mbps(t)), t === 'fsdr' ? '' : f2(rss('fsdr') / rss(t)),
      ]);
      return { rows, mbps, rss, bestS };
    };
    const b = summarise(backups, 'full backup');
    const rs = summarise(restores, 'restore (files)');
    const columns = ['tool', 'what', 'seconds per round', 'median s', 'best s', 'MB/s', 'CPU s', 'peak RSS MiB', 'max proc HWM MiB', 'procs', 'size MiB', 'fsdr/tool MB/s', 'fsdr/tool RSS'];
    // Issue 12's targets: backup at least pgBackRest's MB/s, restore's file phase 1.2 times it.
    const verdict = (label: string, s: ReturnType<typeof summarise>, target: number) =>
      `${label}: fsdr ${f1(s.mbps('fsdr'))} MB/s vs pgBackRest ${f1(s.mbps('pgbackrest'))} MB/s (ratio ${f2(s.mbps('fsdr') / s.mbps('pgbackrest'))}, target >= ${target}: ${s.mbps('fsdr') >= target * s.mbps('pgbackrest') ? 'met' : 'NOT met'}); ` +
      `best round: fsdr ${f1(s.bestS('fsdr'))} s vs pgBackRest ${f1(s.bestS('pgbackrest'))} s (ratio ${f2(s.bestS('pgbackrest') / s.bestS('fsdr'))}); ` +
      `fsdr peak RSS ${f1(s.rss('fsdr'))} MiB (target <= 128: ${s.rss('fsdr') <= 128 ? 'met' : 'NOT met'}), pgBackRest ${f1(s.rss('pgbackrest'))} MiB.`;
    const notes = [
      `Cluster: pgbench -i -s ${opt.scale} (initialised in ${f1(cluster.initSeconds)} s), ${mib(dataBytes)} MiB of data without pg_wal = the MB/s denominator for every tool (MB = 10^6 bytes).`,
      verdict('Backup', b, 1),
      verdict('Restore', rs, 1.2),
      'On this 2-core VM some runs spend two to four times the usual kernel (sys) time, whichever tool runs then (seen: pgBackRest restores of 1.6 s and 5.1 s, sys 1.1 s and 4.6 s, of the same backup); where the median and the best round disagree, the best round is the tools\' own speed.',
      `fsdr: zstd level ${opt.level}, AES-256-GCM, backup.processes ${opt.processes} (bundle workers in one Node process: worker threads since 892a79b, async tasks before), 64 MiB bundles, fs repository. ` +
        `pgBackRest: ${pgbrVersion}, zst level ${opt.level}, aes-256-cbc, process-max ${opt.processes}, posix repo, start-fast. ` +
        `pg_basebackup: ${zstdOk ? `-Ft -Z client-zstd:${opt.level} -X stream -c fast` : '-Fp -X stream -c fast (no zstd in this build)'}; restore = ${zstdOk ? 'zstd -dc | tar -x' : 'cp -a'}.`,
      'Peak RSS = highest sampled sum of VmRSS over the tool\'s process tree (shared pages counted per process); for pg_basebackup the server-side walsender is not included. ' +
        'fsdr restore = --no-start (file phase, including manifest/WAL listing); pgbackrest restore --type=immediate. size MiB = repository growth (backup; fsdr includes WAL pushed meanwhile) or bytes written without pg_wal (restore).',
      `node ${process.version}; ${cpus().length} CPUs; total ${elapsed()}; fsdr at ${git.head}${git.dirtySrcFiles ? ` + ${git.dirtySrcFiles} uncommitted file(s) in packages/dr/src` : ''}.`,
    ];
    const tables: { title: string; columns: string[]; rows: (string | number)[][] }[] = [{ title: `Physical backup and restore, pgbench scale ${opt.scale} (${mib(dataBytes)} MiB), ${opt.rounds} interleaved rounds`, columns, rows: [...b.rows, ...rs.rows] }];
    tables.push(incremental.table);
    notes.push(incremental.note);
    const pushRss = (t: 'fsdr' | 'pgbackrest', k: 'first' | 're-push') => walPushes.filter((w) => w.tool === t && w.kind === k);
    tables.push({
      title: 'Peak RSS per call (MiB): backup and restore (max over rounds, process tree), wal-push of a 16 MiB segment (ru_maxrss)',
      columns: ['what', 'fsdr', 'pgBackRest', 'fsdr target'],
      rows: [
        ['backup', f1(b.rss('fsdr')), f1(b.rss('pgbackrest')), '<= 128'],
        ['restore (files)', f1(rs.rss('fsdr')), f1(rs.rss('pgbackrest')), '<= 128'],
        ...(['first', 're-push'] as const).map((k) => [
          `wal-push, ${k === 'first' ? 'first push (max of ' + pushRss('fsdr', k).length + ')' : 're-push of an archived segment'}`,
          f1(Math.max(...pushRss('fsdr', k).map((w) => w.maxRssMiB))), f1(Math.max(...pushRss('pgbackrest', k).map((w) => w.maxRssMiB))), '<= 60',
        ]),
      ],
    });
    for (const [what, p] of Object.entries(profiles) as [string, ReturnType<typeof summariseProfile>][]) {
      tables.push({
        title: `CPU profile of one extra fsdr ${what} (node --cpu-prof, main thread; ${f1(p.totalMs / 1000)} s sampled): self time by function`,
        columns: ['function', 'self ms', '%'],
        rows: p.functions.map((x) => [x.fn, f1(x.selfMs), f1(x.pct)]),
      });
    }
    if (dump) tables.push(...((dump.tables as typeof tables) ?? []));
    if (dump) notes.push(...((dump.notes as string[]) ?? []));
    return {
      tables,
      notes,
      options: { ...opt, flags: [...opt.flags] },
      environment: { node: process.version, git, pgbackrest: pgbrVersion, cpus: cpus().length, totalMemGiB: totalmem() / 2 ** 30 },
      cluster: { scale: opt.scale, dataBytes, initSeconds: cluster.initSeconds },
      backups,
      restores,
      restoreSanity: sanity,
      incremental: incremental.figures,
      walPushes,
      profiles,
      ...(dump ? { dump: { ...dump, tables: undefined, notes: undefined } } : {}),
    };
  } catch (err) {
    throw bench.interrupted() ? new Error('interrupted; cleaned up') : err;
  } finally {
    await bench.close(cluster);
  }
}

/**
 * Two scenarios, each a fresh full backup per tool, then one row updated on ~1 % of
 * pgbench_accounts' pages (scattered by a hash of the page number; abalance, not indexed),
 * CHECKPOINT, and an incremental per tool:
 *   pgbench-style: fillfactor 100, so the update is not HOT (a new tuple version elsewhere and a
 *     primary-key entry per row: ~4 % of the index's pages change too);
 *   1 % of pages: pgbench_accounts rewritten with fillfactor 90 (VACUUM FULL), so the update stays
 *     on its page (HOT) and ~1 % of the database's pages change.
 * Sizes are the backup's own objects in the repository (WAL not counted): fsdr backups/<id>/,
 * pgBackRest backup/<stanza>/<label>/ with --repo1-bundle --repo1-block (beta in 2.45) when it has them.
 */
async function incrementalPhase(
  pg: PostgresHandle, cluster: ScaleCluster,
  t: { work: string; fsdr: string; fsdrRepo: string; pgbr: string; pgbrRepo: string; archiveFor: Record<Tool, string>; pgbrVersion: string },
  log: (s: string) => void, check: () => void,
) {
  const help = await execFileP(PGBACKREST, ['help', 'backup', 'repo-block']).then((r) => r.stdout, () => '');
  const pgbrBlock = /Enable block incremental/.test(help);
  const pgbrFlags = pgbrBlock ? '--repo1-bundle --repo1-block --beta' : '';
  const pgbrLabels = () => (existsSync(join(t.pgbrRepo, 'backup', STANZA)) ? readdirSync(join(t.pgbrRepo, 'backup', STANZA)).filter((n) => /^\d{8}-\d{6}F/.test(n)).sort() : []);
  const newest = (re: RegExp) => pgbrLabels().filter((n) => re.test(n)).pop()!;
  const take = async (tool: 'fsdr' | 'pgbackrest', type: 'full' | 'incr') => {
    check();
    await cluster.setArchiveCommand(t.archiveFor[tool]);
    await pg.query('SELECT pg_switch_wal()');
    await pg.query('CHECKPOINT');
    await waitArchiverIdle(pg);
    await settle();
    if (tool === 'fsdr') {
      const m = await measureOk(`exec ${t.fsdr} backup --type ${type} --json`);
      const man = JSON.parse(m.stdout) as { id: string };
      return { seconds: m.seconds, peakRssMiB: m.peakTreeRss / 1048576, bytes: dirBytes(join(t.fsdrRepo, 'backups', man.id)), id: man.id };
    }
    const m = await measureOk(`exec ${t.pgbr} --type=${type} ${pgbrFlags} backup`);
    const label = newest(type === 'full' ? /F$/ : /I$/);
    return { seconds: m.seconds, peakRssMiB: m.peakTreeRss / 1048576, bytes: dirBytes(join(t.pgbrRepo, 'backup', STANZA, label)), id: label };
  };
  const ratio = (i: { bytes: number }, f: { bytes: number }) => i.bytes / f.bytes;
  const scenario = async (name: string) => {
    const fullF = await take('fsdr', 'full');
    const fullP = await take('pgbackrest', 'full');
    const pages = Number((await pg.query<{ p: string }>(`SELECT pg_relation_size('pgbench_accounts') / 8192 AS p`)).rows[0]!.p);
    const changed = (await pg.query(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE ctid = ANY (ARRAY(
      SELECT format('(%s,1)', g)::tid FROM generate_series(0, ${pages - 1}) g WHERE abs(hashint4(g)) % 100 = 0))`)).rowCount ?? 0;
    const incrF = await take('fsdr', 'incr');
    const incrP = await take('pgbackrest', 'incr');
    log(`incremental, ${name}, ${changed} of ${pages} pgbench_accounts pages updated: fsdr ${mib(incrF.bytes)} of ${mib(fullF.bytes)} MiB (${f2(100 * ratio(incrF, fullF))} %), pgBackRest${pgbrBlock ? ' (block)' : ''} ${mib(incrP.bytes)} of ${mib(fullP.bytes)} MiB (${f2(100 * ratio(incrP, fullP))} %)`);
    return { name, pages, changed, fsdr: { full: fullF, incr: incrF, ratio: ratio(incrF, fullF) }, pgbackrest: { full: fullP, incr: incrP, ratio: ratio(incrP, fullP) } };
  };
  const nonHot = await scenario('pgbench-style (not HOT: index entries too)');
  await pg.query('ALTER TABLE pgbench_accounts SET (fillfactor = 90)');
  await pg.query('VACUUM (FULL, ANALYZE) pgbench_accounts');
  const hot = await scenario('1 % of pages (HOT, fillfactor 90)');
  await cluster.setArchiveCommand('/bin/true');
  // Restoring the last incremental (file phase): every block assembled from the full's and its own bundles.
  const restoreOf = async (tool: 'fsdr' | 'pgbackrest', id: string) => {
    check();
    await settle();
    const dest = join(t.work, `restore-incr-${tool}`);
    if (tool === 'pgbackrest') mkdirPg(dest, 0o700);
    const m = tool === 'fsdr'
      ? await measureOk(`exec ${t.fsdr} restore --pgdata ${dest} --port 5999 --backup ${id} --target-immediate --no-start --json`)
      : await measureOk(`exec ${t.pgbr} --pg1-path=${dest} --set=${id} --type=immediate restore`);
    const bytes = dirBytes(dest, (p) => p === 'pg_wal');
    rmSync(dest, { recursive: true, force: true });
    return { seconds: m.seconds, mbPerSec: bytes / MB / m.seconds, peakRssMiB: m.peakTreeRss / 1048576 };
  };
  // As for the full restores: the source cluster does not run beside them.
  await pg.query('CHECKPOINT');
  await pg.stopServer();
  // Twice each, in the order A B B A, the faster of each tool's two kept: the first restore after
  // the backups was the slow one whoever ran it (twice the CPU, in the kernel), and it was always fsdr's.
  const runs: Array<['fsdr' | 'pgbackrest', Awaited<ReturnType<typeof restoreOf>>]> = [];
  for (const tool of ['fsdr', 'pgbackrest', 'pgbackrest', 'fsdr'] as const) runs.push([tool, await restoreOf(tool, tool === 'fsdr' ? hot.fsdr.incr.id : hot.pgbackrest.incr.id)]);
  const fastest = (tool: 'fsdr' | 'pgbackrest') => runs.filter(([t]) => t === tool).map(([, r]) => r).sort((a, b) => a.seconds - b.seconds)[0]!;
  const restoreIncr = { fsdr: fastest('fsdr'), pgbackrest: fastest('pgbackrest'), rounds: runs.map(([tool, r]) => ({ tool, seconds: r.seconds })) };
  await pg.start();
  log(`restore of the incremental (files, best of 2, ABBA: ${runs.map(([tool, r]) => `${tool} ${f1(r.seconds)}`).join(', ')}): fsdr ${f1(restoreIncr.fsdr.seconds)} s ${f1(restoreIncr.fsdr.mbPerSec)} MB/s, pgBackRest ${f1(restoreIncr.pgbackrest.seconds)} s ${f1(restoreIncr.pgbackrest.mbPerSec)} MB/s`);
  const mb = (n: number) => f1(n / 1048576);
  const rows = [nonHot, hot].flatMap((r) => [
    [r.name, 'fsdr', 'block incremental (16 KiB blocks)', mb(r.fsdr.full.bytes), mb(r.fsdr.incr.bytes), f2(100 * r.fsdr.ratio), f1(r.fsdr.full.seconds), f1(r.fsdr.incr.seconds), f1(r.fsdr.incr.peakRssMiB)],
    [r.name, 'pgbackrest', pgbrBlock ? 'bundle + block incremental (beta)' : 'file-level incremental', mb(r.pgbackrest.full.bytes), mb(r.pgbackrest.incr.bytes), f2(100 * r.pgbackrest.ratio), f1(r.pgbackrest.full.seconds), f1(r.pgbackrest.incr.seconds), f1(r.pgbackrest.incr.peakRssMiB)],
  ]);
  return {
    table: { title: `Incremental after one row updated on ~1 % of pgbench_accounts pages (${nonHot.changed} of ${nonHot.pages}; then ${hot.changed} of ${hot.pages} at fillfactor 90)`, columns: ['scenario', 'tool', 'kind', 'full MiB', 'incr MiB', 'incr / full %', 'full s', 'incr s', 'incr peak RSS MiB'], rows },
    note: `Incremental: stored size of the backup's own objects (fsdr backups/<id>/: bundles + manifest; pgBackRest backup/${STANZA}/<label>/), WAL not counted. ` +
      `fsdr target <= 5 % after 1 % of pages changed: ${hot.fsdr.ratio <= 0.05 ? 'met' : 'NOT met'} (${f2(100 * hot.fsdr.ratio)} %); pgbench-style, where each non-HOT update also changes a primary-key leaf page (the index compresses far worse than pgbench's blank-padded rows, so it is most of the full): ${f2(100 * nonHot.fsdr.ratio)} %, pgBackRest ${f2(100 * nonHot.pgbackrest.ratio)} %. ` +
      `Restore of that incremental (file phase, assembled from the full's and its own bundles): fsdr ${f1(restoreIncr.fsdr.seconds)} s (${f1(restoreIncr.fsdr.mbPerSec)} MB/s, peak RSS ${f1(restoreIncr.fsdr.peakRssMiB)} MiB), pgBackRest ${f1(restoreIncr.pgbackrest.seconds)} s (${f1(restoreIncr.pgbackrest.mbPerSec)} MB/s, ${f1(restoreIncr.pgbackrest.peakRssMiB)} MiB). ` +
      `pgBackRest ${t.pgbrVersion}${pgbrBlock ? ' with --repo1-bundle --repo1-block --beta' : ' (no block incremental in this version)'}.`,
    figures: { pgbackrestBlock: pgbrBlock, scenarios: [nonHot, hot], restoreIncr },
  };
}
