// fsdr backup: a physical base backup of the running cluster into the repository. Files are read
// straight from pgdata in parallel bundles through the codec; the manifest is written last, and
// only once the WAL up to the stop LSN is in the repository, so a backup is restorable exactly
// when its manifest exists. An incremental reuses unchanged files whole and, for large relation
// files, the unchanged blocks of changed ones (block-map.ts): it stores only the blocks that changed.
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { BackupSession } from '../../postgres/backup-session.js';
import { sessionLost } from '../../postgres/cluster.js';
import { lsnToSegment, parseLsn } from '../../postgres/lsn.js';
import { parseWalName } from '../../postgres/wal-name.js';
import { checkPgdata } from '../../postgres/pgdata-check.js';
import { Readable } from 'node:stream';
import { anyUnder, BACKUP_PREFIX, backupBundleKey, backupRunningKey } from '../../repository/layout.js';
import { freshId, MANIFEST_FORMAT, newBackupId, type BackupManifest, type ManifestBundle, type ManifestFile } from '../../repository/manifest.js';
import type { Repository } from '../../repository/repository.js';
import { openClusterSession } from '../cluster-session.js';
import { Progress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import type { FilePiece, writeBundle } from './bundle-writer.js';
import { WorkerPool } from '../../util/worker-pool.js';
import { walkPgdata, type PgdataFile } from './walk-pgdata.js';
import { blockMapped, hasBlockMap } from '../../repository/block-map.js';
import { assertMayWrite } from '../../failover/fence.js';
import { collectNow } from '../../util/young-gc.js';

export interface BackupOptions {
  type: 'full' | 'incr';
  processes: number;
  bundleBytes: number;
  quiet?: boolean;
  /** How long to wait for the stop segment to reach the repository. */
  archiveTimeoutMs?: number;
  /** Block map: bytes per block, and the smallest relation file mapped (0: none); default from backup.* config. */
  blockSize?: number;
  blockMinBytes?: number;
}

/** Files unchanged since before the prior backup started can be taken from it (all their pieces). */
function unchanged(f: PgdataFile, prior: Map<string, ManifestFile[]>, priorStartMs: number): ManifestFile[] | undefined {
  const pieces = prior.get(f.path);
  if (!pieces) return undefined;
  const size = pieces.reduce((a, p) => a + p.size, 0);
  if (size !== f.size || pieces[0]!.mtimeMs !== f.mtimeMs) return undefined;
  // A file touched after the prior backup began may have been copied mid-change: copy it again.
  if (f.mtimeMs >= priorStartMs - 1000) return undefined;
  return pieces;
}

/**
 * An unchanged file's piece as this backup records it: its block map only while it is of this
 * backup's block size (a manifest has one), else none — the next change copies the file whole, mapped anew.
 */
export function carriedOver(piece: ManifestFile, mode: number, priorBlockSize: number | undefined, blockSize: number): ManifestFile {
  const { blocks, blockMap, ...rest } = piece;
  if (priorBlockSize !== blockSize) return { ...rest, mode };
  return { ...rest, mode, ...(blocks !== undefined ? { blocks } : {}), ...(blockMap ? { blockMap } : {}) };
}

/**
 * Pieces of about `bundleBytes` each, packed into bundles of about `bundleBytes`: small files
 * share a bundle, a large file spreads over several bundles (and so over several workers).
 */
export function partition(files: PgdataFile[], bundleBytes: number): FilePiece[][] {
  const bundles: FilePiece[][] = [];
  let cur: FilePiece[] = [];
  let size = 0;
  const add = (p: FilePiece) => {
    if (cur.length && size + p.length > bundleBytes) {
      bundles.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(p);
    size += p.length;
  };
  for (const f of files) {
    if (f.size <= bundleBytes) add({ file: f, start: 0, length: f.size });
    else for (let start = 0; start < f.size; start += bundleBytes) add({ file: f, start, length: Math.min(bundleBytes, f.size - start) });
  }
  if (cur.length) bundles.push(cur);
  return bundles;
}

/**
 * Marks the pieces of large relation files block-mapped and, in an incremental, hands each the
 * prior backup's map over its range when that map is usable (same block size, every piece mapped):
 * then only its changed blocks are stored. Anything else is copied whole, as before.
 */
export function mapBlocks(groups: FilePiece[][], blockSize: number, minBytes: number, prior: Map<string, ManifestFile[]>, priorBlockSize: number | undefined): void {
  for (const p of groups.flat()) {
    if (!blockMapped(p.file.path, p.file.size, minBytes) || p.start % blockSize) continue;
    p.blockSize = blockSize;
    const was = prior.get(p.file.path);
    if (priorBlockSize !== blockSize || !was || was.some((w) => !hasBlockMap(w))) continue;
    const end = p.start + p.length;
    p.prior = was.filter((w) => (w.fileOffset ?? 0) < end && (w.fileOffset ?? 0) + w.size > p.start);
  }
}

async function waitForWal(repo: Repository, segment: string, timeoutMs: number): Promise<void> {
  const w = parseWalName(segment)!;
  const deadline = Date.now() + timeoutMs;
  while (!(await repo.wal.head(w))) {
    if (Date.now() > deadline) {
      throw new FsdrError('FSDR_BACKUP_WAL_MISSING', `WAL segment ${segment}, needed to make the backup consistent, did not reach the repository within ${timeoutMs / 1000}s`, {
        hint: "check archive_mode = on and archive_command = 'fsdr wal-push %p' (pg_stat_archiver shows failures)",
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runBackup(cfg: Config, opts: BackupOptions): Promise<BackupManifest> {
  await assertMayWrite(cfg, 'backup');
  const session = await openClusterSession(cfg, 'backup');
  const { repo, client, id, cluster } = session;
  const backupId = await freshId((at) => newBackupId(opts.type, at), (taken) => anyUnder(repo.storage, `${BACKUP_PREFIX}${taken}/`));
  let leased = false;
  try {
    await checkPgdata(client, cluster.pgdata, id);
    let prior: BackupManifest | undefined;
    if (opts.type === 'incr') {
      // Before reading the prior manifest: tells a concurrent expire not to drop what we reuse.
      await repo.storage.put(backupRunningKey(backupId), Readable.from([Buffer.from(JSON.stringify({ startedAt: new Date().toISOString() }))]), { ifAbsent: true, unlocked: true });
      leased = true;
      const ids = await repo.backups.ids();
      if (!ids.length) throw new FsdrError('FSDR_NO_PRIOR_BACKUP', 'an incremental backup needs a prior backup, and there is none', { hint: 'take a full backup first: fsdr backup --type full' });
      prior = await repo.backups.read(ids[ids.length - 1]!);
    }
    const session = new BackupSession(client, id.pgVersionNum);
    const t0 = Date.now();
    const start = await session.start(`fsdr ${backupId}`);
    log().debug({ backupId, ms: Date.now() - t0 }, 'backup start (checkpoint)');
    const listing = await walkPgdata(cluster.pgdata);

    const blockSize = opts.blockSize ?? cfg.backup.blockSizeKiB * 1024;
    const priorFiles = new Map<string, ManifestFile[]>();
    for (const f of prior?.files ?? []) {
      // Pushed, not copied: an incremental's file can be thousands of runs (copying was quadratic).
      const pieces = priorFiles.get(f.path);
      if (pieces) pieces.push(f);
      else priorFiles.set(f.path, [f]);
    }
    const priorStart = prior ? Date.parse(prior.startTime) : 0;
    const reused: ManifestFile[] = [];
    const toCopy: PgdataFile[] = [];
    for (const f of listing.files) {
      const p = prior ? unchanged(f, priorFiles, priorStart) : undefined;
      if (p) reused.push(...p.map((piece) => carriedOver(piece, f.mode, prior!.blockSize, blockSize)));
      else toCopy.push(f);
    }
    const groups = partition(toCopy, opts.bundleBytes);
    mapBlocks(groups, blockSize, opts.blockMinBytes ?? cfg.backup.blockMinFileKiB * 1024, priorFiles, prior?.blockSize);
    // The plan is made: of the prior manifest only the runs each task compares against are still
    // needed, and they go to the workers with their tasks. Free the rest (MiB for an incremental's
    // manifest) before the workers' buffers join it.
    const priorId = prior?.id;
    prior = undefined;
    priorFiles.clear();
    collectNow();
    const progress = new Progress(`backup ${backupId}`, toCopy.reduce((a, f) => a + f.size, 0), opts.quiet);
    const files: ManifestFile[] = [...reused];
    const bundles: ManifestBundle[] = [];
    // Bundles are written by worker threads: reading, hashing, zstd and AES-GCM on every core.
    const pool = new WorkerPool<{ backupId: string; index: number; files: FilePiece[] }, Awaited<ReturnType<typeof writeBundle>>>(
      new URL('./bundle-worker.js', import.meta.url), { config: cfg }, Math.max(1, Math.min(opts.processes, groups.length)),
    );
    try {
      // PostgreSQL ends the backup with its session: stop copying at once (closing the pool
      // stops the workers), and no manifest is ever written for it.
      await Promise.race([
        Promise.all(groups.map((_, index) => index).map(async (index) => {
          // Handed over when a worker takes it, and dropped here: the main thread keeps no copy.
          const r = await pool.runMade(() => ({ backupId, index, files: groups[index]!.splice(0) }), (n) => progress.add(n));
          bundles.push(r.bundle);
          files.push(...r.files);
          for (const u of r.unusableMaps) log().warn(u, `block map ${u.key} is missing or damaged: ${u.path} was copied whole (fsdr verify names what else is damaged)`);
        })),
        sessionLost(client),
      ]);
    } finally {
      await pool.close();
    }
    progress.finish();
    log().debug({ backupId, ms: Date.now() - t0 }, 'files copied');

    const stop = await session.stop();
    const stopWal = lsnToSegment(start.timeline, parseLsn(stop.lsn), id.walSegmentSize);
    // The manifest may only exist once the WAL that makes the backup consistent is archived.
    log().debug({ backupId, ms: Date.now() - t0 }, 'backup stopped');
    await waitForWal(repo, stopWal, opts.archiveTimeoutMs ?? 120_000);
    log().debug({ backupId, ms: Date.now() - t0 }, 'stop WAL archived');

    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : (a.fileOffset ?? 0) - (b.fileOffset ?? 0)));
    bundles.sort((a, b) => a.index - b.index);
    const mapped = files.filter(hasBlockMap);
    // Blocks and whole files this backup takes from earlier backups' bundles.
    const borrowed = files.filter((f) => f.backup !== backupId);
    // Unchanged mapped pieces point at the map an earlier backup wrote: retention keeps it too.
    const mapsOf = files.flatMap((f) => (f.blockMap ? [f.blockMap.backup] : []));
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      id: backupId,
      type: opts.type,
      prior: priorId,
      references: [...new Set([backupId, ...borrowed.map((f) => f.backup), ...mapsOf])].sort(),
      systemIdentifier: id.systemIdentifier,
      pgVersion: id.pgVersion,
      pgVersionNum: id.pgVersionNum,
      walSegmentSize: id.walSegmentSize,
      timeline: start.timeline,
      startLsn: start.lsn,
      stopLsn: stop.lsn,
      startWal: lsnToSegment(start.timeline, parseLsn(start.lsn), id.walSegmentSize),
      stopWal,
      startTime: new Date(start.time).toISOString(),
      stopTime: new Date(stop.time).toISOString(),
      label: `fsdr ${backupId}`,
      backupLabel: stop.backupLabel,
      tablespaceMap: stop.tablespaceMap,
      directories: listing.directories,
      tablespaces: listing.tablespaces,
      files,
      bundles,
      ...(mapped.length ? { blockSize } : {}),
      totals: {
        files: new Set(files.map((f) => f.path)).size,
        bytes: files.reduce((a, f) => a + f.size, 0),
        storedBytes: bundles.reduce((a, b) => a + b.storedSize, 0),
        newBytes: bundles.reduce((a, b) => a + b.size, 0),
        ...(mapped.length ? { blockFiles: new Set(mapped.map((f) => f.path)).size, blockNewBytes: mapped.filter((f) => f.backup === backupId).reduce((a, f) => a + f.size, 0) } : {}),
      },
    };
    // An incremental reads bundles of earlier backups: if retention removed one while this backup
    // ran, fail now rather than write a manifest that cannot be restored.
    for (const key of new Set(borrowed.map((f) => backupBundleKey(f.backup, f.bundle)))) {
      if (!(await repo.storage.head(key))) {
        throw new FsdrError('FSDR_PRIOR_BUNDLE_GONE', `bundle ${key} of the prior backup disappeared during this incremental backup`, {
          hint: 'take a full backup (fsdr backup --type full); retention may have expired the prior backup meanwhile',
        });
      }
    }
    await repo.backups.write(manifest);
    return manifest;
  } finally {
    if (leased) await repo.storage.delete([backupRunningKey(backupId)]).catch(() => undefined);
    await session.close();
  }
}
