// `npm run bench -- failover`: regional failover measured end to end on this machine, two regions
// each with its own moto S3 bucket, BIND for the zone, the real FeatureSignals server.
//
//   eu:  a pgbench cluster (scale 70 by default) with 10,000 flags (--flags N) seeded through the
//        management API, archiving through fsdr wal-push into eu's bucket; `fsdr replicate` fills
//        us's bucket; us runs the warm standby from its own bucket alone
//   lag: pgbench at full speed for --load S seconds (30) while replication runs in a loop; the
//        standby's lag behind its repository and behind the primary is sampled every second
//   drill: `fsdr drill failover --confirm` (writer on, 5 s; serve 10 s): the unplanned failover's
//        RTO by step (fence / promote / history / server / ready / golden / integration / DNS)
//        and its measured RPO; then failback with a planned switchover back (its steps: stop
//        writes / replicate / fence / catch-up / promote / history / stack / DNS)
//
// Options (after `failover`): --scale N (70), --flags N (10000), --load S (30), --keep.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { sleep, startNamed, type NamedHandle } from '@featuresignals/testkit';
import { FSDR_BIN, giveToPostgres } from '../test/helpers/fsdr.js';
import { startRegion, stopRegion, type Region } from '../test/helpers/regions.js';
import { seedShop, startDemoServer, type DemoServer } from '../src/commands/demo/demo-featuresignals.js';
import { f1, f2, measure, measureOk, median, mib, gitState, parseScaleOptions, startScaleCluster, openBenchRun, type BenchContext, type ScaleCluster } from './common.js';
import { randomBytes } from 'node:crypto';

const SERVER_MAIN = fileURLToPath(new URL('./main.js', import.meta.resolve('@featuresignals/server')));

