// A standby region's FeatureSignals server kept running, read-only and warm, against the hot
// standby: started once by `fsdr standby start --stack`, found again by the failover (which then
// only waits for /ready instead of starting a server and warming its cache). Its pid and URL are
// kept in a small state file beside the data directory; a pid that is gone, or that now runs
// another program, is never adopted (nor signalled).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { probe } from './readiness.js';
import { logTail, StackNotReadyError, type StartedServer } from './start-server.js';

export interface WarmServerState {
  pid: number;
  /** the process's start time (/proc/<pid>/stat, clock ticks since boot): a reused pid differs */
  procStart?: string;
  port: number;
  url: string;
  logFile: string;
  startedAt: string;
}

export const warmServerFile = (pgdata: string): string => `${pgdata}.fsdr-stack.json`;

/** When the process of `pid` started (Linux /proc); undefined where there is no /proc. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) in parentheses; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function saveWarmServer(pgdata: string, s: WarmServerState): void {
  writeFileSync(warmServerFile(pgdata), JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

export function readWarmServer(pgdata: string): WarmServerState | undefined {
  const f = warmServerFile(pgdata);
  if (!existsSync(f)) return undefined;
  try {
    const s = JSON.parse(readFileSync(f, 'utf8')) as WarmServerState;
    if (!(Number.isInteger(s.pid) && s.pid > 0 && alive(s.pid))) return undefined;
    return s.procStart === undefined || processStart(s.pid) === s.procStart ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The running server of the state file as a StartedServer (exit seen by polling its pid). */
export function adoptWarmServer(s: WarmServerState): StartedServer {
  return {
    pid: s.pid,
    port: s.port,
    logFile: s.logFile,
    command: ['(running since ' + s.startedAt + ')'],
    exited: () => (alive(s.pid) ? undefined : { code: null, signal: 'gone' }),
    async stop() {
      const kill = (sig: NodeJS.Signals) => { try { process.kill(-s.pid, sig); } catch { /* gone */ } };
      kill('SIGTERM');
      for (let i = 0; i < 100 && alive(s.pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (alive(s.pid)) kill('SIGKILL');
    },
  };
}

export async function stopWarmServer(pgdata: string): Promise<boolean> {
  const s = readWarmServer(pgdata);
  rmSync(warmServerFile(pgdata), { force: true });
  if (!s) return false;
  await adoptWarmServer(s).stop();
  return true;
}

type Probe = NonNullable<Awaited<ReturnType<typeof probe>>>;

/** Warm: the readiness body says its cache is loaded (checks.warm), or readiness is 200. */
export function isWarm(p: Probe | undefined): boolean {
  if (!p) return false;
  if (p.status === 200) return true;
  const warm = (p.body as { checks?: { warm?: { status?: string } } } | undefined)?.checks?.warm;
  return warm?.status === 'ok';
}

/** Waits for health 200, then for a warm cache; a server that exits ends the wait with its log. */
export async function waitWarm(server: StartedServer, baseUrl: string, paths: { health: string; ready: string }, timeoutMs: number): Promise<Probe> {
  const deadline = Date.now() + timeoutMs;
  let healthy = false;
  let last: Probe | undefined;
  for (;;) {
    const ex = server.exited();
    if (ex) {
      const tail = logTail(server.logFile);
      throw new StackNotReadyError('FSDR_STACK_EXITED', `the standby's FeatureSignals server ${ex.signal ? `was ended (${ex.signal})` : `exited with code ${ex.code}`} before it was warm${tail ? `; its log ends: ${tail}` : ''}`, { hint: `check stack.start and the server log ${server.logFile}` });
    }
    if (!healthy) healthy = (await probe(baseUrl + paths.health))?.status === 200;
    if (healthy) {
      last = await probe(baseUrl + paths.ready);
      if (isWarm(last)) return last!;
    }
    if (Date.now() > deadline) {
      throw new StackNotReadyError('FSDR_STACK_NOT_WARM', `the standby's FeatureSignals server was not warm within ${Math.round(timeoutMs / 1000)} s (${healthy ? `${paths.ready} last answered ${last?.status ?? 'nothing'}` : `${paths.health} never answered 200`})`, { hint: `check the server log ${server.logFile}` });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
