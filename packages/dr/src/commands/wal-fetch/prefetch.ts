// Async archive-get: one long-lived prefetcher per recovery keeps the segments after the one
// PostgreSQL is replaying decoded in the spool (archive-in), so each restore_command call only
// renames a ready file (bin/fsdr-fetch.sh does that without starting Node). Segments are fetched,
// decrypted and checked `parallel` at a time (worker threads: the codec is synchronous), up to
// `depth` ahead of PostgreSQL; each is claimed as <name>.tmp before it starts, and the shell waits
// for a claimed segment instead of fetching it a second time. It exits when the instance's
// recovery ends, when a restore replaced the spool, or after idleMs without PostgreSQL taking a
// segment or the archive growing.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import type { Repository } from '../../repository/repository.js';
import { ObjectNotFoundError } from '../../storage/errors.js';
import { inDir, spoolRoot } from '../wal-push/spool.js';
import { SpoolLock } from '../wal-push/spool-lock.js';
import { checkSegmentFile } from './segment-check.js';

/** bin/fsdr-fetch.sh reads the prefetcher's pid here to know a claimed segment is still coming. */
export const PREFETCHER_PID = 'prefetcher.pid';
/** wal-fetch writes here the segment PostgreSQL asked for when the spool did not have it. */
export const ASKED = 'asked';

/**
 * What the spooled files are good for: `durable` (fsynced), or a boot id (Linux) — written
 * without fsync, so good only until the next reboot: a file that carries its final name but lost
 * its data in a power cut is never handed over, because the marker no longer matches.
 */
export const SPOOL_BOOT = 'boot';
const BOOT_ID = '/proc/sys/kernel/random/boot_id';

export function currentBoot(): string | undefined {
  try {
    const b = readFileSync(BOOT_ID, 'utf8').trim();
    return /^[0-9a-f-]{8,64}$/.test(b) ? b : undefined;
  } catch {
    return undefined;
  }
}

/** True when the files spooled in `dir` may be handed over in this boot. */
export function spoolTrusted(dir: string): boolean {
  let marker: string;
  try {
    marker = readFileSync(join(dir, SPOOL_BOOT), 'utf8').trim();
  } catch {
    return false;
  }
  return marker === 'durable' || (marker.length > 0 && marker === currentBoot());
}

/** Fetch one segment, checked, into `dest` (fsynced when `durable`); false when it is not in the repository. */
export type FetchSegment = (name: string, dest: string, durable: boolean) => Promise<boolean>;

export interface PrefetchOptions {
  spool: string;
  /** the segment PostgreSQL asked for; prefetching starts after it */
  from: string;
  /** segments ready or in flight ahead of PostgreSQL (archive.prefetch.depth) */
  depth: number;
  /** bound on the bytes those segments take in the spool (archive.prefetch.maxMiB) */
  maxBytes?: number;
  /** segments fetched at once (archive.processes) */
  parallel?: number;
  /** exit after this long without PostgreSQL taking a segment or a new one being fetched */
  idleMs?: number;
  /** how often the end of the archive is looked at again */
  retryMs?: number;
  /** the recovering instance's data directory: the prefetcher exits once its recovery has ended */
  pgdata?: string;
  /** defaults to fetching on this thread; the CLI passes a pool of worker threads */
  fetch?: FetchSegment;
}

export interface PrefetchResult {
  fetched: number;
  /** why it stopped: recovery ended, the spool was replaced, or idle */
  reason: 'recovery-ended' | 'spool-replaced' | 'timeline' | 'idle';
}

