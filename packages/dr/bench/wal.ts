// `npm run bench -- wal`: WAL archiving throughput of fsdr against pgBackRest (the Debian package),
// measured in one run and interleaved, so machine noise falls on both alike.
//
//   1. live:   a PostgreSQL 15 cluster under pgbench at full speed for 60 s with each async tool as
//              archive_command in turn: archive backlog (.ready files) at the end, its peak, and
//              how long it took to drain. The WAL it writes supplies the segments for 2 and 3.
//   2. sync:   the same real 16 MB pgbench WAL segments pushed one process per segment, as
//              PostgreSQL's archiver runs archive_command: `fsdr wal-push` into a directory
//              repository vs `pgbackrest archive-push` (zst level 3, aes-256-cbc) into a posix repo.
//              The order rotates per segment. fsdr in-process (no process start-up) is measured
//              beside them, to split per-segment cost into start-up and work.
//   3. async:  a backlog of N .ready segments drained by a simulated archiver (PostgreSQL's loop:
//              oldest .ready first, run the command, mark .done), fsdr archive.async=true vs
//              pgbackrest archive-async=y process-max=4; rounds in ABBA order, fresh repo and spool each.
//
//   The live phase runs: none (archive_command = /bin/true), fsdr (node) (async wal-push as the
//   command), fsdr (the fast line of `fsdr archive-command` with the background pusher beside it,
//   as the agent runs it), fsdr+stream, pgbackrest; the async drain uses the fast line for fsdr.
//
// Options (after `wal`): --segments N (30), --load-seconds S (60), --rounds R (2 per tool), --keep.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync,
  renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { startPostgres, sleep, type PostgresHandle } from '@featuresignals/testkit';
import { FSDR_BIN, fsdrOk, giveToPostgres } from '../test/helpers/fsdr.js';
import { loadConfig } from '../src/config/load.js';
import { Repository } from '../src/repository/repository.js';
import { pushWalFile } from '../src/commands/wal-push/push-wal-file.js';
import { archiveCommandFor } from '../src/commands/wal-push/archive-command.js';
import { execFileP, f1, f2, median, PGBACKREST, pidsWith, reap, sum } from './common.js';

const SEG = 16 * 1024 * 1024;
const STANZA = 'bench';

export interface BenchContext {
  args: string[];
  log(msg: string): void;
}

interface Options {
  segments: number;
  loadSeconds: number;
  rounds: number;
  keep: boolean;
}

