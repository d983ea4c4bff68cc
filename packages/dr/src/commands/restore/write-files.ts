// Rebuilds a data directory from a manifest: directories first, then every bundle decoded once,
// in parallel, each file's bytes written and checked against its sha256. Tablespace files go to
// <pgdata>_tblspc/<oid>, which the rewritten tablespace_map points PostgreSQL at.
import { mkdir, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BundleSplitter } from '../../repository/bundle-reader.js';
import { FsdrError, IntegrityError } from '../../errors.js';
import { backupBundleKey } from '../../repository/layout.js';
import type { BackupManifest, ManifestFile } from '../../repository/manifest.js';
import type { PackedData } from '../../repository/packed-pieces.js';
import type { BundleSpool } from './bundle-spool.js';
import type { ObjectStore } from '../../repository/object-store.js';
import type { Config } from '../../config/load.js';
import type { Storage } from '../../storage/storage.js';
import { WorkerPool } from '../../util/worker-pool.js';
import { mapLimit } from '../../util/map-limit.js';
import { OpenAhead, type FileToOpen } from './open-ahead.js';
import { DIRECT_MIN, DirectWriter, writeAll } from '../../util/direct-write.js';

/** Where a restore puts the tablespaces: beside the data directory, one folder per tablespace oid. */
export function tablespaceRoot(pgdata: string): string {
  return `${pgdata}_tblspc`;
}

export function tablespaceDir(pgdata: string, oid: string): string {
  return `${tablespaceRoot(pgdata)}/${oid}`;
}

function destPath(pgdata: string, rel: string): string {
  const m = /^pg_tblspc\/(\d+)(\/.*)?$/.exec(rel);
  if (m) return tablespaceDir(pgdata, m[1]!) + (m[2] ?? '');
  return join(pgdata, rel);
}

export async function extractBundle(objects: ObjectStore, key: string, entries: ManifestFile[], pgdata: string, onBytes: (n: number) => void): Promise<void> {
  // The destination files in the order the bundle holds them (an incremental's runs of blocks of
  // one file follow each other in a bundle: one file, written through one handle).
  const files: FileToOpen[] = [];
  const fileOf = new Map<ManifestFile, number>();
  for (const e of [...entries].sort((x, y) => x.offset - y.offset)) {
    if (files.at(-1)?.path !== destPath(pgdata, e.path)) files.push({ path: destPath(pgdata, e.path), mode: e.mode });
    fileOf.set(e, files.length - 1);
  }
  const opener = new OpenAhead(files);
  let fh: FileHandle | undefined;
  let current = -1;
  let position = 0;
  // A large piece goes past the page cache (util/direct-write.ts), the rest through `fh`.
  let direct: DirectWriter | undefined;
  // Written bytes are counted once the bundle's trailer matched (a damaged bundle counts none).
  let written = 0;
  const splitter = new BundleSplitter(key, entries, {
    begin: async (f) => {
      const i = fileOf.get(f)!;
      if (i !== current) {
        if (fh) opener.release(fh);
        fh = undefined;
        fh = await opener.take(i);
        current = i;
      }
      position = f.fileOffset ?? 0;
      if (f.size >= DIRECT_MIN) direct = DirectWriter.open(files[i]!.path, position, fh!.fd);
    },
    // Each piece (at most the decoder's 256 KiB buffer) is written as it comes, before it is reused.
    // Synchronously: this is a worker thread with nothing else to do meanwhile, and each write
    // was awaited anyway. A thread-pool round trip per write cost an incremental (a write per run
    // of blocks, 43,000 runs) 7.5-8.1 s of file phase against 4.7-5.2 s so.
    data: async (_f, bytes) => {
      written += bytes.length;
      if (direct) return direct.write(bytes);
      writeAll(fh!.fd, bytes, bytes.length, position);
      position += bytes.length;
    },
    end: async () => {
      direct?.finish();
      direct = undefined;
    },
  });
  try {
    await objects.readInto(key, (plain) => splitter.write(plain));
    await splitter.end();
    if (fh) opener.release(fh);
    fh = undefined;
    await opener.finish();
    onBytes(written);
  } catch (err) {
    // No open, write or close of this bundle may still be running when the failure goes up.
    direct?.close();
    if (fh) opener.release(fh);
    await opener.abort();
    throw err;
  }
}