/** True while the instance in `pgdata` runs and is still recovering (a signal file is there). */
export function stillRecovering(pgdata: string): boolean {
  if (!existsSync(join(pgdata, 'recovery.signal')) && !existsSync(join(pgdata, 'standby.signal'))) return false;
  let pid: number;
  try {
    pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inode(dir: string): number | undefined {
  try {
    return statSync(dir).ino;
  } catch {
    return undefined;
  }
}

/** Fetching on the calling thread (tests, and a fallback when no pool is given). */
export function fetchOnThisThread(repo: Repository): FetchSegment {
  let info: Awaited<ReturnType<Repository['readInfo']>> | undefined;
  return async (name, dest, durable) => {
    info ??= await repo.readInfo();
    const w = parseWalName(name)!;
    try {
      await repo.wal.fetch(w, dest, (file) => checkSegmentFile(file, w, info!), { durable });
      return true;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return false;
      throw err;
    }
  };
}

/** Returns what it fetched and why it stopped; false if another prefetcher holds the lock. */
export async function runPrefetcher(repo: Repository, opts: PrefetchOptions): Promise<PrefetchResult | false> {
  const lock = await SpoolLock.acquire(spoolRoot(opts.spool), 'archive-get');
  if (!lock) return false;
  const dir = inDir(opts.spool);
  const pidFile = join(dir, PREFETCHER_PID);
  const pending = new Map<number, Promise<void>>();
  let fetched = 0;
  let reason: PrefetchResult['reason'] = 'idle';
  try {
    const info = await repo.readInfo();
    const start = parseWalName(opts.from);
    if (!start || start.kind !== 'segment') return { fetched, reason };
    const tli = start.timeline;
    const size = info.walSegmentSize;
    const first = segmentNumber(start, size);
    const depth = Math.max(1, Math.min(opts.depth, opts.maxBytes ? Math.floor(opts.maxBytes / size) : Infinity));
    const parallel = Math.max(1, Math.min(opts.parallel ?? 1, depth));
    const fetch = opts.fetch ?? fetchOnThisThread(repo);
    const idleMs = opts.idleMs ?? 30_000;
    const retryMs = opts.retryMs ?? 1_000;
    // Segments before the one asked for will not be asked for again; a claim or pid file left by
    // a prefetcher that was killed means nothing any more; nor does anything spooled before a reboot.
    const boot = currentBoot();
    const trusted = spoolTrusted(dir);
    for (const n of await readdir(dir)) {
      const w = parseWalName(n);
      if (!trusted || !w || w.kind !== 'segment' || w.timeline !== tli || segmentNumber(w, size) <= first) await unlink(join(dir, n)).catch(() => undefined);
    }
    // The marker is made durable before any file relies on it.
    const fh = await open(join(dir, SPOOL_BOOT), 'w', 0o600);
    try {
      await fh.writeFile(`${boot ?? 'durable'}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const dh = await open(dir, 'r');
    await dh.sync().finally(() => dh.close());
    const durable = boot === undefined;
    const ino = inode(dir);
    await writeFile(pidFile, `${process.pid}\n`, { mode: 0o600 });

    let next = first + 1;
    // The first segment found missing (the end of the archive, for now) or refused: nothing at or
    // after it is claimed until it is looked at again.
    let stopAt: number | undefined;
    let stoppedAt = 0;
    let lastLow = 0;
    let lastProgress = Date.now();
    // The newest segment PostgreSQL took from the repository itself: nothing at or before it
    // will be asked for again, and a prefetcher behind it skips ahead.
    let asked = first;
    let askedSeen = '';
    let wake: () => void = () => undefined;
    const readyNow = async (): Promise<Set<number>> => {
      const got = new Set<number>();
      for (const n of await readdir(dir).catch(() => [] as string[])) {
        const w = parseWalName(n);
        if (w && w.kind === 'segment' && w.timeline === tli) got.add(segmentNumber(w, size));
      }
      return got;
    };
    const claim = (n: number): void => {
      const name = segmentFromNumber(tli, n, size);
      const tmp = join(dir, `${name}.tmp`);
      const task = (async () => {
        await writeFile(tmp, '', { mode: 0o600 });
        let ok = false;
        try {
          // A segment that does not match its name is never spooled: wal-fetch then fetches it
          // itself and reports it.
          ok = await fetch(name, tmp, durable);
        } catch (err) {
          process.stderr.write(`fsdr archive-get-async: ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
        }
        if (ok && n <= asked) {
          await unlink(tmp).catch(() => undefined);
        } else if (ok && inode(dir) === ino) {
          await rename(tmp, join(dir, name));
          fetched++;
          lastProgress = Date.now();
        } else {
          await unlink(tmp).catch(() => undefined);
          if (stopAt === undefined || n < stopAt) stopAt = n;
          stoppedAt = Date.now();
          if (n < next) next = n;
        }
      })().catch(async () => unlink(tmp).catch(() => undefined)).finally(() => {
        pending.delete(n);
        wake();
      });
      pending.set(n, task);
    };

    for (;;) {
      if (opts.pgdata && !stillRecovering(opts.pgdata)) { reason = 'recovery-ended'; break; }
      // A restore emptied the spool for another recovery: nothing of this one belongs there.
      if (inode(dir) !== ino) { reason = 'spool-replaced'; break; }
      const askedNow = (await readFile(join(dir, ASKED), 'utf8').catch(() => '')).trim();
      if (askedNow !== askedSeen) {
        askedSeen = askedNow;
        const a = parseWalName(askedNow);
        if (a && a.kind === 'segment' && a.timeline !== tli) { reason = 'timeline'; break; }
        if (a && a.kind === 'segment') {
          // Ahead of this prefetcher, or behind it (recovery restarted, or a second reader of
          // the spool): continue right after it, keeping what is spooled past it.
          asked = segmentNumber(a, size);
          next = asked + 1;
          stopAt = undefined;
          lastProgress = Date.now();
        }
      }
      const ready = await readyNow();
      for (const n of ready) {
        if (n <= asked) { ready.delete(n); await unlink(join(dir, segmentFromNumber(tli, n, size))).catch(() => undefined); }
      }
      // Files PostgreSQL consumed are gone: keep `depth` ready or in flight after the oldest left.
      let low = next;
      for (const n of ready) if (n < low) low = n;
      for (const n of pending.keys()) if (n < low) low = n;
      if (low > lastLow) { lastLow = low; lastProgress = Date.now(); }
      if (stopAt !== undefined && pending.size === 0 && Date.now() - stoppedAt >= retryMs) stopAt = undefined;
      while (pending.size < parallel && next - low < depth && (stopAt === undefined || next < stopAt)) {
        if (!ready.has(next) && !pending.has(next)) claim(next);
        next++;
      }
      if (Date.now() - lastProgress >= idleMs) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, 25);
        wake = () => { clearTimeout(t); r(); };
      });
    }
    return { fetched, reason };
  } finally {
    await Promise.all(pending.values());
    const mine = await readFile(pidFile, 'utf8').catch(() => '');
    if (mine.trim() === String(process.pid)) await unlink(pidFile).catch(() => undefined);
    await lock.release();
  }
}
