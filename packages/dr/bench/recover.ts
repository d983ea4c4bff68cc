// `npm run bench -- recover`: the plan's "database restore" / "full stack recovery" measured end to
// end, RTO broken into its phases, and RPO measured by the restore drill's writer.
//
//   source:  a pgbench cluster (scale 70 by default, about 1 GB) with the FeatureSignals database
//            beside it: 10,000 flags (--flags N) seeded through the management API of the real
//            server, a base backup, a golden capture, then --load S seconds of pgbench (WAL the
//            recovery must replay), archived by fsdr wal-push into a directory repository
//   recover: `fsdr recover --target-time T --no-switch --json` (the CLI, as the postgres OS user):
//            restore files → WAL replay → server start → /health + /ready (the cache warms from
//            the restored database) → golden evaluations → integration checks
//   drill:   `fsdr drill restore --json` with drill.writer on: the writer commits every 100 ms for
//            10 s, the drill restores the latest point and reports the measured RPO
//
// Options (after `recover`): --scale N (70), --flags N (10000), --load S (30), --rounds R (1),
// --processes N (2), --keep.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { sleep } from '@featuresignals/testkit';
import { FSDR_BIN, giveToPostgres } from '../test/helpers/fsdr.js';
import { seedShop, startDemoServer, type DemoServer } from '../src/commands/demo/demo-featuresignals.js';
import { SERVER_MAIN } from '../src/commands/demo/demo-featuresignals.js';
import { f1, f2, measure, measureOk, median, mib, mkdirPg, gitState, parseScaleOptions, startScaleCluster, openBenchRun, type BenchContext, type ScaleCluster } from './common.js';

interface Step { name: string; ok: boolean; seconds: number; detail?: Record<string, unknown> }
interface Report { result: string; rtoSeconds?: number; rpoSeconds?: number; steps: Step[]; stack?: { pgdata: string; serverPid: number; port: number }; failure?: { step: string; message: string }; objectives?: { rto: { met: boolean | null; limitSeconds: number }; rpo: { met: boolean | null; limitSeconds: number; measuredSeconds?: number } }; checks: Record<string, any> }

