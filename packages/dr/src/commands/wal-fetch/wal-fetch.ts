// fsdr wal-fetch %f %p: PostgreSQL's restore_command. A missing file is normal (PostgreSQL probes
// for history files and for the end of the archive), so it exits 1 without a word. A segment is
// handed over only once its first page header matches its name (segment-check.ts).
import { existsSync } from 'node:fs';
import { copyFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { parseWalName, type WalName } from '../../postgres/wal-name.js';
import { Repository } from '../../repository/repository.js';
import { ObjectNotFoundError } from '../../storage/errors.js';
import { checkSegmentFile } from './segment-check.js';

/** Async mode: take the segment from the prefetch spool if it is there, and keep a prefetcher running. */
async function fromSpool(cfg: Config, w: WalName, dest: string, repoName: string): Promise<boolean> {
  const { spoolDir, inDir } = await import('../wal-push/spool.js');
  const { lockHeld } = await import('../wal-push/spool-lock.js');
  const spool = spoolDir(cfg.archive.spoolPath, cfg.source);
  const name = w.name;
  const ready = join(inDir(spool), name);
  const { ASKED, spoolTrusted } = await import('./prefetch-spool.js');
  let served = false;
  try {
    // Spooled before a reboot (written without fsync): never handed over.
    if (!spoolTrusted(inDir(spool))) throw Object.assign(new Error('spool of an earlier boot'), { code: 'ENOENT' });
    // The prefetcher checked it against repo.json; check again what is about to be handed over.
    await checkSegmentFile(ready, w, {});
    await rename(ready, dest);
    served = true;
  } catch (err) {
    if (err instanceof FsdrError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') {
      await copyFile(ready, dest);
      await unlink(ready);
      served = true;
    }
  }
  if (!served) {
    // PostgreSQL got here first: this segment comes from the repository, and whatever the
    // prefetcher spooled up to it will never be asked for. Left there, it would hold the
    // prefetcher's window full and stall it; the prefetcher also skips ahead to it.
    const { readdir, writeFile } = await import('node:fs/promises');
    for (const n of await readdir(inDir(spool)).catch(() => [] as string[])) {
      if (n.length === 24 && n.slice(0, 8) === name.slice(0, 8) && n <= name) await unlink(join(inDir(spool), n)).catch(() => undefined);
    }
    const asked = join(inDir(spool), `${ASKED}.${process.pid}`);
    await writeFile(asked, `${name}\n`, { mode: 0o600 }).then(() => rename(asked, join(inDir(spool), ASKED))).catch(() => unlink(asked).catch(() => undefined));
  }
  if (!(await lockHeld(spool, 'archive-get'))) {
    // Restore commands run in the data directory: the prefetcher watches it and exits when the
    // instance's recovery ends.
    const pgdata = existsSync(join(process.cwd(), 'postmaster.pid')) ? process.cwd() : undefined;
    const { launchPrefetcher } = await import('./launch-prefetcher.js');
    launchPrefetcher({ cfg, spool, from: name, repoName, pgdata });
  }
  return served;
}

/** Returns false when the file is not in the repository. */
export async function walFetch(cfg: Config, name: string, dest: string, repoName = 'primary', asOf?: Date): Promise<boolean> {
  const w = parseWalName(name);
  if (!w) throw new FsdrError('FSDR_WAL_NAME', `${name} is not a WAL file name`, { hint: "restore_command must pass %f %p: restore_command = 'fsdr wal-fetch %f %p'" });
  // An --as-of recovery (after tampering) never reads the shared spool: a file another recovery
  // prefetched may be a later version of the object, the one it must not see.
  if (cfg.archive.async && !asOf) {
    // One line per Node start in the server log: how often the fast path (and the prefetcher) missed.
    process.stderr.write(`fsdr wal-fetch: ${name} was not prefetched; fetching it from the repository\n`);
    if (w.kind === 'segment' && (await fromSpool(cfg, w, resolve(dest), repoName))) return true;
  }
  const repo = await Repository.open(cfg, repoName, { asOf });
  try {
    const info = await repo.readInfo();
    try {
      await repo.wal.fetch(w, resolve(dest), (tmp) => checkSegmentFile(tmp, w, info));
      return true;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError) || w.kind !== 'segment') throw err;
    }
    // Streaming: the segment never completed in the repository, but its streamed partial is there.
    // It is a whole segment's size (pg_receivewal pads with zeros), so PostgreSQL replays it up to
    // the last valid record and then finds no next segment: the end of the archive (Barman's
    // get-wal --partial serves it the same way).
    await repo.wal.fetchStreamPartial(w, resolve(dest), (tmp) => checkSegmentFile(tmp, w, info));
    return true;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw await repo.explain(err);
  } finally {
    await repo.close();
  }
}
