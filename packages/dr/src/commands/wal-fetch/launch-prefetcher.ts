// Starting the background prefetcher (fsdr archive-get-async, prefetch.ts) as a detached process:
// by wal-fetch on a miss, and by restore just before it starts the instance, so the first segments
// are already decoded when PostgreSQL asks and no restore_command call pays for a Node start.
import { spawn } from 'node:child_process';
import { closeSync, fchownSync, fstatSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/load.js';
import type { OsUser } from '../../postgres/os-user.js';
import { PREFETCHER_PID } from './prefetch-spool.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export interface LaunchOptions {
  cfg: Config;
  spool: string;
  /** prefetching starts after this segment */
  from: string;
  repoName: string;
  /** the recovering instance: the prefetcher exits once its recovery has ended */
  pgdata?: string;
  /** the instance is about to be started: not running yet is not the end of its recovery */
  awaitStart?: boolean;
  /** run it as this user (restore as root: the server user owns the spool it answers from) */
  user?: OsUser;
}

/** Spawns the prefetcher and returns its pid (undefined when it could not be started). */
export function launchPrefetcher(o: LaunchOptions): number | undefined {
  const args = [FSDR_BIN, 'archive-get-async', '--from', o.from, '--repo', o.repoName, '--config', o.cfg.source];
  if (o.pgdata) args.push('--pgdata', o.pgdata);
  if (o.awaitStart) args.push('--await-start');
  // Its own log beside the spool; a log it cannot open (another user's) never fails a fetch.
  let logFd: number | 'ignore' = 'ignore';
  try {
    logFd = openSync(join(o.spool, 'archive-get.log'), 'a', 0o600);
    // Created by root for the server user: later prefetchers, run as that user, append to it.
    if (o.user && fstatSync(logFd).uid !== o.user.uid) fchownSync(logFd, o.user.uid, o.user.gid);
  } catch { /* no log */ }
  try {
    const child = spawn(process.execPath, args, {
      detached: true, stdio: ['ignore', 'ignore', logFd], cwd: o.pgdata ?? '/', uid: o.user?.uid, gid: o.user?.gid,
    });
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } catch {
    return undefined;
  } finally {
    if (typeof logFd === 'number') closeSync(logFd);
  }
}

/**
 * Waits until the prefetcher `pid` has taken the spool (its pid file is written after the stale
 * files are cleared, prefetch.ts takeSpool): restore_command calls from then on are answered by it.
 * False when it did not within `ms` (another prefetcher holds the lock, or it failed to start).
 */
export async function prefetcherServing(inDir: string, pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const mine = await readFile(join(inDir, PREFETCHER_PID), 'utf8').catch(() => '');
    if (mine.trim() === String(pid)) return true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
