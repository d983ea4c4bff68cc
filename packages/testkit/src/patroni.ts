// startPatroni(): one Patroni node (Debian's patroni 3.0) from a patroni.yml the caller wrote (fsdr
// writes it with `fsdr ha config`), run as the unprivileged `postgres` user. Patroni starts and
// supervises PostgreSQL itself; the handle can crash either of them (`killPostmaster()`: kill -9
// of the postmaster, Patroni lives on; `kill()`: the whole node at once) and start the node again.
import { type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { HarnessError } from './errors.js';
import { isRunning, osUser, runOnce, spawnTracked, startOrTearDown, terminate } from './processes.js';
import { sleep, waitUntil } from './wait.js';

export interface StartPatroniOptions {
  /** The node's patroni.yml (readable by the OS user). */
  configFile: string;
  /** http://host:restApiPort of this node. */
  restUrl: string;
  /** Its data directory, for the postmaster's pid. */
  pgdata: string;
  logFile: string;
  osUser?: string;
  /** How long to wait for the REST API to answer (not for PostgreSQL to be up). */
  startTimeoutMs?: number;
}

export interface PatroniHandle {
  readonly restUrl: string;
  readonly pgdata: string;
  readonly logFile: string;
  /** GET /patroni (throws when the API does not answer). */
  state(): Promise<Record<string, any>>;
  /** The HTTP status of GET path (e.g. /primary: 200 on the leader, 503 elsewhere), or 0 when down. */
  check(path: string): Promise<number>;
  /** The postmaster's pid from postmaster.pid, when it is running. */
  postmasterPid(): number | undefined;
  /** kill -9 of the postmaster only; Patroni notices in its next loop. */
  killPostmaster(): Promise<number>;
  /** kill -9 of Patroni and its postmaster together: the node is lost. */
  kill(): Promise<void>;
  /** Starts Patroni again (after kill()), on the same data directory. */
  start(): Promise<void>;
  isRunning(): boolean;
  /** Clean stop (SIGTERM: Patroni shuts PostgreSQL down), then the postmaster if it lingers. */
  stop(): Promise<void>;
}

function patroniBinary(): string {
  for (const p of ['/usr/bin/patroni', '/usr/local/bin/patroni']) if (existsSync(p)) return p;
  throw new HarnessError('HARNESS_PATRONI_MISSING', 'patroni is not installed: the failover tests run real Patroni nodes', 'run scripts/setup-tests.sh (installs patroni)');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const orphans = new Set<() => number | undefined>();
let hooked = false;

export async function startPatroni(opts: StartPatroniOptions): Promise<PatroniHandle> {
  const bin = patroniBinary();
  const as = process.getuid?.() === 0 ? await osUser(opts.osUser ?? 'postgres') : {};
  let child: ChildProcess | undefined;

  const postmasterPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(`${opts.pgdata}/postmaster.pid`, 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  // PostgreSQL is Patroni's child, not ours: at exit, kill what a crashed test left running.
  orphans.add(postmasterPid);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const f of orphans) {
        const pid = f();
        if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
    });
  }

  const check = async (path: string): Promise<number> => {
    try {
      const r = await fetch(opts.restUrl + path, { signal: AbortSignal.timeout(1500) });
      await r.arrayBuffer();
      return r.status;
    } catch {
      return 0;
    }
  };
  const state = async (): Promise<Record<string, any>> => {
    const r = await fetch(opts.restUrl + '/patroni', { signal: AbortSignal.timeout(1500) });
    return (await r.json()) as Record<string, any>;
  };
  const start = async (): Promise<void> => {
    if (isRunning(child)) return;
    const fd = openSync(opts.logFile, 'a');
    try {
      child = spawnTracked(bin, [opts.configFile], { ...as, stdio: ['ignore', fd, fd], cwd: '/', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    } finally {
      closeSync(fd);
    }
    const current = child;
    await waitUntil(async () => {
      if (!isRunning(current)) throw new HarnessError('HARNESS_PATRONI_EXITED', `patroni exited during start: ${readFileSync(opts.logFile, 'utf8').slice(-2000)}`);
      return (await check('/patroni')) === 200 ? true : undefined;
    }, opts.startTimeoutMs ?? 30_000, `patroni REST API at ${opts.restUrl}`);
  };
  const killPm = async (): Promise<number> => {
    const pid = postmasterPid();
    if (!pid) throw new HarnessError('HARNESS_PATRONI_NO_POSTMASTER', `no running postmaster for ${opts.pgdata}`);
    process.kill(pid, 'SIGKILL');
    while (pidAlive(pid)) await sleep(20);
    return pid;
  };
  const handle: PatroniHandle = {
    restUrl: opts.restUrl, pgdata: opts.pgdata, logFile: opts.logFile, state, check, postmasterPid,
    killPostmaster: killPm,
    kill: async () => {
      const pid = postmasterPid();
      await terminate(child, 'SIGKILL', 5000);
      if (pid && pidAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        while (pidAlive(pid)) await sleep(20);
      }
    },
    start,
    isRunning: () => isRunning(child),
    stop: runOnce(async () => {
      await terminate(child, 'SIGTERM', 30_000);
      const pid = postmasterPid();
      if (pid) {
        process.kill(pid, 'SIGQUIT');
        for (let i = 0; i < 100 && pidAlive(pid); i++) await sleep(50);
        if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      orphans.delete(postmasterPid);
    }),
  };
  return startOrTearDown(handle, start);
}
