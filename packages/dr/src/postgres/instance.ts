// Starting and stopping a PostgreSQL instance with pg_ctl (as the unprivileged server user when
// fsdr runs as root), and following it through recovery until it is promoted.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { newClient } from './cluster.js';
import { PostgresError } from '../errors.js';
import type { OsUser } from './os-user.js';

const run = promisify(execFile);

export async function pgCtl(binDir: string, args: string[], user?: OsUser): Promise<string> {
  try {
    const r = await run(join(binDir, 'pg_ctl'), args, { uid: user?.uid, gid: user?.gid, cwd: '/', maxBuffer: 4 * 1024 * 1024 });
    return r.stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new PostgresError(`pg_ctl ${args[0]} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').pop()}`, { cause: err });
  }
}

export function startInstance(binDir: string, pgdata: string, logFile: string, user?: OsUser): Promise<string> {
  // -W: do not wait; recovery may take long and we follow it ourselves.
  return pgCtl(binDir, ['start', '-D', pgdata, '-l', logFile, '-W'], user);
}

export function stopInstance(binDir: string, pgdata: string, user?: OsUser, mode: 'fast' | 'immediate' = 'fast'): Promise<string> {
  return pgCtl(binDir, ['stop', '-D', pgdata, '-m', mode, '-w', '-t', '120'], user);
}

export function postmasterAlive(pgdata: string): boolean {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server log's last FATAL or PANIC message (else its last line): why a postmaster exited. */
export function lastFatal(log: string): string {
  const line = log.split('\n').filter((l) => /FATAL|PANIC/.test(l)).pop() ?? log.trim().split('\n').pop() ?? '';
  return line.replace(/^.*?(FATAL|PANIC):\s*/, '');
}

/** PostgreSQL ran out of WAL before it reached the recovery target (it says so, and stops). */
export class RecoveryEndedEarlyError extends PostgresError {
  constructor(readonly detail?: string) {
    super(`recovery ended before the recovery target was reached${detail ? `: ${detail}` : ''}`);
  }
}

export interface PromotedState {
  replayedTo: string | null;
  lsn: string;
  timeline: number;
}

/** Wait until the instance accepts connections and has left recovery; explain a failure from its log. */
export async function waitForPromotion(connection: pg.ClientConfig, pgdata: string, logFile: string, timeoutMs: number): Promise<PromotedState> {
  const deadline = Date.now() + timeoutMs;
  let started = false;
  for (;;) {
    const alive = postmasterAlive(pgdata);
    if (alive) started = true;
    if (!alive && (started || Date.now() > deadline - timeoutMs + 15_000)) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      const fatal = lastFatal(log);
      // restore_command's stderr lands in the server log: its own words say why a fetch failed.
      const fetchError = log.split('\n').filter((l) => l.startsWith('fsdr: ')).pop();
      if (/recovery ended before configured recovery target was reached/.test(log)) throw new RecoveryEndedEarlyError(fetchError?.slice(6));
      const why = fetchError ? ` (restore_command: ${fetchError.slice(6).replace(/ \(hint: .*\)$/, '')})` : '';
      throw new PostgresError(`the restored instance stopped during recovery: ${fatal}${why}`, { hint: `see ${logFile}` });
    }
    if (Date.now() > deadline) throw new PostgresError(`recovery did not finish within ${Math.round(timeoutMs / 1000)}s`, { hint: `see ${logFile}` });
    const c = newClient({ ...connection, connectionTimeoutMillis: 2000 }, 'fsdr restore');
    try {
      await c.connect();
      const r = await c.query(`SELECT pg_is_in_recovery() AS rec, pg_last_xact_replay_timestamp() AS ts,
        CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text AS lsn`);
      const row = r.rows[0];
      if (!row.rec) {
        const tl = await c.query(`SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli`);
        return { replayedTo: row.ts ? new Date(row.ts).toISOString() : null, lsn: row.lsn, timeline: parseInt(tl.rows[0].tli, 16) };
      }
    } catch {
      /* not accepting connections yet */
    } finally {
      await c.end().catch(() => undefined);
    }
    // A connection attempt is cheap; the restore's RTO ends when this notices the promotion.
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** initdb a new cluster (as the server user when root), trust auth on loopback: demo and drills. */
export async function initCluster(binDir: string, pgdata: string, user?: OsUser): Promise<void> {
  try {
    await run(join(binDir, 'initdb'), ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { uid: user?.uid, gid: user?.gid, cwd: '/' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new PostgresError(`initdb failed: ${(e.stderr || e.message).trim().split('\n').pop()}`, { cause: err });
  }
}
