// Shared machinery of the scale benchmarks (backup/restore and dump): a pgbench-initialised
// PostgreSQL 15 cluster, processes run as the postgres OS user and timed from spawn to exit with
// the peak resident memory of their whole process tree sampled from /proc, and clean-up of every
// process and temp dir a run started.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startPostgres, sleep, type PostgresHandle } from '@featuresignals/testkit';
import { giveToPostgres } from '../test/helpers/fsdr.js';

export const execFileP = promisify(execFile);
export const PGBACKREST = '/usr/bin/pgbackrest';

export interface BenchContext {
  args: string[];
  /** bench/results (the runner passes it) */
  resultsDir?: string;
  log(msg: string): void;
}

// ---------------------------------------------------------------------------------------------
// Options shared by the benchmarks: --scale N, --rounds R, --processes N, --level N, --keep.

export interface ScaleOptions {
  scale: number;
  rounds: number;
  processes: number;
  level: number;
  keep: boolean;
  /** benchmark-specific flags (e.g. --dump, --no-replicate) */
  flags: Set<string>;
}

/** Takes `name N` out of args (benchmark-specific numeric options beside the shared ones). */
export function takeNumber(args: string[], name: string, fallback: number, min: number, max: number): [number, string[]] {
  const i = args.indexOf(name);
  if (i < 0) return [fallback, args];
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}: expected an integer ${min}..${max}`);
  return [v, [...args.slice(0, i), ...args.slice(i + 2)]];
}

export function parseScaleOptions(args: string[], defaults: Partial<ScaleOptions>, flags: string[] = []): ScaleOptions {
  const o: ScaleOptions = { scale: 70, rounds: 2, processes: 2, level: 1, keep: false, flags: new Set(), ...defaults };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = (min: number, max: number): number => {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${a}: expected an integer ${min}..${max}`);
      return v;
    };
    if (a === '--scale') o.scale = num(1, 10000);
    else if (a === '--rounds') o.rounds = num(1, 10);
    else if (a === '--processes') o.processes = num(1, 32);
    else if (a === '--level') o.level = num(1, 19);
    else if (a === '--keep') o.keep = true;
    else if (flags.includes(a)) o.flags.add(a);
    else throw new Error(`unknown option ${a} (options: --scale N, --rounds R, --processes N, --level N, --keep${flags.map((f) => ', ' + f).join('')})`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Processes. Every command runs through /bin/sh -c (as the postgres OS user by default), is
// tracked until it exits, and is sampled every `sampleMs` for the resident memory of its tree.

export interface Measured {
  code: number;
  seconds: number;
  /** stdout and stderr interleaved (first MiB) */
  out: string;
  stdout: string;
  /** highest sum of VmRSS over the process tree seen in a sample (bytes) */
  peakTreeRss: number;
  /** highest VmHWM of any single process of the tree (bytes) */
  peakProcessHwm: number;
  /** most processes seen in the tree at once */
  peakProcesses: number;
  /** user + system CPU seconds of the tree (each process's last sample: a lower bound) */
  cpuSeconds: number;
  samples: number;
}

const live = new Set<ChildProcess>();
let asPg: { uid?: number; gid?: number } = {};
let childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };

export async function initProcesses(home: string, extraEnv: Record<string, string> = {}): Promise<void> {
  if (process.getuid?.() === 0) {
    const id = async (flag: string) => Number((await execFileP('id', [flag, 'postgres'])).stdout.trim());
    asPg = { uid: await id('-u'), gid: await id('-g') };
  }
  childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: home, ...extraEnv };
}

export function killLive(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** ppid of every process, read from /proc/<pid>/stat. */
function processTable(): Map<number, number> {
  const t = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces and parentheses.
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t.set(pid, Number(rest[1]));
    } catch {
      /* gone */
    }
  }
  return t;
}

function treeOf(root: number): number[] {
  const t = processTable();
  const kids = new Map<number, number[]>();
  for (const [pid, ppid] of t) {
    const k = kids.get(ppid) ?? [];
    k.push(pid);
    kids.set(ppid, k);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    if (!t.has(p)) continue;
    out.push(p);
    stack.push(...(kids.get(p) ?? []));
  }
  return out;
}

const CLK_TCK = 100;

