// Async archive-get: one long-lived prefetcher per recovery keeps the segments after the one
// PostgreSQL is replaying decoded in the spool (archive-in), so each restore_command call only
// renames a ready file (bin/fsdr-fetch.sh does that without starting Node). Segments are fetched,
// decrypted and checked `parallel` at a time (worker threads: the codec is synchronous), up to
// `depth` ahead of PostgreSQL; each is claimed as <name>.tmp before it starts, and the shell waits
// for a claimed segment instead of fetching it a second time. Whatever else restore_command needs
// while it runs (a history file, a segment re-read, the end of the archive) the shell asks it for
// through the spool (prefetch-spool.ts), which costs a fetch, not a Node start. It exits when the
// instance's recovery ends, when a restore replaced the spool, on a timeline switch, or after
// idleMs without PostgreSQL taking a segment or the archive growing.
import { statSync } from 'node:fs';
import { readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import type { Repository } from '../../repository/repository.js';
import { ObjectNotFoundError } from '../../storage/errors.js';
import { inDir, spoolRoot } from '../wal-push/spool.js';
import { SpoolLock } from '../wal-push/spool-lock.js';
import { answerFile, ASKED, currentBoot, PREFETCHER_PID, SPOOL_BOOT, spoolTrusted, stillRecovering, WANT, type Answer } from './prefetch-spool.js';
import { checkSegmentFile } from './segment-check.js';

const ENDED_GRACE_MS = 3_000;

/** `partial`: the segment is absent but its streamed partial is there (wal-fetch serves that). */
export type Fetched = 'ok' | 'absent' | 'partial';

/** Fetch one WAL file, checked, into `dest` (fsynced when `durable`). */
export type FetchSegment = (name: string, dest: string, durable: boolean) => Promise<Fetched>;

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
  /**
   * The instance in `pgdata` is about to be started (restore launched this prefetcher first): until
   * it is first seen running, not running is not the end of its recovery (for at most idleMs).
   */
  awaitStart?: boolean;
  /** defaults to fetching on this thread; the CLI passes a pool of worker threads */
  fetch?: FetchSegment;
}

export interface PrefetchResult {
  fetched: number;
  /** why it stopped: recovery ended, the spool was replaced, or idle */
  reason: 'recovery-ended' | 'spool-replaced' | 'timeline' | 'idle';
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
      return 'ok';
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
    return w.kind === 'segment' && (await repo.wal.hasStreamPartial(w)) ? 'partial' : 'absent';
  };
}

/** The spool made this prefetcher's: stale files gone, the boot marker durable, its pid written. */
async function takeSpool(dir: string, tli: number, first: number, size: number): Promise<{ durable: boolean; ino: number | undefined }> {
  // Segments before the one asked for will not be asked for again; a claim, request or pid file
  // left by a prefetcher that was killed means nothing any more; nor does anything spooled before
  // a reboot.
  const boot = currentBoot();
  const trusted = spoolTrusted(dir);
  for (const n of await readdir(dir)) {
    const w = parseWalName(n);
    if (!trusted || !w || w.kind !== 'segment' || w.timeline !== tli || segmentNumber(w, size) <= first) await unlink(join(dir, n)).catch(() => undefined);
  }
  // No fsync needed: whatever a power cut leaves of the marker (nothing, part, an older boot's
  // id or this one's), it cannot name the next boot, so the files it covers are never trusted then.
  await writeFile(join(dir, SPOOL_BOOT), `${boot ?? 'durable'}\n`, { mode: 0o600 });
  await writeFile(join(dir, PREFETCHER_PID), `${process.pid}\n`, { mode: 0o600 });
  return { durable: boot === undefined, ino: inode(dir) };
}

