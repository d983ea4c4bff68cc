// Durable "archived" records that bin/fsdr-archive.sh reads to answer archive_command without
// starting Node. The background pusher writes <spool>/archive-status/<repo>/<segment> only after
// the repository acknowledged the PUT (fs: fsync'd; S3: 200), and only if the file was the same
// file, unchanged, from before it was read until after it was stored:
//
//   fsdr-archived-1 <st_dev> <st_ino> <size> <mtime s.ns> <ctime s.ns> <sha256 of the stored bytes>
//
// The shell confirms only when `stat -L -c '%d %i %s %.9Y %.9Z' %p` prints the same five fields.
// ctime is set by the kernel on every write, truncate and rename and cannot be set by utimes(), so
// a recycled segment (renamed to a later name, then rewritten) or any other file given this name
// never matches: whatever changed the bytes changed the ctime. The digest is the one the codec
// authenticated into the object, for `fsdr` to compare; the shell never hashes (16 MiB per call).
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredWal } from '../../repository/wal-archive.js';
import { ownedDir } from './spool.js';

const TAG = 'fsdr-archived-1';

/** Segment names only: history and backup files are rare and small, and always take the full path. */
export const SEGMENT_NAME = /^[0-9A-F]{24}$/;

/** The five fields GNU stat prints for '%d %i %s %.9Y %.9Z', from one lstat-free stat of `path`. */
export async function fileIdentity(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  const ts = (ns: bigint) => `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  return `${s.dev} ${s.ino} ${s.size} ${ts(s.mtimeNs)} ${ts(s.ctimeNs)}`;
}

/** One directory per repository location, so a record never answers for another repository. */
export function statusDirPath(spool: string, repoDescription: string): string {
  return join(spool, 'archive-status', createHash('sha256').update(repoDescription).digest('hex').slice(0, 16));
}

/** The directory, created (0700) and checked as the spool is. */
export function statusDir(spool: string, repoDescription: string): string {
  ownedDir(spool);
  ownedDir(join(spool, 'archive-status'));
  return ownedDir(statusDirPath(spool, repoDescription));
}

/** Written whole (temp, fsync, rename, fsync of the directory) or not at all. */
export async function writeStatusRecord(dir: string, name: string, identity: string, stored: StoredWal): Promise<void> {
  const tmp = join(dir, `.${name}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${TAG} ${identity} ${stored.sha256}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  await rename(tmp, join(dir, name));
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

/**
 * Records for files PostgreSQL no longer asks about (no .ready) are dropped, as are the
 * directories of other repositories: after a change of repository no old record may answer.
 */
export async function pruneStatus(dir: string, ready: Set<string>): Promise<void> {
  const parent = join(dir, '..');
  for (const d of await readdir(parent)) {
    if (join(parent, d) !== dir) await rm(join(parent, d), { recursive: true, force: true });
  }
  // Called by the one pusher holding the spool lock, so a temp file is a crash's leftover.
  for (const n of await readdir(dir)) {
    if (n.startsWith('.') || !ready.has(n)) await unlink(join(dir, n)).catch(() => undefined);
  }
}