/** user + system CPU seconds of one process (utime + stime from /proc/<pid>/stat). */
function cpuOf(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function memOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface RunOptions {
  cwd?: string;
  asRoot?: boolean;
  env?: Record<string, string>;
  timeoutMs?: number;
  sampleMs?: number;
}

export function measure(cmd: string, o: RunOptions = {}): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/bin/sh', ['-c', cmd], {
      ...(o.asRoot ? {} : asPg), cwd: o.cwd ?? '/tmp', env: { ...childEnv, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let out = '';
    let stdout = '';
    const collect = (d: Buffer) => {
      if (out.length < 1 << 20) out += d.toString();
    };
    child.stdout!.on('data', (d: Buffer) => {
      collect(d);
      if (stdout.length < 1 << 22) stdout += d.toString();
    });
    child.stderr!.on('data', collect);
    let peakTreeRss = 0;
    let peakProcessHwm = 0;
    let peakProcesses = 0;
    let samples = 0;
    const cpu = new Map<number, number>();
    const sample = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      let rss = 0;
      const pids = treeOf(child.pid);
      for (const pid of pids) {
        const m = memOf(pid);
        if (!m) continue;
        rss += m.rss;
        peakProcessHwm = Math.max(peakProcessHwm, m.hwm);
        const c = cpuOf(pid);
        if (c !== undefined) cpu.set(pid, c);
      }
      peakTreeRss = Math.max(peakTreeRss, rss);
      peakProcesses = Math.max(peakProcesses, pids.length);
      samples++;
    };
    const sampler = setInterval(sample, o.sampleMs ?? 50);
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 1_800_000);
    child.on('error', (err) => {
      clearInterval(sampler);
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    // Timed to 'exit'; resolved at 'close', once stdout is read to its end.
    let seconds = 0;
    child.on('exit', () => {
      seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(sampler);
    });
    child.on('close', (code, signal) => {
      if (!seconds) seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(sampler);
      clearTimeout(timer);
      live.delete(child);
      const cpuSeconds = [...cpu.values()].reduce((a, b) => a + b, 0);
      resolve({ code: code ?? (signal ? 128 : -1), seconds, out, stdout, peakTreeRss, peakProcessHwm, peakProcesses, cpuSeconds, samples });
    });
  });
}

export async function measureOk(cmd: string, o: RunOptions = {}): Promise<Measured> {
  const r = await measure(cmd, o);
  if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.out.trim().slice(-3000)}`);
  return r;
}

/** Pids of processes (other than this one) whose command line contains `marker`. */
export function pidsWith(marker: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) pids.push(pid);
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Wait up to `ms` for processes naming `marker` to exit, then end them by pid. */
export async function reap(marker: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pidsWith(marker).length > 0) await sleep(100);
  const left = pidsWith(marker);
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pidsWith(marker)) {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 30 && pidsWith(marker).length > 0; i++) await sleep(100);
  }
  return left.length;
}

// ---------------------------------------------------------------------------------------------
// Files.

export function mkdirPg(path: string, mode = 0o755): string {
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
  giveToPostgres(path);
  return path;
}

export const chownR = async (path: string): Promise<void> => {
  if (asPg.uid === undefined) return;
  await execFileP('chown', ['-R', `${asPg.uid}:${asPg.gid}`, path]);
};

export function dirBytes(dir: string, skip: (rel: string) => boolean = () => false, rel = ''): number {
  let total = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (skip(r)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p, skip, r);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

export function countFiles(dir: string): number {
  let n = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countFiles(join(dir, e.name));
    else if (e.isFile()) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Numbers.

export const MB = 1e6;
export const MiB = 1048576;
export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
export const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '');
export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '');
export const mib = (b: number) => f0(b / MiB);

// ---------------------------------------------------------------------------------------------
// The cluster: PostgreSQL 15, archive_mode on (archive_command /bin/true until a benchmark sets
// its own), initialised once with pgbench -i -s <scale>.

export interface ScaleCluster {
  pg: PostgresHandle;
  scale: number;
  initSeconds: number;
  /** bytes of the data directory without pg_wal: the common denominator of MB/s */
  dataBytes: number;
  setArchiveCommand(cmd: string): Promise<void>;
  psql(sql: string, port?: number): Promise<string>;
}

export async function startScaleCluster(scale: number, log: (m: string) => void): Promise<ScaleCluster> {
  const pg = await startPostgres({
    settings: {
      wal_level: 'replica', archive_mode: 'on', archive_command: '/bin/true', max_wal_size: '4GB',
      max_wal_senders: 4, shared_buffers: '256MB', maintenance_work_mem: '256MB',
    },
  });
  try {
    log(`pgbench -i -s ${scale} on port ${pg.port} (${pg.pgdata})`);
    const t = Date.now();
    await execFileP(join(pg.binDir, 'pgbench'), ['-i', '-s', String(scale), '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', 'postgres'], { maxBuffer: 64 << 20 });
    await pg.query('CHECKPOINT');
    const initSeconds = (Date.now() - t) / 1000;
    const dataBytes = dirBytes(pg.pgdata, (r) => r === 'pg_wal');
    log(`  initialised in ${initSeconds.toFixed(0)} s: ${mib(dataBytes)} MiB of data (without pg_wal)`);
    return {
      pg, scale, initSeconds, dataBytes,
      async setArchiveCommand(cmd: string) {
        await pg.query(`ALTER SYSTEM SET archive_command = '${cmd.replace(/'/g, "''")}'`);
        await pg.query('SELECT pg_reload_conf()');
        await sleep(300);
      },
      async psql(sql: string, port = pg.port) {
        return (await measureOk(`${join(pg.binDir, 'psql')} -X -At -h 127.0.0.1 -p ${port} -U postgres -d postgres -c "${sql.replace(/"/g, '\\"')}"`)).out.trim();
      },
    };
  } catch (err) {
    await pg.stop().catch(() => undefined);
    throw err;
  }
}

