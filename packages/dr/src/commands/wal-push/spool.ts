// The async archiver's spool: the background pusher leaves <name>.ok or <name>.error in
// <spool>/archive-out, and wal-push answers PostgreSQL from them. One pusher runs per spool
// (spool-lock.ts).
import { mkdirSync, lstatSync } from 'node:fs';
import { FsdrError } from '../../errors.js';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';

export function spoolDir(configured: string | undefined, configSource: string): string {
  return configured ?? join(tmpdir(), `fsdr-spool-${createHash('sha1').update(configSource).digest('hex').slice(0, 10)}`);
}

/** A spool directory answers archive_command: only one this user owns, closed to others, is trusted. */
export function ownedDir(d: string): string {
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

/** The spool itself, created if need be, checked like its subdirectories. */
export function spoolRoot(spool: string): string {
  return ownedDir(spool);
}

export function inDir(spool: string): string {
  ownedDir(spool);
  return ownedDir(join(spool, 'archive-in'));
}

export function outDir(spool: string): string {
  ownedDir(spool);
  return ownedDir(join(spool, 'archive-out'));
}