function takeNumber(args: string[], name: string, fallback: number, min: number, max: number): [number, string[]] {
  const i = args.indexOf(name);
  if (i < 0) return [fallback, args];
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}: expected an integer ${min}..${max}`);
  return [v, [...args.slice(0, i), ...args.slice(i + 2)]];
}

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  let args = ctx.args;
  let flagCount: number, loadSeconds: number;
  [flagCount, args] = takeNumber(args, '--flags', 10_000, 1, 1_000_000);
  [loadSeconds, args] = takeNumber(args, '--load', 30, 0, 3600);
  const opt = parseScaleOptions(args, { rounds: 1 });
  const log = ctx.log;
  const bench = await openBenchRun('fsdr-bench-recover-', log, opt.keep);
  const { work, check } = bench;
  let cluster: ScaleCluster | undefined;
  let fs: DemoServer | undefined;
  const left: Array<{ pid: number; pgdata: string }> = [];
  try {
    cluster = await startScaleCluster(opt.scale, log);
    const pg = cluster.pg;
    await pg.query('CREATE DATABASE featuresignals');
    const adminToken = randomBytes(24).toString('hex');
    fs = await startDemoServer(pg.url('featuresignals'), adminToken);
    let t = Date.now();
    const shop = await seedShop(fs, flagCount, 8);
    const seedSeconds = (Date.now() - t) / 1000;
    log(`seeded ${flagCount} flags through the management API in ${f1(seedSeconds)} s`);
    check();

    const secret = (name: string, value: string) => { const f = join(work, name); writeFileSync(f, value + '\n', { mode: 0o600 }); giveToPostgres(f); return f; };
    const keyFile = secret('master.key', randomBytes(32).toString('hex'));
    const repo = mkdirPg(join(work, 'repo'));
    const cfg = join(work, 'fsdr.yaml');
    writeFileSync(cfg, stringify({
      cluster: { connection: pg.connectionString, pgdata: pg.pgdata },
      repositories: { primary: { type: 'fs', path: repo } },
      encryption: { masterKey: `file:${keyFile}` },
      compression: { algorithm: 'zstd', level: opt.level },
      backup: { processes: opt.processes, bundleSizeMiB: 64 },
      stack: {
        url: fs.url, keys: { prod: `file:${secret('prod.key', shop.key)}` }, database: 'featuresignals',
        start: { command: [process.execPath, SERVER_MAIN], env: { DATABASE_URL: '{{DATABASE_URL}}', HOST: '127.0.0.1', LOG_LEVEL: 'warn', FS_SCHEDULER: 'off' }, secretEnv: { FS_ADMIN_TOKEN: `file:${secret('admin.token', adminToken)}` } },
      },
      drill: { writer: { enabled: true } },
    }));
    giveToPostgres(cfg);
    const fsdr = `${process.execPath} ${FSDR_BIN} --config ${cfg}`;
    await measureOk(`${fsdr} init`);
    await cluster.setArchiveCommand(`FSDR_CONFIG=${cfg} ${process.execPath} ${FSDR_BIN} wal-push %p`);
    const backup = await measureOk(`exec ${fsdr} backup --type full --json`);
    log(`backup ${f1(backup.seconds)} s`);
    const golden = await measureOk(`exec ${fsdr} golden capture --json`);
    log(`golden capture ${f1(golden.seconds)} s`);
    const lsn0 = (await pg.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
    if (loadSeconds > 0) {
      t = Date.now();
      await measureOk(`${pg.binDir}/pgbench -n -T ${loadSeconds} -c 2 -j 2 -h 127.0.0.1 -p ${pg.port} -U postgres postgres`);
      log(`pgbench ${loadSeconds} s done`);
    }
    await sleep(1100);
    const target = new Date().toISOString();
    await sleep(1100);
    const walBytes = Number((await pg.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS b`, [lsn0])).rows[0]!.b);
    // A commit after the target, so that recovery can see the target passed (as production would).
    await pg.query('CREATE TABLE fsdr_bench_tick AS SELECT now() AS t');
    const seg = (await pg.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    for (let i = 0; i < 1200; i++) {
      const w = (await pg.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!.w;
      if (w && w >= seg) break;
      await sleep(100);
    }
    check();

    const recovers: Report[] = [];
    const drills: Report[] = [];
    for (let r = 0; r < opt.rounds; r++) {
      const pgdata = join(work, `recovered-${r}`);
      const m = await measure(`exec ${fsdr} recover --pgdata ${pgdata} --target-time ${target} --no-switch --json`);
      const rep = JSON.parse(m.stdout) as Report;
      if (rep.stack) left.push({ pid: rep.stack.serverPid, pgdata: rep.stack.pgdata });
      if (rep.result !== 'ok') throw new Error(`recover failed at ${rep.failure?.step}: ${rep.failure?.message}`);
      recovers.push(rep);
      log(`recover round ${r}: RTO ${f1(rep.rtoSeconds ?? NaN)} s (${rep.steps.map((s) => `${s.name} ${f2(s.seconds)}`).join(', ')})`);
      await stopRecovered(left.pop()!, pg.binDir);
      check();
      const d = await measure(`exec ${fsdr} drill restore --json`);
      const dr = JSON.parse(d.stdout) as Report;
      drills.push(dr);
      log(`drill restore round ${r}: ${dr.result}, RPO ${f2(dr.rpoSeconds ?? NaN)} s, RTO ${f1(dr.rtoSeconds ?? NaN)} s`);
    }

    const phase = (rep: Report) => {
      const s = (n: string) => rep.steps.find((x) => x.name === n);
      const secs = (s('restore')?.detail?.seconds ?? {}) as { files?: number; recovery?: number };
      return {
        files: secs.files ?? NaN, replay: secs.recovery ?? NaN, server: s('start-server')?.seconds ?? NaN, ready: s('ready')?.seconds ?? NaN,
        golden: s('golden')?.seconds ?? NaN, integration: s('integration')?.seconds ?? NaN, rto: rep.rtoSeconds ?? NaN,
      };
    };
    const phases = recovers.map(phase);
    const med = (k: keyof ReturnType<typeof phase>) => median(phases.map((p) => p[k]));
    const rpo = median(drills.map((d) => d.rpoSeconds ?? NaN));
    const git = await gitState();
    const goldenRep = recovers[0]!.checks.golden as { evaluations?: number; contexts?: number } | undefined;
    return {
      scale: opt.scale, flags: flagCount, loadSeconds, walReplayBytes: walBytes, dataBytes: cluster.dataBytes, seedSeconds, git,
      recovers, drills,
      tables: [
        {
          title: `recover (pgbench scale ${opt.scale}, ${mib(cluster.dataBytes)} MiB data, ${flagCount} flags, ${mib(walBytes)} MiB WAL to replay; median of ${opt.rounds}) — RTO = restore start to /ready with golden matching`,
          columns: ['phase', 'seconds'],
          rows: [
            ['restore files', f2(med('files'))], ['WAL replay', f2(med('replay'))], ['server start', f2(med('server'))], ['/health + /ready (warm)', f2(med('ready'))],
            ['golden evaluations', f2(med('golden'))], ['RTO', f2(med('rto'))], ['integration checks (after RTO)', f2(med('integration'))],
          ],
        },
        {
          title: 'objectives (database corruption)',
          columns: ['objective', 'measured', 'limit', 'verdict'],
          rows: [
            ['RTO', `${f1(med('rto'))} s`, '30 min', med('rto') <= 1800 ? 'met' : 'NOT MET'],
            ['RPO (drill writer)', `${f2(rpo)} s`, '5 min', Number.isFinite(rpo) ? (rpo <= 300 ? 'met' : 'NOT MET') : 'unavailable'],
          ],
        },
      ],
      notes: [
        `fsdr ${git.head}${git.dirtySrcFiles ? ` (+${git.dirtySrcFiles} uncommitted files)` : ''}; backup ${f1(backup.seconds)} s; golden capture ${f1(golden.seconds)} s${goldenRep?.evaluations ? ` (${goldenRep.evaluations} evaluations)` : ''}; seeding ${f1(seedSeconds)} s`,
      ],
    };
  } finally {
    for (const l of left) await stopRecovered(l, cluster?.pg.binDir);
    await fs?.server.close().catch(() => undefined);
    await bench.close(cluster);
  }
}

async function stopRecovered(l: { pid: number; pgdata: string }, binDir?: string): Promise<void> {
  try { process.kill(-l.pid, 'SIGTERM'); } catch { /* gone */ }
  if (binDir) await measure(`${binDir}/pg_ctl -D ${l.pgdata} -m immediate -w stop`).catch(() => undefined);
}
