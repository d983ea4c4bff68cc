// The async archiver's spool: the background pusher leaves <name>.ok or <name>.error in
// <spool>/archive-out, and wal-push answers PostgreSQL from them. A lock file with the pusher's
// pid makes sure one pusher runs per spool; a lock of a dead pid is taken over.
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync, lstatSync } from 'node:fs';
import { FsdrError } from '../../errors.js';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';

export function spoolDir(configured: string | undefined, configSource: string): string {
  return configured ?? join(tmpdir(), `fsdr-spool-${createHash('sha1').update(configSource).digest('hex').slice(0, 10)}`);
}

/** A spool directory answers archive_command: only one this user owns, closed to others, is trusted. */
function ownedDir(d: string): string {
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const s = lstatSync(d);
  const uid = process.getuid?.();
  // Nobody else may be able to plant a marker: owned by this user (or we are root) and writable
  // by no group or other user.
  if (!s.isDirectory() || (uid !== undefined && uid !== 0 && s.uid !== uid) || (s.mode & 0o022) !== 0) {
    throw new FsdrError('FSDR_SPOOL_UNSAFE', `spool directory ${d} is writable by other users or owned by another user (owner ${s.uid}, mode ${(s.mode & 0o777).toString(8)})`, {
      hint: 'set archive.spoolPath to a directory owned by the PostgreSQL user, mode 0700',
    });
  }
  return d;
}

export function inDir(spool: string): string {
  ownedDir(spool);
  return ownedDir(join(spool, 'archive-in'));
}

export function outDir(spool: string): string {
  ownedDir(spool);
  return ownedDir(join(spool, 'archive-out'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type SpoolLock = 'archive-push' | 'archive-get';

export function lockPath(spool: string, lock: SpoolLock = 'archive-push'): string {
  return join(spool, `${lock}.lock`);
}

/** Pid of the live pusher holding the lock, if any. */
export function lockHolder(spool: string, lock: SpoolLock = 'archive-push'): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath(spool, lock), 'utf8'));
    return pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Take the pusher lock; false when a live process holds it. */
export function acquireLock(spool: string, lock: SpoolLock = 'archive-push'): boolean {
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(lockPath(spool, lock), 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockHolder(spool, lock) !== undefined) return false;
      try {
        unlinkSync(lockPath(spool, lock)); // stale: its owner died
      } catch {
        /* another process took it over first */
      }
    }
  }
  return false;
}

export function releaseLock(spool: string, lock: SpoolLock = 'archive-push'): void {
  try {
    if (Number(readFileSync(lockPath(spool, lock), 'utf8')) === process.pid) unlinkSync(lockPath(spool, lock));
  } catch {
    /* already gone */
  }
}