/**
 * Before a byte is written: every bundle the backup reads must exist. An incremental's blocks live
 * in earlier backups' bundles, and a restore that found one gone half-way would have written for nothing.
 */
export async function checkBundlesPresent(storage: Storage, m: { id: string }, files: BundleSpool): Promise<void> {
  const groups = files.bundles();
  // HEADs at once, a few at a time: dozens of round trips one after another delayed the first write.
  const present = await mapLimit(groups, 16, async (g) => (await storage.head(g.key)) !== undefined);
  const g = groups.find((_, k) => !present[k]);
  if (!g) return;
  const whose = g.backup === m.id ? 'its own' : `backup ${g.backup}'s`;
  throw new FsdrError('FSDR_BACKUP_BUNDLE_MISSING', `backup ${m.id} cannot be restored: ${whose} bundle ${g.key}, which holds ${g.count} of its file pieces, is missing`, {
    hint: g.backup === m.id
      ? 'the backup was damaged or partly deleted; restore another backup (--backup) or from a replica repository (--repository)'
      : `backup ${g.backup} was removed or damaged outside fsdr's retention (which keeps what an incremental reads); restore another backup (--backup) or from a replica repository (--repository)`,
  });
}

export type ExtractPool = WorkerPool<{ key: string; pieces: PackedData; pgdata: string }, void>;

/**
 * The worker threads that decode bundles. Started before the backup is chosen, so their module
 * loading and repository opening overlap the main thread's reading of manifests and WAL listing.
 */
export function startExtractPool(source: { config: Config; repository: string; asOf?: string }, processes: number): ExtractPool {
  return new WorkerPool(new URL('./extract-worker.js', import.meta.url), source, processes);
}

export async function writeDataDirectory(pool: ExtractPool, m: Omit<BackupManifest, 'files'>, files: BundleSpool, pgdata: string, onBytes: (n: number) => void): Promise<void> {
  for (const t of m.tablespaces) await mkdir(tablespaceDir(pgdata, t.oid), { recursive: true, mode: 0o700 });
  for (const d of m.directories) await mkdir(destPath(pgdata, d.path), { recursive: true, mode: d.mode & 0o777 });
  const groups = files.bundles();
  // Each file's directory, once (an incremental lists thousands of pieces of a few files: one
  // mkdir each was a thread-pool round trip apiece before any bundle was decoded).
  const dirs = new Set<string>();
  for (const p of files.paths) dirs.add(dirname(destPath(pgdata, p)));
  for (const d of dirs) await mkdir(d, { recursive: true, mode: 0o700 });
  // Bundles are decoded in worker threads (decrypt, decompress and hash run on every core), the
  // costliest first: a large one taken last would leave the other workers idle while it finishes,
  // and so would the bundle of a thousand small files, which is few bytes but many round trips.
  groups.sort((a, b) => b.cost - a.cost);
  // On a failure the pool is closed before the error goes up: no worker may still be writing
  // while restore removes what was written.
  // Each bundle's pieces are read back from the spool when a worker takes it (maps left out).
  await Promise.all(groups.map((g) => pool.runMade(() => ({ key: g.key, pieces: files.take(g.key), pgdata }), onBytes).catch((err: unknown) => {
    // Say which backup of the chain the damaged bundle belongs to: the error's code stays.
    if (!(err instanceof FsdrError) || g.backup === m.id) throw err;
    const whose = ` (a bundle of backup ${g.backup}, which incremental ${m.id} reads ${g.count} file pieces from)`;
    // An integrity failure stays one (restore explains it as tampering when the versions say so).
    if (err instanceof IntegrityError) {
      err.message += whose;
      throw err;
    }
    throw new FsdrError(err.code, `${err.message}${whose}`, {
      hint: err.hint ?? `restore another backup (--backup) or from a replica repository (--repository); fsdr verify --backup ${m.id} lists every damaged object`, cause: err,
    });
  }))).catch(async (err: unknown) => {
    await pool.close();
    throw err;
  });
  await writeFile(join(pgdata, 'backup_label'), m.backupLabel, { mode: 0o600 });
  if (m.tablespaceMap.trim()) {
    const map = m.tablespaces.map((t) => `${t.oid} ${tablespaceDir(pgdata, t.oid)}`).join('\n') + '\n';
    await writeFile(join(pgdata, 'tablespace_map'), map, { mode: 0o600 });
  }
}
