// The async archiver: reads pg_wal/archive_status/*.ready ahead of PostgreSQL and pushes those
// WAL files in parallel (as pgBackRest's archive-push-async), leaving <name>.ok or <name>.error in
// the spool. It exits after a short idle period; the next wal-push starts it again (the agent keeps
// one running). Each segment it stored also gets a durable status record (status-record.ts), which
// bin/fsdr-archive.sh confirms in a few milliseconds instead of starting Node.
import { readdir, writeFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../errors.js';
import type { Repository } from '../../repository/repository.js';
import type { PushedWal } from './push-described.js';
import { outDir, spoolRoot } from './spool.js';
import { SpoolLock } from './spool-lock.js';
import { pruneStatus, SEGMENT_NAME, statusDir, writeStatusRecord } from './status-record.js';

export interface AsyncPusherOptions {
  pgWalDir: string;
  spool: string;
  processes: number;
  /** Exit after this long with nothing to push. */
  idleMs?: number;
  /**
   * How to push one file: the CLI and the agent pass a PushPool, which checks the fence before
   * every file. Required on purpose: an in-thread default here would push without that check.
   */
  push: (path: string) => Promise<PushedWal>;
}

async function mark(out: string, name: string, kind: 'ok' | 'error', text = ''): Promise<void> {
  const tmp = join(out, `${name}.${kind}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, join(out, `${name}.${kind}`));
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function readyFiles(pgWalDir: string): Promise<string[]> {
  const names = await readdir(join(pgWalDir, 'archive_status')).catch(() => [] as string[]);
  // History files first: a restore on a new timeline needs them before its segments.
  return names
    .filter((n) => n.endsWith('.ready'))
    .map((n) => n.slice(0, -6))
    .sort((a, b) => Number(b.endsWith('.history')) - Number(a.endsWith('.history')) || (a < b ? -1 : 1));
}

/** Runs until idle. Returns how many files it pushed; false if another pusher holds the lock. */
export async function runAsyncPusher(repo: Repository, opts: AsyncPusherOptions): Promise<number | false> {
  const lock = await SpoolLock.acquire(spoolRoot(opts.spool), 'archive-push');
  if (!lock) return false;
  const out = outDir(opts.spool);
  const idleMs = opts.idleMs ?? 3000;
  let pushed = 0;
  const inFlight = new Set<string>();
  const push = opts.push;
  const status = statusDir(opts.spool, repo.storage.description);
  let prunedAt = 0;
  try {
    await repo.readInfo();
    // Markers whose .ready is gone are left from an earlier run (or cluster): never answer with them.
    const ready = new Set(await readyFiles(opts.pgWalDir));
    for (const m of await readdir(out)) {
      const name = m.replace(/\.(ok|error)$/, '');
      if (name !== m && !ready.has(name)) await unlink(join(out, m)).catch(() => undefined);
    }
    let idleSince = Date.now();
    while (Date.now() - idleSince < idleMs) {
      if (Date.now() - prunedAt > 60_000) {
        await pruneStatus(status, new Set(await readyFiles(opts.pgWalDir)));
        prunedAt = Date.now();
      }
      const todo: string[] = [];
      for (const name of await readyFiles(opts.pgWalDir)) {
        if (inFlight.has(name)) continue;
        if ((await exists(join(out, `${name}.ok`))) || (await exists(join(out, `${name}.error`)))) continue;
        todo.push(name);
      }
      if (todo.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      idleSince = Date.now();
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const name = todo[next++]!;
          inFlight.add(name);
          try {
            const r = await push(join(opts.pgWalDir, name));
            // Only a file that did not change while it was read and stored may be vouched for.
            if (SEGMENT_NAME.test(name) && r.stored && r.before === r.after && r.before.split(' ')[2] === String(r.stored.size)) {
              await writeStatusRecord(status, name, r.before, r.stored);
            }
            // PostgreSQL may have archived it meanwhile (a marker consumed, .ready now .done):
            // a fresh marker then would answer for nothing, or for a later file of the same name.
            if (await exists(join(opts.pgWalDir, 'archive_status', `${name}.ready`))) await mark(out, name, 'ok');
            pushed++;
          } catch (err) {
            await mark(out, name, 'error', describeError(err));
          } finally {
            inFlight.delete(name);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.processes, todo.length) }, worker));
      idleSince = Date.now();
    }
    return pushed;
  } finally {
    await lock.release();
  }
}