interface Step { name: string; ok: boolean; seconds: number; detail?: Record<string, unknown> }

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
  [loadSeconds, args] = takeNumber(args, '--load', 30, 1, 3600);
  const opt = parseScaleOptions(args, { rounds: 1 });
  const log = ctx.log;
  const bench = await openBenchRun('fsdr-bench-failover-', log, opt.keep);
  const { work, check } = bench;
  let cluster: ScaleCluster | undefined;
  let fs: DemoServer | undefined;
  let named: NamedHandle | undefined;
  const regions: Region[] = [];
  const pids: number[] = [];
  const usPgdata = join(work, 'us-pg');
  try {
    const [eu, us] = await Promise.all([startRegion('eu'), startRegion('us')]);
    regions.push(eu, us);
    named = await startNamed({ zone: 'fs.test', records: ['api 300 IN A 127.0.0.1'] });
    cluster = await startScaleCluster(opt.scale, log);
    const pg = cluster.pg;
    // Takes effect in the copies (the backup carries postgresql.auto.conf), so the standby re-seed
    // after the switchover back can use pg_rewind; eu itself runs without it.
    await pg.query('ALTER SYSTEM SET wal_log_hints = on');
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
    const usPort = 20000 + Math.floor(Math.random() * 20000);
    eu.cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
    us.cluster = { connection: `postgres://postgres@127.0.0.1:${usPort}/postgres`, pgdata: usPgdata };
    const stackKeys = { prod: `file:${secret('prod.key', shop.key)}` };
    const start = { command: [process.execPath, SERVER_MAIN], env: { DATABASE_URL: '{{DATABASE_URL}}', HOST: '127.0.0.1', LOG_LEVEL: 'warn', FS_SCHEDULER: 'off' }, secretEnv: { FS_ADMIN_TOKEN: `file:${secret('admin.token', adminToken)}` } };
    const member = (r: Region, address: string) => ({ cluster: r.cluster, repository: r.repository, stack: { url: fs!.url, keys: stackKeys, database: 'featuresignals', start }, dns: { name: 'api.fs.test', address } });
    const write = (self: string, peer?: string) => {
      const f = join(work, `${self}.yaml`);
      writeFileSync(f, stringify({
        regions: { primary: 'eu', standby: 'us', self, members: { eu: member(eu, '127.0.0.1'), us: member(us, '127.0.0.2') } },
        encryption: { masterKey: `file:${keyFile}` },
        compression: { algorithm: 'zstd', level: opt.level },
        backup: { processes: opt.processes, bundleSizeMiB: 64 },
        dns: { providers: { bind: { type: 'rfc2136', server: named!.server, zone: named!.zone, keyName: named!.keyName, keySecret: `file:${secret('tsig', named!.keySecret)}` } } },
        drill: { writer: { enabled: true, seconds: 5, intervalMs: 100 }, failover: { serveSeconds: 10, ...(peer ? { peerConfig: peer } : {}) } },
      }));
      giveToPostgres(f);
      return f;
    };
    const euCfg = write('eu');
    const usCfg = write('us', euCfg);
    const env = { ...eu.moto.env };
    const fsdr = (cfg: string) => `${process.execPath} ${FSDR_BIN} --config ${cfg}`;
    await measureOk(`${fsdr(euCfg)} init`, { env });
    const inline = Object.entries({ FSDR_CONFIG: euCfg, ...env }).map(([k, v]) => `${k}=${v}`).join(' ');
    await cluster.setArchiveCommand(`${inline} ${process.execPath} ${FSDR_BIN} wal-push %p`);
    const backup = await measureOk(`exec ${fsdr(euCfg)} backup --json`, { env });
    log(`backup ${f1(backup.seconds)} s`);
    const golden = await measureOk(`exec ${fsdr(euCfg)} golden capture --json`, { env });
    log(`golden capture ${f1(golden.seconds)} s`);
    await pg.query('SELECT pg_switch_wal()');
    await sleep(2000);
    const rep0 = await measureOk(`exec ${fsdr(euCfg)} replicate --json`, { env });
    log(`first replicate ${f1(rep0.seconds)} s`);
    const sb = await measureOk(`exec ${fsdr(usCfg)} standby start --json`, { env });
    log(`standby built from us's bucket in ${f1(sb.seconds)} s`);
    check();

    // Replay lag of the warm standby under pgbench at full speed, replication in a loop.
    let loading = true;
    const lag: Array<{ repoBytes: number; repoSeconds: number; primaryBytes?: number }> = [];
    const replicator = (async () => {
      let n = 0;
      while (loading) { await measure(`exec ${fsdr(euCfg)} replicate`, { env }); n++; }
      return n;
    })();
    const sampler = (async () => {
      while (loading) {
        const s = await measure(`exec ${fsdr(usCfg)} standby status --json`, { env });
        if (s.code === 0) {
          const j = JSON.parse(s.stdout) as { repository: { bytes: number; seconds: number }; primary: { bytes?: number } };
          lag.push({ repoBytes: j.repository.bytes, repoSeconds: j.repository.seconds, primaryBytes: j.primary.bytes });
        }
        await sleep(1000);
      }
    })();
    const tps = await measureOk(`${pg.binDir}/pgbench -n -T ${loadSeconds} -c 2 -j 2 -h 127.0.0.1 -p ${pg.port} -U postgres postgres`);
    loading = false;
    const replications = await replicator;
    await sampler;
    const tpsValue = Number(/tps = ([\d.]+)/.exec(tps.out)?.[1] ?? NaN);
    log(`pgbench ${loadSeconds} s: ${f1(tpsValue)} tps; ${replications} replications; ${lag.length} lag samples`);
    check();

    const d = await measure(`exec ${fsdr(usCfg)} drill failover --confirm --json`, { env, timeoutMs: 1_800_000 });
    const e = JSON.parse(d.stdout) as { result: string; rtoSeconds?: number; rpoSeconds?: number; failure?: unknown; checks: Record<string, any>; steps: Step[]; failover?: { steps: Step[]; stack?: { serverPid: number } }; failback?: { switchover?: { steps: Step[]; rtoSeconds?: number; stack?: { serverPid: number } } } };
    for (const s of [e.failover?.stack, e.failback?.switchover?.stack]) if (s?.serverPid) pids.push(s.serverPid);
    if (e.result !== 'ok') throw new Error(`the failover drill failed: ${JSON.stringify(e.failure)}`);
    const stepTable = (steps: Step[]) => steps.map((s) => [s.name, f2(s.seconds)]);
    const sum = (steps: Step[]) => steps.reduce((n, s) => n + s.seconds, 0);
    const repoBytes = lag.map((l) => l.repoBytes);
    const primaryBytes = lag.map((l) => l.primaryBytes ?? NaN).filter(Number.isFinite);
    const git = await gitState();
    const drillStep = (n: string) => e.steps.find((s) => s.name === n);
    return {
      scale: opt.scale, flags: flagCount, loadSeconds, dataBytes: cluster.dataBytes, seedSeconds, tps: tpsValue, lag, drill: e, git,
      tables: [
        { title: `unplanned failover eu -> us (pgbench scale ${opt.scale}, ${mib(cluster.dataBytes)} MiB, ${flagCount} flags): RTO ${f1(e.rtoSeconds ?? NaN)} s from the disaster to /ready with golden matching; RPO ${f2(e.rpoSeconds ?? NaN)} s`, columns: ['step', 'seconds'], rows: [...stepTable(e.failover!.steps), ['total', f2(sum(e.failover!.steps))]] },
        { title: `planned switchover back us -> eu (the failback's; old primary ${drillStep('failback')?.detail?.method ?? '?'}): RTO ${f1(e.failback?.switchover?.rtoSeconds ?? NaN)} s`, columns: ['step', 'seconds'], rows: [...stepTable(e.failback!.switchover!.steps), ['total', f2(sum(e.failback!.switchover!.steps))]] },
        { title: `warm standby lag under pgbench at full speed (${f1(tpsValue)} tps, ${loadSeconds} s, replicate in a loop: ${replications} runs)`, columns: ['lag', 'median', 'max'], rows: [
          ['behind its repository (MiB)', f2(median(repoBytes) / 1048576), f2(Math.max(...repoBytes) / 1048576)],
          ['behind the primary (MiB)', f2(median(primaryBytes) / 1048576), f2(Math.max(...primaryBytes) / 1048576)],
        ] },
        { title: 'objectives (region failure)', columns: ['objective', 'measured', 'limit', 'verdict'], rows: [
          ['RTO', `${f1(e.rtoSeconds ?? NaN)} s`, '4 h', (e.rtoSeconds ?? Infinity) <= 14400 ? 'met' : 'NOT MET'],
          ['RPO', `${f2(e.rpoSeconds ?? NaN)} s`, '1 h', (e.rpoSeconds ?? Infinity) <= 3600 ? 'met' : 'NOT MET'],
        ] },
      ],
      notes: [`fsdr ${git.head}${git.dirtySrcFiles ? ` (+${git.dirtySrcFiles} uncommitted files)` : ''}; seeding ${f1(seedSeconds)} s; backup ${f1(backup.seconds)} s; golden ${f1(golden.seconds)} s; standby build ${f1(sb.seconds)} s; drill total ${f1(d.seconds)} s; failback ${drillStep('failback')?.detail?.method}, standby re-seed ${drillStep('standby')?.detail?.method}`],
    };
  } finally {
    for (const pid of pids) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    if (cluster) await measure(`${cluster.pg.binDir}/pg_ctl -D ${usPgdata} -m immediate -w stop`).catch(() => undefined);
    await fs?.server.close().catch(() => undefined);
    await named?.stop().catch(() => undefined);
    for (const r of regions) await stopRegion(r).catch(() => undefined);
    await bench.close(cluster);
  }
}