function parseOptions(args: string[]): Options {
  const o: Options = { segments: 30, loadSeconds: 60, rounds: 2, keep: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (min: number, max: number): number => {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${a}: expected an integer ${min}..${max}`);
      return v;
    };
    if (a === '--segments') o.segments = num(2, 500);
    else if (a === '--load-seconds') o.loadSeconds = num(5, 600);
    else if (a === '--rounds') o.rounds = num(1, 10);
    else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option ${a} (options: --segments N, --load-seconds S, --rounds R, --keep)`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Processes: every command runs as the postgres OS user through /bin/sh -c (as PostgreSQL's
// archiver does), timed from spawn to exit. Children are tracked; the detached background pushers
// both tools start are found by their command line (it names this run's temp dir) and ended by pid.

interface RunResult {
  code: number;
  ms: number;
  out: string;
}

const live = new Set<ChildProcess>();
let asPg: { uid?: number; gid?: number } = {};
let childEnv: NodeJS.ProcessEnv = {};

async function pgUser(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const id = async (flag: string) => Number((await execFileP('id', [flag, 'postgres'])).stdout.trim());
  asPg = { uid: await id('-u'), gid: await id('-g') };
}

function sh(cmd: string, cwd: string, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/bin/sh', ['-c', cmd], { ...asPg, cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    const collect = (d: Buffer) => {
      if (out.length < 8192) out += d.toString();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    // 'exit', not 'close': a background process forked by the tool may hold the pipes open.
    child.on('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      live.delete(child);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({ code: code ?? (signal ? 128 : -1), ms, out });
    });
  });
}

async function shOk(cmd: string, cwd: string): Promise<RunResult> {
  const r = await sh(cmd, cwd);
  if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.out.trim().slice(0, 2000)}`);
  return r;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

function dirBytes(dir: string): number {
  let total = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

function countFiles(dir: string, test: (name: string) => boolean): number {
  let n = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countFiles(join(dir, e.name), test);
    else if (test(e.name)) n++;
  }
  return n;
}

const readyCount = (pgWal: string): number => {
  try {
    return readdirSync(join(pgWal, 'archive_status')).filter((n) => n.endsWith('.ready')).length;
  } catch {
    return 0;
  }
};

const chownR = (path: string) => (asPg.uid === undefined ? Promise.resolve() : execFileP('chown', ['-R', `${asPg.uid}:${asPg.gid}`, path]).then(() => undefined));

function mkdirPg(path: string): string {
  mkdirSync(path, { recursive: true });
  chmodSync(path, 0o755);
  giveToPostgres(path);
  return path;
}

// ---------------------------------------------------------------------------------------------

export async function run(ctx: BenchContext): Promise<Record<string, unknown>> {
  const opt = parseOptions(ctx.args);
  const log = ctx.log;
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
  await pgUser();
  if (!existsSync(PGBACKREST)) throw new Error(`${PGBACKREST} not found: apt-get install pgbackrest (.ci/run installs it)`);
  const pgbrVersion = (await execFileP(PGBACKREST, ['version'])).stdout.trim();

  const work = mkdtempSync(join(tmpdir(), 'fsdr-bench-wal-'));
  mkdirPg(work);
  childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: work };
  let pg: PostgresHandle | undefined;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    for (const c of live) c.kill('SIGKILL');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new Error('interrupted');
  };

  try {
    // --- the cluster and the keys --------------------------------------------------------------
    log(`PostgreSQL 15 cluster (archive_command=/bin/true), work dir ${work}`);
    pg = await startPostgres({
      // checkpoint_timeout at its minimum: full-page images after each checkpoint make pgbench
      // write WAL at a rate that loads an archiver (with the default 5 min it idles at ~1 MB/s).
      settings: { wal_level: 'replica', archive_mode: 'on', archive_command: '/bin/true', wal_keep_size: '2GB', max_wal_size: '2GB', checkpoint_timeout: '30s' },
    });
    const cluster = pg;
    const pgWal = join(cluster.pgdata, 'pg_wal');
    const keyFile = join(work, 'master.key');
    writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    giveToPostgres(keyFile);

    const pgbrConf = join(work, 'pgbackrest.conf');
    writeFileSync(pgbrConf, [
      '[global]',
      `repo1-path=${join(work, 'pgbr-unused')}`,
      'repo1-cipher-type=aes-256-cbc',
      `repo1-cipher-pass=${randomBytes(24).toString('base64')}`,
      'compress-type=zst',
      'compress-level=3',
      `lock-path=${mkdirPg(join(work, 'pgbr-lock'))}`,
      `log-path=${mkdirPg(join(work, 'pgbr-log'))}`,
      'log-level-console=warn',
      'log-level-stderr=warn',
      `spool-path=${mkdirPg(join(work, 'pgbr-spool-unused'))}`,
      '',
      `[${STANZA}]`,
      `pg1-path=${cluster.pgdata}`,
      `pg1-port=${cluster.port}`,
      `pg1-socket-path=${cluster.socketDir}`,
      '',
    ].join('\n'), { mode: 0o600 });
    giveToPostgres(pgbrConf);

    /** A fresh, initialised fsdr directory repository (and spool) under `label`. */
    const fsdrRepo = async (label: string, async: boolean, streaming = false) => {
      const dir = mkdirPg(join(work, label));
      const repoDir = mkdirPg(join(dir, 'repo'));
      const spool = mkdirPg(join(dir, 'spool'));
      const cfg = join(dir, 'fsdr.yaml');
      writeFileSync(cfg, stringify({
        cluster: { connection: cluster.connectionString, pgdata: cluster.pgdata },
        repositories: { primary: { type: 'fs', path: repoDir } },
        encryption: { masterKey: `file:${keyFile}` },
        compression: { algorithm: 'zstd', level: 3 },
        ...(async ? { archive: { async: true, processes: 4, spoolPath: spool, timeoutSeconds: 60, ...(streaming ? { streaming: { enabled: true, partialSeconds: 2, spoolPath: mkdirPg(join(dir, 'stream')) } } : {}) } } : {}),
      }));
      giveToPostgres(cfg);
      await fsdrOk(['--config', cfg, 'init']);
      await chownR(dir);
      const nodePush = (p: string) => `FSDR_CONFIG=${cfg} ${process.execPath} ${FSDR_BIN} wal-push ${p}`;
      // async: the line `fsdr archive-command` prints (bin/fsdr-archive.sh confirms what the
      // background pusher stored, the full wal-push otherwise), as README tells users to set it.
      const fast = async ? (await archiveCommandFor(loadConfig(cfg))).command : undefined;
      return { dir, repoDir, cfg, nodePush, command: (p: string) => (fast ? fast.replace('%p', p) : nodePush(p)) };
    };

    /** A fresh pgBackRest repository (stanza created against the running cluster) under `label`. */
    const pgbrRepo = async (label: string, async: boolean, pgdata?: string) => {
      const dir = mkdirPg(join(work, label));
      const repoDir = mkdirPg(join(dir, 'repo'));
      const spool = mkdirPg(join(dir, 'spool'));
      let base = `${PGBACKREST} --config=${pgbrConf} --stanza=${STANZA} --repo1-path=${repoDir}`;
      await shOk(`${base} stanza-create`, work);
      // pgBackRest's async push reads archive_status under pg1-path, so a simulated archiver's
      // pg_wal lives in a look-alike data directory holding a copy of pg_control.
      if (pgdata) base += ` --pg1-path=${pgdata}`;
      const push = async ? `${base} --spool-path=${spool} --archive-async --process-max=4 archive-push` : `${base} archive-push`;
      return { dir, repoDir, command: (p: string) => `${push} ${p}` };
    };

    log(`pgbench -i -s 10 (${elapsed()})`);
    const pgbench = async (args: string[]) => {
      const p = execFileP(join(cluster.binDir, 'pgbench'), ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres', ...args, 'postgres'], { maxBuffer: 16 << 20 });
      live.add(p.child);
      try {
        return (await p).stdout;
      } finally {
        live.delete(p.child);
      }
    };
    await pgbench(['-i', '-s', '10', '-q']);
    const lsnNow = async () => (await cluster.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
    const lsnDiff = async (a: string, b: string) => Number((await cluster.query<{ d: string }>('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS d', [a, b])).rows[0]!.d);
    const walName = async (lsn: string) => (await cluster.query<{ f: string }>('SELECT pg_walfile_name($1::pg_lsn) AS f', [lsn])).rows[0]!.f;
    // The segments for the sync and async measurements are taken from the WAL the live phase writes.
    const startSeg = await walName(await lsnNow());

    // --- 1. live: 60 s of pgbench at full speed with each async tool as archive_command -------
    const setArchiveCommand = async (cmd: string) => {
      await cluster.query(`ALTER SYSTEM SET archive_command = '${cmd.replace(/'/g, "''")}'`);
      await cluster.query('SELECT pg_reload_conf()');
      await sleep(500);
    };
    const stats = async () => (await cluster.query<{ a: number; f: number }>('SELECT archived_count::int AS a, failed_count::int AS f FROM pg_stat_archiver')).rows[0]!;
    const lives: Record<string, unknown>[] = [];
    // fsdr+stream: the same async archive_command with streaming archiving beside it (`fsdr stream`:
    // pg_receivewal on a slot, the current partial uploaded every 2 s): what streaming costs the database.
    // none: archive_command = /bin/true, the database's own speed with archiving doing no work.
    // fsdr (node): the async wal-push as archive_command (a Node start per segment); fsdr: the
    // fast line, with the background pusher run beside it as the agent runs it.
    for (const tool of ['none', 'fsdr (node)', 'fsdr', 'fsdr+stream', 'pgbackrest'] as const) {
      check();
      log(`live: pgbench -c 4 -j 2 -T ${opt.loadSeconds} with ${tool} async as archive_command (${elapsed()})`);
      // Freshly initialised tables for every run, archived by /bin/true: pgbench's tables grow and
      // bloat run after run, so a later tool would see fewer tps for that alone.
      if (tool !== 'none') {
        await pgbench(['-i', '-s', '10', '-q']);
        await cluster.query('SELECT pg_switch_wal()');
        await sleep(1000);
      }
      const fr = tool === 'none' || tool === 'pgbackrest' ? undefined : await fsdrRepo(`live-${tool.replace(/\W+/g, '-')}`, true, tool === 'fsdr+stream');
      const repo = fr ?? (tool === 'pgbackrest' ? await pgbrRepo(`live-${tool}`, true) : { dir: mkdirPg(join(work, 'live-none')), command: () => '/bin/true' });
      await setArchiveCommand(tool === 'fsdr (node)' ? fr!.nodePush('%p') : repo.command('%p'));
      let pusher: ChildProcess | undefined;
      if (fr && tool !== 'fsdr (node)') {
        pusher = spawn(process.execPath, [FSDR_BIN, '--config', fr.cfg, 'archive-push-async', '--pg-wal', pgWal], { ...asPg, env: childEnv, stdio: 'ignore' });
        live.add(pusher);
      }
      let streamer: ChildProcess | undefined;
      if (tool === 'fsdr+stream') {
        streamer = spawn(process.execPath, [FSDR_BIN, '--config', fr!.cfg, 'stream'], { ...asPg, env: childEnv, stdio: 'ignore' });
        live.add(streamer);
        const until = Date.now() + 30_000;
        while (!countFiles(repo.dir, (n) => n.endsWith('.stream.partial')) && Date.now() < until) await sleep(200);
      }
      // Each run starts just after a checkpoint, so each sees the same burst of full-page images.
      await cluster.query('CHECKPOINT');
      const before = await stats();
      const lsn0 = await lsnNow();
      const samples: number[] = [];
      let loading = true;
      const sampler = (async () => {
        while (loading) {
          samples.push(readyCount(pgWal));
          await sleep(1000);
        }
      })();
      const ls = Date.now();
      let out: string;
      try {
        out = await pgbench(['-c', '4', '-j', '2', '-T', String(opt.loadSeconds), '-n']);
      } finally {
        loading = false;
        await sampler;
      }
      const loadSeconds = (Date.now() - ls) / 1000;
      const backlogAtEnd = readyCount(pgWal);
      const atEnd = await stats();
      const generated = (await lsnDiff(await lsnNow(), lsn0)) / SEG;
      const ds = Date.now();
      const drainDeadline = ds + 180_000;
      while (readyCount(pgWal) > 0 && Date.now() < drainDeadline) {
        check();
        await sleep(100);
      }
      const drainSeconds = (Date.now() - ds) / 1000;
      const after = await stats();
      const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
      lives.push({
        tool, loadSeconds, tps, walSegmentsGenerated: generated,
        archivedDuringLoad: atEnd.a - before.a, backlogAtEnd, backlogPeak: Math.max(0, ...samples), backlogSamples: samples,
        drainSeconds, drained: readyCount(pgWal) === 0, archivedTotal: after.a - before.a, failed: after.f - before.f,
      });
      log(`  ${tool}: backlog ${backlogAtEnd} at the end (peak ${Math.max(0, ...samples)}), drained in ${drainSeconds.toFixed(1)} s, ${after.f - before.f} failures`);
      if (pusher) {
        const p = pusher;
        await new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once('exit', () => r()), p.kill('SIGTERM'))));
        live.delete(p);
      }
      if (streamer) {
        const s = streamer;
        await new Promise<void>((r) => (s.exitCode !== null ? r() : (s.once('exit', () => r()), s.kill('SIGTERM'))));
        live.delete(s);
        // The slot would hold WAL for the rest of the run.
        await cluster.query("SELECT pg_drop_replication_slot('fsdr') FROM pg_replication_slots WHERE slot_name = 'fsdr'");
      }
      await setArchiveCommand('/bin/true');
      await reap(repo.dir, 15_000);
    }

    // --- real 16 MB WAL segments written by pgbench (in the live phase; topped up if short) ----
    const complete = async () => {
      const cur = await walName(await lsnNow());
      return readdirSync(pgWal).filter((n) => /^[0-9A-F]{24}$/.test(n) && n > startSeg && n < cur).sort();
    };
    for (let i = 0; i < 120 && (await complete()).length < opt.segments + 1; i++) {
      check();
      if (i === 0) log(`pgbench until ${opt.segments + 1} segments of WAL are written (${elapsed()})`);
      await cluster.query('CHECKPOINT'); // full-page images: realistic busy-cluster WAL, written fast
      await pgbench(['-c', '4', '-j', '2', '-T', '2', '-n']);
    }
    // The newest complete segments (older ones may be recycled), not the one being written.
    const names = (await complete()).slice(-(opt.segments + 1));
    if (names.length < opt.segments + 1) throw new Error(`only ${names.length} WAL segments after ${startSeg} (wanted ${opt.segments + 1})`);
    const segDir = mkdirPg(join(work, 'segments'));
    for (const n of names) {
      copyFileSync(join(pgWal, n), join(segDir, n));
      chmodSync(join(segDir, n), 0o600);
      giveToPostgres(join(segDir, n));
    }
    const [warm, ...segs] = names;
    log(`segments ${segs[0]} .. ${segs[segs.length - 1]} (+ ${warm} to warm up) copied out (${elapsed()})`);

    // --- start-up costs -----------------------------------------------------------------------
    const startup: Record<string, number[]> = { node: [], fsdr: [], pgbackrest: [] };
    const fsdrSync = await fsdrRepo('fsdr-sync', false);
    for (let i = 0; i < 6; i++) {
      startup.node!.push((await shOk(`${process.execPath} -e 0`, work)).ms);
      // wal-push of a file that does not exist: node + config load + wal-push's imports, no work.
      startup.fsdr!.push((await sh(`FSDR_CONFIG=${fsdrSync.cfg} ${process.execPath} ${FSDR_BIN} wal-push ${join(work, 'no-such-segment')}`, work)).ms);
      startup.pgbackrest!.push((await shOk(`${PGBACKREST} version`, work)).ms);
    }

    // --- 2. sync: one process per segment, interleaved ----------------------------------------
    log(`sync: ${segs.length} segments through fsdr wal-push, pgbackrest archive-push and fsdr in-process, interleaved (${elapsed()})`);
    const pgbrSync = await pgbrRepo('pgbr-sync', false);
    const inproc = await fsdrRepo('fsdr-inproc', false);
    const repoIn = await Repository.open(loadConfig(inproc.cfg));
    const syncMs: Record<'fsdr' | 'pgbackrest' | 'inproc', number[]> = { fsdr: [], pgbackrest: [], inproc: [] };
    const pushOne = async (tool: 'fsdr' | 'pgbackrest' | 'inproc', path: string): Promise<number> => {
      if (tool === 'inproc') {
        const s = process.hrtime.bigint();
        await pushWalFile(repoIn, path);
        return Number(process.hrtime.bigint() - s) / 1e6;
      }
      const cmd = tool === 'fsdr' ? fsdrSync.command(path) : pgbrSync.command(path);
      return (await shOk(cmd, cluster.pgdata)).ms;
    };
    try {
      const tools = ['fsdr', 'pgbackrest', 'inproc'] as const;
      for (const t of tools) await pushOne(t, join(segDir, warm!));
      for (let i = 0; i < segs.length; i++) {
        check();
        const order = [...tools.slice(i % 3), ...tools.slice(0, i % 3)];
        for (const t of order) syncMs[t].push(await pushOne(t, join(segDir, segs[i]!)));
      }
    } finally {
      await repoIn.close();
    }
    const fsdrInfo = JSON.parse(await fsdrOk(['--config', fsdrSync.cfg, 'info', '--json'])) as { wal: { timelines: { segments: number; gaps: unknown[] }[] } };
    const syncCheck = {
      fsdrSegments: fsdrInfo.wal.timelines[0]?.segments ?? 0,
      fsdrGaps: fsdrInfo.wal.timelines[0]?.gaps.length ?? 0,
      pgbackrestSegments: countFiles(join(pgbrSync.repoDir, 'archive'), (n) => /^[0-9A-F]{24}-[0-9a-f]{40}/.test(n)),
      fsdrRepoBytes: dirBytes(join(fsdrSync.repoDir, 'wal')),
      pgbackrestRepoBytes: dirBytes(join(pgbrSync.repoDir, 'archive')),
      walBytes: names.length * SEG,
    };
    if (syncCheck.fsdrSegments !== names.length || syncCheck.pgbackrestSegments !== names.length) {
      throw new Error(`sync phase: expected ${names.length} segments in each repository, got fsdr ${syncCheck.fsdrSegments}, pgbackrest ${syncCheck.pgbackrestSegments}`);
    }

    // --- 3. async: drain a backlog of N .ready segments (simulated archiver), ABBA rounds -----
    const order: ('fsdr' | 'pgbackrest')[] = [];
    for (let r = 0; r < opt.rounds; r++) order.push(...(r % 2 === 0 ? (['fsdr', 'pgbackrest'] as const) : (['pgbackrest', 'fsdr'] as const)));
    log(`async: backlog of ${segs.length} ready segments, rounds ${order.join(', ')} (${elapsed()})`);
    const drains: { tool: string; round: number; seconds: number; perSegmentMs: number[]; lingeringPushers: number }[] = [];
    for (let k = 0; k < order.length; k++) {
      check();
      const tool = order[k]!;
      const label = `async-${k}-${tool}`;
      // A data directory look-alike: global/pg_control, pg_wal/<segments> (hard links) and
      // pg_wal/archive_status/<name>.ready, as PostgreSQL leaves them when archiving falls behind.
      const fakePgdata = join(work, `${label}-pgdata`);
      mkdirPg(fakePgdata);
      mkdirPg(join(fakePgdata, 'global'));
      chmodSync(fakePgdata, 0o700);
      copyFileSync(join(cluster.pgdata, 'global', 'pg_control'), join(fakePgdata, 'global', 'pg_control'));
      giveToPostgres(join(fakePgdata, 'global', 'pg_control'));
      const repo = tool === 'fsdr' ? await fsdrRepo(label, true) : await pgbrRepo(label, true, fakePgdata);
      const walDir = mkdirPg(join(fakePgdata, 'pg_wal'));
      const status = mkdirPg(join(walDir, 'archive_status'));
      for (const n of segs) {
        linkSync(join(segDir, n!), join(walDir, n!));
        writeFileSync(join(status, `${n}.ready`), '');
        giveToPostgres(join(status, `${n}.ready`));
      }
      const per: number[] = [];
      const s = process.hrtime.bigint();
      let failures = 0;
      // PostgreSQL's archiver: oldest .ready first, run archive_command, mark .done on success.
      for (let i = 0; i < segs.length * 4; i++) {
        check();
        const ready = readdirSync(status).filter((n) => n.endsWith('.ready')).sort();
        if (ready.length === 0) break;
        const name = ready[0]!.slice(0, -'.ready'.length);
        const r = await sh(repo.command(`pg_wal/${name}`), fakePgdata);
        if (r.code !== 0) {
          if (++failures > 3) throw new Error(`${tool} async push of ${name} failed ${failures} times: ${r.out.trim().slice(0, 2000)}`);
          log(`${tool} async push of ${name} failed (retrying): ${r.out.trim().slice(0, 300)}`);
          continue;
        }
        per.push(r.ms);
        renameSync(join(status, `${name}.ready`), join(status, `${name}.done`));
      }
      const seconds = Number(process.hrtime.bigint() - s) / 1e9;
      if (readyCount(walDir) > 0) throw new Error(`${tool} async: ${readyCount(walDir)} segments still .ready`);
      // Background pushers idle out on their own (fsdr after 3 s); wait so rounds do not overlap.
      const lingering = Math.max(await reap(repo.dir, 15_000), await reap(fakePgdata, 1000));
      drains.push({ tool, round: k, seconds, perSegmentMs: per, lingeringPushers: lingering });
      log(`  ${tool}: ${segs.length} segments in ${seconds.toFixed(2)} s (${elapsed()})`);
    }

    // --- the report ---------------------------------------------------------------------------
    const rows: (string | number)[][] = [];
    const row = (tool: string, mode: string, n: number, seconds: number, peerMsPerSeg?: number) => {
      const ms = (seconds * 1000) / n;
      rows.push([tool, mode, n, f2(seconds), f1(n / seconds), f1(ms), peerMsPerSeg === undefined ? '' : f2(ms / peerMsPerSeg)]);
      return ms;
    };
    const pgbrSyncMs = (sum(syncMs.pgbackrest) / syncMs.pgbackrest.length);
    row('fsdr', 'sync wal-push (1 process/segment)', syncMs.fsdr.length, sum(syncMs.fsdr) / 1000, pgbrSyncMs);
    row('pgbackrest', 'sync archive-push (1 process/segment)', syncMs.pgbackrest.length, sum(syncMs.pgbackrest) / 1000);
    row('fsdr', 'sync, in-process (no start-up)', syncMs.inproc.length, sum(syncMs.inproc) / 1000, pgbrSyncMs);
    const drainOf = (tool: string) => drains.filter((d) => d.tool === tool);
    const dSec = (tool: string) => sum(drainOf(tool).map((d) => d.seconds));
    const dN = (tool: string) => drainOf(tool).length * segs.length;
    const pgbrAsyncMs = (dSec('pgbackrest') * 1000) / dN('pgbackrest');
    row('fsdr', `async, drain ${segs.length} .ready x${opt.rounds} (processes=4)`, dN('fsdr'), dSec('fsdr'), pgbrAsyncMs);
    row('pgbackrest', `async, drain ${segs.length} .ready x${opt.rounds} (process-max=4)`, dN('pgbackrest'), dSec('pgbackrest'));

    const liveRows = lives.map((l) => [
      l.tool as string, f1(l.loadSeconds as number), f1(l.tps as number), f1(l.walSegmentsGenerated as number), l.archivedDuringLoad as number,
      l.backlogAtEnd as number, l.backlogPeak as number, f1(l.drainSeconds as number), l.failed as number,
    ]);
    const sMed = (xs: number[]) => f1(median(xs));
    const startupRows = [
      ['node -e 0', sMed(startup.node!), f1(pct(startup.node!, 90))],
      ['fsdr wal-push (missing file: start-up + config + imports)', sMed(startup.fsdr!), f1(pct(startup.fsdr!, 90))],
      ['pgbackrest version', sMed(startup.pgbackrest!), f1(pct(startup.pgbackrest!, 90))],
      ['fsdr wal-push, per segment (sync)', sMed(syncMs.fsdr), f1(pct(syncMs.fsdr, 90))],
      ['pgbackrest archive-push, per segment (sync)', sMed(syncMs.pgbackrest), f1(pct(syncMs.pgbackrest, 90))],
      ['fsdr push in-process, per segment', sMed(syncMs.inproc), f1(pct(syncMs.inproc, 90))],
      // What PostgreSQL's archiver waits for per segment in async mode: for fsdr the fast line
      // (a shell confirm when the pusher stored the segment ahead, the full wal-push otherwise).
      ['fsdr archive_command (fsdr-archive.sh), per segment (async drain)', sMed(drainOf('fsdr').flatMap((d) => d.perSegmentMs)), f1(pct(drainOf('fsdr').flatMap((d) => d.perSegmentMs), 90))],
      ['pgbackrest archive-push --archive-async, per segment (async drain)', sMed(drainOf('pgbackrest').flatMap((d) => d.perSegmentMs)), f1(pct(drainOf('pgbackrest').flatMap((d) => d.perSegmentMs), 90))],
    ];
    const tpsOf = (tool: string) => lives.find((l) => l.tool === tool)?.tps as number;
    const mib = (b: number) => (b / 1048576).toFixed(1);
    const notes = [
      `WAL: ${names.length} segments of pgbench (${mib(syncCheck.walBytes)} MiB) -> fsdr repo ${mib(syncCheck.fsdrRepoBytes)} MiB, pgbackrest repo ${mib(syncCheck.pgbackrestRepoBytes)} MiB (zstd 3 + encryption both)`,
      `pgBackRest: ${pgbrVersion}; node ${process.version}; ${(await import('node:os')).cpus().length} CPUs; total ${elapsed()}`,
      `Sustained archive rate (async drain): fsdr ${f1((dN('fsdr') * 16) / dSec('fsdr'))} MB/s of WAL, pgbackrest ${f1((dN('pgbackrest') * 16) / dSec('pgbackrest'))} MB/s; ` +
        `live pgbench wrote ${lives.map((l) => `${f1(((l.walSegmentsGenerated as number) * 16) / (l.loadSeconds as number))} MB/s (${l.tool})`).join(', ')}.`,
      `TPS under pgbench at full speed: no archiving (/bin/true) ${f1(tpsOf('none'))}; fsdr ${f1(tpsOf('fsdr'))} (${f1((100 * tpsOf('fsdr')) / tpsOf('none'))} %), with streaming ${f1(tpsOf('fsdr+stream'))}, the Node wal-push line ${f1(tpsOf('fsdr (node)'))}; pgBackRest ${f1(tpsOf('pgbackrest'))} (${f1((100 * tpsOf('pgbackrest')) / tpsOf('none'))} %).`,
      'ratio = fsdr ms/segment / pgbackrest ms/segment in the same mode (> 1: fsdr slower). ' +
        'backlog = .ready files in pg_wal/archive_status (the segment being archived at that instant counts), sampled every second.',
    ];
    return {
      tables: [
        { title: 'WAL push throughput (same segments, interleaved)', columns: ['tool', 'mode', 'segments', 'seconds', 'segments/s', 'ms/segment', 'ratio fsdr/pgbackrest'], rows },
        { title: `Live: pgbench -c 4 -j 2 at full speed, async archive_command`, columns: ['tool', 'load s', 'tps', 'WAL segs', 'archived in load', 'backlog at end', 'backlog peak', 'drain s', 'failed'], rows: liveRows },
        { title: 'Start-up and per-segment latency (ms)', columns: ['what', 'median', 'p90'], rows: startupRows },
      ],
      notes,
      options: opt,
      environment: { node: process.version, pgbackrest: pgbrVersion, cpus: (await import('node:os')).cpus().length },
      segments: { count: names.length, first: names[0], last: names[names.length - 1], warmUp: warm },
      sync: { perSegmentMs: syncMs, check: syncCheck },
      startupMs: startup,
      asyncDrain: drains,
      live: lives,
    };
  } catch (err) {
    throw interrupted ? new Error('interrupted; cleaned up') : err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const c of live) c.kill('SIGKILL');
    await pg?.stop().catch((err: unknown) => log(`stopping PostgreSQL: ${String(err)}`));
    const left = await reap(work, 2000);
    if (left > 0) log(`ended ${left} leftover process(es) of this run`);
    if (opt.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
