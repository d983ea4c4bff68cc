// Async archive-get: while PostgreSQL replays segment N, a background fetcher decodes N+1 … N+depth
// into the spool (archive-in), several at once, so each restore_command call only renames a ready
// file (bin/fsdr-fetch.sh does that without starting Node). It follows
// PostgreSQL: it refills as files are consumed, stops at the end of the archive, and exits when idle.
import { readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import type { Repository } from '../../repository/repository.js';
import { ObjectNotFoundError } from '../../storage/errors.js';
import { inDir, spoolRoot } from '../wal-push/spool.js';
import { SpoolLock } from '../wal-push/spool-lock.js';
import { checkSegmentFile } from './segment-check.js';

export interface PrefetchOptions {
  spool: string;
  /** the segment PostgreSQL asked for; prefetching starts after it */
  from: string;
  depth: number;
  /** segments fetched at once (archive.processes) */
  parallel?: number;
  idleMs?: number;
}

/** Returns how many segments it fetched; false if another fetcher holds the lock. */
export async function runPrefetcher(repo: Repository, opts: PrefetchOptions): Promise<number | false> {
  const lock = await SpoolLock.acquire(spoolRoot(opts.spool), 'archive-get');
  if (!lock) return false;
  let fetched = 0;
  try {
    const dir = inDir(opts.spool);
    const info = await repo.readInfo();
    const start = parseWalName(opts.from);
    if (!start || start.kind !== 'segment') return 0;
    const tli = start.timeline;
    const size = info.walSegmentSize;
    const first = segmentNumber(start, size);
    // Segments before the one asked for will not be asked for again.
    for (const n of await readdir(dir)) {
      const w = parseWalName(n);
      if (!w || w.kind !== 'segment' || w.timeline !== tli || segmentNumber(w, size) <= first) await unlink(join(dir, n)).catch(() => undefined);
    }
    let next = first + 1;
    let idleSince = Date.now();
    while (Date.now() - idleSince < (opts.idleMs ?? 10_000)) {
      const present = (await readdir(dir)).filter((n) => !n.endsWith('.tmp'));
      const ahead = present.map((n) => parseWalName(n)).filter((w) => w && w.timeline === tli && w.kind === 'segment').map((w) => segmentNumber(w!, size));
      // Files consumed by PostgreSQL are gone: keep `depth` ready after the oldest one left.
      const low = ahead.length ? Math.min(...ahead) : next;
      if (next - low >= opts.depth) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      // Several in flight (object storage is latency-bound); renamed in order, so the files
      // ready are always a run without a gap.
      const batch = Array.from({ length: Math.min(opts.parallel ?? 1, opts.depth - (next - low)) }, (_, i) => segmentFromNumber(tli, next + i, size));
      const got = await Promise.all(batch.map(async (name) => {
        const w = parseWalName(name)!;
        const tmp = join(dir, `${name}.tmp`);
        try {
          // A segment that does not match its name is never spooled: wal-fetch then fetches it
          // itself and reports it.
          await repo.wal.fetch(w, tmp, (file) => checkSegmentFile(file, w, info));
          return tmp;
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          if (err instanceof ObjectNotFoundError) return undefined; // the end of the archive (for now)
          throw err;
        }
      }));
      let end = false;
      for (let i = 0; i < batch.length; i++) {
        const tmp = got[i];
        if (!tmp || end) { end = true; if (tmp) await unlink(tmp).catch(() => undefined); continue; }
        await rename(tmp, join(dir, batch[i]!));
        fetched++;
        next++;
      }
      if (end) break;
      idleSince = Date.now();
    }
    return fetched;
  } finally {
    await lock.release();
  }
}