/** Interleaved orders: ABC, CBA, BCA, ACB, ... (rotated every second round, odd rounds reversed). */
export function orderFor<T>(tools: readonly T[], round: number): T[] {
  const k = Math.floor(round / 2) % tools.length;
  const rot = [...tools.slice(k), ...tools.slice(0, k)];
  return round % 2 === 1 ? rot.reverse() : rot;
}

// ---------------------------------------------------------------------------------------------
// CPU profiles (--profile): node --cpu-prof writes a .cpuprofile per fsdr process; the summary is
// self time per function, the heaviest first.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function summariseProfile(path: string, top = 12): { totalMs: number; functions: { fn: string; selfMs: number; pct: number }[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byNode = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) byNode.set(p.samples[i]!, (byNode.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const us = byNode.get(n.id) ?? 0;
    total += us;
    const file = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/[^/]+|packages\/dr\/dist)\//, '$1/');
    const fn = `${n.callFrame.functionName || '(anonymous)'}${file ? ` ${file}:${n.callFrame.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  }
  const functions = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, selfMs: us / 1000, pct: (100 * us) / total }));
  return { totalMs: total / 1000, functions };
}

/** The commit and the number of uncommitted changes under packages/dr/src: which fsdr was measured. */
export async function gitState(): Promise<{ head: string; dirtySrcFiles: number }> {
  const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', '..', '..');
  try {
    const head = (await execFileP('git', ['-C', root, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
    const dirty = (await execFileP('git', ['-C', root, 'status', '--porcelain', '--', 'packages/dr/src'])).stdout.split('\n').filter(Boolean).length;
    return { head, dirtySrcFiles: dirty };
  } catch {
    return { head: 'unknown', dirtySrcFiles: -1 };
  }
}

/** One benchmark run's work directory, signal handling and teardown (shared by backup and dump). */
export interface BenchRun {
  work: string;
  /** Throws once SIGINT/SIGTERM arrived, so a long run stops at its next step. */
  check(): void;
  interrupted(): boolean;
  /** Stop everything this run started and remove (or keep) its work directory. */
  close(cluster?: ScaleCluster): Promise<void>;
}

export async function openBenchRun(prefix: string, log: (m: string) => void, keep: boolean): Promise<BenchRun> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  mkdirPg(work);
  await initProcesses(work);
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    killLive();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    work,
    check: () => {
      if (interrupted) throw new Error('interrupted');
    },
    interrupted: () => interrupted,
    close: async (cluster) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      killLive();
      await cluster?.pg.stop().catch((err: unknown) => log(`stopping PostgreSQL: ${String(err)}`));
      const left = await reap(work, 3000);
      if (left > 0) log(`ended ${left} leftover process(es) of this run`);
      if (keep) {
        await chownR(work).catch(() => undefined);
        log(`kept ${work}`);
      } else rmSync(work, { recursive: true, force: true });
    },
  };
}