/** Returns what it fetched and why it stopped; false if another prefetcher holds the lock. */
export async function runPrefetcher(repo: Repository, opts: PrefetchOptions): Promise<PrefetchResult | false> {
  const lock = await SpoolLock.acquire(spoolRoot(opts.spool), 'archive-get');
  if (!lock) return false;
  const dir = inDir(opts.spool);
  const pidFile = join(dir, PREFETCHER_PID);
  const tasks = new Set<Promise<void>>();
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
    const { durable, ino } = await takeSpool(dir, tli, first, size);

    const pending = new Map<number, Promise<void>>();
    // Claims that failed: what a request for that segment is answered (if it came before).
    const outcome = new Map<number, { answer: Answer; at: number }>();
    const wantSince = new Map<string, number>();
    const serving = new Set<string>();
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
    let endedAt: number | undefined;
    let seenRunning = false;
    const startedAt = Date.now();
    let wake: () => void = () => undefined;
    const track = (t: Promise<void>): void => {
      tasks.add(t);
      void t.finally(() => { tasks.delete(t); wake(); });
    };
    // History files are a few bytes and mostly absent (PostgreSQL probes for newer timelines at
    // the start and the end of recovery): asked on this thread, they never queue behind segments
    // being decoded in the pool (measured: 0.4 s per probe at the start, 4 ms with cp).
    const fetchHere = opts.fetch ? fetchOnThisThread(repo) : fetch;
    const fetchTo = async (name: string, tmp: string, via: FetchSegment = fetch): Promise<Fetched | 'error'> => {
      try {
        await writeFile(tmp, '', { mode: 0o600 });
        // A segment that does not match its name is never spooled: wal-fetch then fetches it
        // itself and reports it.
        return await via(name, tmp, durable);
      } catch (err) {
        process.stderr.write(`fsdr archive-get-async: ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
        return 'error';
      }
    };
    const answer = async (want: string, name: string, token: string, a: Answer): Promise<void> => {
      wantSince.delete(want);
      // Only a request still waiting gets an answer: a stale "absent" could end a later recovery early.
      if (!(await unlink(join(dir, want)).then(() => true, () => false))) return;
      await writeFile(join(dir, answerFile(name, token, a)), '', { mode: 0o600 });
      lastProgress = Date.now();
    };
    const claim = (n: number): void => {
      const name = segmentFromNumber(tli, n, size);
      const tmp = join(dir, `${name}.tmp`);
      outcome.delete(n);
      const task = (async () => {
        const got = await fetchTo(name, tmp);
        if (got === 'ok' && n > asked && inode(dir) === ino) {
          await rename(tmp, join(dir, name));
          fetched++;
          lastProgress = Date.now();
          return;
        }
        await unlink(tmp).catch(() => undefined);
        if (got === 'ok') return;
        outcome.set(n, { answer: got === 'absent' ? 'absent' : 'fallback', at: Date.now() });
        if (stopAt === undefined || n < stopAt) stopAt = n;
        stoppedAt = Date.now();
        if (n < next) next = n;
      })().finally(() => pending.delete(n));
      pending.set(n, task);
      track(task);
    };
    // A history file (or anything not a segment of this timeline's run) asked for while running.
    const serveOther = (want: string, name: string, token: string): void => {
      serving.add(want);
      const tmp = join(dir, `${name}.tmp`);
      track((async () => {
        const got = await fetchTo(name, tmp, fetchHere);
        if (got === 'ok' && inode(dir) === ino) {
          await rename(tmp, join(dir, name));
          await unlink(join(dir, want)).catch(() => undefined);
          wantSince.delete(want);
          return;
        }
        await unlink(tmp).catch(() => undefined);
        await answer(want, name, token, got === 'absent' ? 'absent' : 'fallback');
      })().finally(() => serving.delete(want)));
    };

    loop: for (;;) {
      // PostgreSQL removes recovery.signal before its last requests (the parent timeline's
      // history file, for the new one): answer them for a moment more, fetching nothing ahead.
      if (opts.pgdata && endedAt === undefined) {
        if (stillRecovering(opts.pgdata)) seenRunning = true;
        else if (seenRunning || !opts.awaitStart || Date.now() - startedAt >= idleMs) endedAt = Date.now();
      }
      if (endedAt !== undefined && Date.now() - endedAt >= ENDED_GRACE_MS) { reason = 'recovery-ended'; break; }
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
      const names = await readdir(dir).catch(() => [] as string[]);
      const ready = new Set<number>();
      for (const n of names) {
        const w = parseWalName(n);
        if (!w || w.kind !== 'segment' || w.timeline !== tli) continue;
        const x = segmentNumber(w, size);
        if (x > asked) ready.add(x);
        else await unlink(join(dir, n)).catch(() => undefined);
      }
      for (const want of names) {
        const m = WANT.exec(want);
        if (!m) continue;
        const [, name, token] = m as unknown as [string, string, string];
        if (!wantSince.has(want)) wantSince.set(want, Date.now());
        const w = parseWalName(name)!;
        if (w.kind !== 'segment') {
          if (!serving.has(want)) serveOther(want, name, token);
          continue;
        }
        // PostgreSQL moved to another timeline: a new prefetcher follows it (the shell falls back).
        if (w.timeline !== tli) { reason = 'timeline'; break loop; }
        const x = segmentNumber(w, size);
        if (ready.has(x)) { await unlink(join(dir, want)).catch(() => undefined); wantSince.delete(want); continue; }
        if (pending.has(x)) continue;
        const o = outcome.get(x);
        if (o && o.at >= wantSince.get(want)!) { await answer(want, name, token, o.answer); continue; }
        // PostgreSQL is at x (a re-read, or the end of the archive looked at again): fetch it now;
        // what is spooled before it will not be asked for.
        asked = x - 1;
        for (const r of ready) if (r < x) { ready.delete(r); await unlink(join(dir, segmentFromNumber(tli, r, size))).catch(() => undefined); }
        if (next <= x) next = x + 1;
        claim(x);
      }
      // Files PostgreSQL consumed are gone: keep `depth` ready or in flight after the oldest left.
      let low = next;
      for (const n of ready) if (n < low) low = n;
      for (const n of pending.keys()) if (n < low) low = n;
      if (low > lastLow) { lastLow = low; lastProgress = Date.now(); }
      if (stopAt !== undefined && pending.size === 0 && Date.now() - stoppedAt >= retryMs) stopAt = undefined;
      while (endedAt === undefined && pending.size < parallel && next - low < depth && (stopAt === undefined || next < stopAt)) {
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
    await Promise.all(tasks);
    const mine = await readFile(pidFile, 'utf8').catch(() => '');
    if (mine.trim() === String(process.pid)) await unlink(pidFile).catch(() => undefined);
    await lock.release();
  }
}
