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
import { freshId, MANIFEST_FORMAT, newBackupId, type BackupManifest, type ManifestBundle } from '../../repository/manifest.js';
import type { PackedManifest } from '../../repository/backup-catalog.js';
import { PackedPieces, type PackedData } from '../../repository/packed-pieces.js';
import type { Repository } from '../../repository/repository.js';
import { openClusterSession } from '../cluster-session.js';
import { Progress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import type { FilePiece } from './bundle-writer.js';
import { WorkerPool } from '../../util/worker-pool.js';
import { walkPgdata, type PgdataFile } from './walk-pgdata.js';
import { blockMapped } from '../../repository/block-map.js';
import { assertMayWrite } from '../../failover/fence.js';
import { collectNow, collectWhenGrown } from '../../util/young-gc.js';

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

/** The prior backup's pieces of each file (indices into its packed pieces, in file order). */
type PriorIndex = Map<string, number[]>;

/** Files unchanged since before the prior backup started can be taken from it (all their pieces). */
function unchanged(f: PgdataFile, prior: PackedPieces, index: PriorIndex, priorStartMs: number): number[] | undefined {
  const pieces = index.get(f.path);
  if (!pieces) return undefined;
  const size = pieces.reduce((a, i) => a + prior.size(i), 0);
  if (size !== f.size || prior.mtimeMs(pieces[0]!) !== f.mtimeMs) return undefined;
  // A file touched after the prior backup began may have been copied mid-change: copy it again.
  if (f.mtimeMs >= priorStartMs - 1000) return undefined;
  return pieces;
}

/**
 * An unchanged file's piece as this backup records it: the file's mode now, and its block map only
 * while it is of this backup's block size (a manifest has one), else none — the next change copies
 * the file whole, mapped anew. An unchanged piece keeps pointing at the map it was listed in.
 */
export function carryOver(out: PackedPieces, prior: PackedPieces, i: number, mode: number, priorBlockSize: number | undefined, blockSize: number): void {
  out.pushFrom(prior, i, { mode, maps: priorBlockSize === blockSize });
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

/** Marks the pieces of large relation files block-mapped (those on a block boundary). */
export function mapBlocks(groups: FilePiece[][], blockSize: number, minBytes: number): void {
  for (const p of groups.flat()) {
    if (blockMapped(p.file.path, p.file.size, minBytes) && p.start % blockSize === 0) p.blockSize = blockSize;
  }
}

/** A piece as a worker is sent it: the prior pieces over its range packed (bundle-worker.ts unpacks them). */
export type TaskPiece = Omit<FilePiece, 'prior'> & { prior?: PackedData };

/**
 * In an incremental, hands each mapped piece of a task the prior backup's pieces over its range
 * when that map is usable (same block size, every piece mapped): then only its changed blocks are
 * stored. Anything else is copied whole. Made when a worker takes the task, packed: the main
 * thread never makes an object per prior piece (thousands per task after scattered changes).
 */
export function attachPrior(task: FilePiece[], prior: PackedPieces, overOf: (p: FilePiece) => number[] | undefined): TaskPiece[] {
  return task.map((p): TaskPiece => {
    const { prior: _none, ...piece } = p;
    const over = overOf(p);
    if (!over) return piece;
    const packed = new PackedPieces();
    for (const i of over) packed.pushFrom(prior, i);
    return { ...piece, prior: packed.data() };
  });
}

/**
 * The prior pieces of `p`'s file over its range (by binary search: they are in file order), when
 * it is compared block by block against them: mapped now, of the same block size, each of them mapped.
 */
export function priorOver(p: FilePiece, prior: PackedPieces, index: PriorIndex, priorBlockSize: number | undefined): number[] | undefined {
  if (!p.blockSize || priorBlockSize !== p.blockSize) return undefined;
  const was = index.get(p.file.path);
  if (!was) return undefined;
  const end = p.start + p.length;
  const first = (pred: (i: number) => boolean) => {
    let lo = 0;
    let hi = was.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pred(was[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const over = was.slice(first((i) => prior.fileOffset(i) + prior.size(i) > p.start), first((i) => prior.fileOffset(i) >= end));
  return over.length && over.every((i) => prior.hasBlockMap(i)) ? over : undefined;
}

/**
 * Gives back the prior backup's records as the tasks that compare against them are handed out.
 * Tasks and the prior manifest both go in path and file order, so once every task still to come
 * reads past a record, nothing reads it again: the prior's records and this backup's are not both
 * held whole at the end (96 bytes a run of blocks each: 7 + 9 MiB for an incremental of 87,000 runs).
 */
class PriorUse {
  /** each piece's prior pieces, found before any record is released (the search reads others) */
  private readonly over = new Map<FilePiece, number[]>();
  /** lowest prior index any task from k on reads (Infinity: none) */
  private readonly from: number[];
  private readonly done: boolean[];
  private next = 0;

  constructor(groups: FilePiece[][], index: PriorIndex, private readonly prior: PackedPieces, priorBlockSize: number | undefined) {
    this.from = new Array<number>(groups.length + 1).fill(Infinity);
    for (let k = groups.length - 1; k >= 0; k--) {
      let low = this.from[k + 1]!;
      for (const p of groups[k]!) {
        const over = priorOver(p, prior, index, priorBlockSize);
        if (!over) continue;
        this.over.set(p, over);
        low = Math.min(low, over[0]!);
      }
      this.from[k] = low;
    }
    this.done = new Array<boolean>(groups.length).fill(false);
  }

  readonly overOf = (p: FilePiece): number[] | undefined => this.over.get(p);

  /** Task `k` was made: what no task still to come reads is given back. */
  handed(k: number, task: FilePiece[]): void {
    for (const p of task) this.over.delete(p);
    this.done[k] = true;
    while (this.next < this.done.length && this.done[this.next]) this.next++;
    this.prior.release(Math.min(this.from[this.next]!, this.prior.count));
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

/** What the manifest says of its pieces as a whole, counted without making them. */
function tally(files: PackedPieces, backupId: string) {
  let bytes = 0;
  let mapped = 0;
  let blockNewBytes = 0;
  const blockFiles = new Set<string>();
  // Blocks and whole files this backup takes from earlier backups' bundles; unchanged mapped
  // pieces point at the map an earlier backup wrote: retention keeps both.
  const references = new Set<string>([backupId]);
  const borrowedBundles = new Set<string>();
  for (let i = 0; i < files.count; i++) {
    const backup = files.backup(i);
    bytes += files.size(i);
    references.add(backup);
    if (backup !== backupId) borrowedBundles.add(backupBundleKey(backup, files.bundle(i)));
    const map = files.mapBackup(i);
    if (map) references.add(map);
    if (files.hasBlockMap(i)) {
      mapped++;
      blockFiles.add(files.path(i));
      if (backup === backupId) blockNewBytes += files.size(i);
    }
  }
  return { bytes, mapped, blockFiles: blockFiles.size, blockNewBytes, references: [...references].sort(), borrowedBundles };
}

/** A worker's result: the bundle, and the pieces it wrote, packed (bundle-worker.ts). */
export interface BundleResult {
  bundle: ManifestBundle;
  files: PackedData;
  unusableMaps: Array<{ key: string; path: string }>;
}

export async function runBackup(cfg: Config, opts: BackupOptions): Promise<Omit<BackupManifest, 'files'>> {
  await assertMayWrite(cfg, 'backup');
  const session = await openClusterSession(cfg, 'backup');
  const { repo, client, id, cluster } = session;
  const backupId = await freshId((at) => newBackupId(opts.type, at), (taken) => anyUnder(repo.storage, `${BACKUP_PREFIX}${taken}/`));
  let leased = false;
  try {
    await checkPgdata(client, cluster.pgdata, id);
    let prior: PackedManifest | undefined;
    if (opts.type === 'incr') {
      // Before reading the prior manifest: tells a concurrent expire not to drop what we reuse.
      await repo.storage.put(backupRunningKey(backupId), Readable.from([Buffer.from(JSON.stringify({ startedAt: new Date().toISOString() }))]), { ifAbsent: true, unlocked: true });
      leased = true;
      const ids = await repo.backups.ids();
      if (!ids.length) throw new FsdrError('FSDR_NO_PRIOR_BACKUP', 'an incremental backup needs a prior backup, and there is none', { hint: 'take a full backup first: fsdr backup --type full' });
      // Packed: a prior incremental lists a piece per run of blocks (packed-pieces.ts).
      prior = await repo.backups.readPacked(ids[ids.length - 1]!);
    }
    const session = new BackupSession(client, id.pgVersionNum);
    const t0 = Date.now();
    const start = await session.start(`fsdr ${backupId}`);
    log().debug({ backupId, ms: Date.now() - t0 }, 'backup start (checkpoint)');
    const listing = await walkPgdata(cluster.pgdata);

    const blockSize = opts.blockSize ?? cfg.backup.blockSizeKiB * 1024;
    const priorPieces = prior?.files ?? new PackedPieces();
    const priorBlockSize = prior?.manifest.blockSize;
    const priorIndex: PriorIndex = new Map();
    for (let i = 0; i < priorPieces.count; i++) {
      // Pushed, not copied: an incremental's file can be thousands of runs (copying was quadratic).
      const path = priorPieces.path(i);
      const pieces = priorIndex.get(path);
      if (pieces) pieces.push(i);
      else priorIndex.set(path, [i]);
    }
    const priorStart = prior ? Date.parse(prior.manifest.startTime) : 0;
    const priorId = prior?.manifest.id;
    prior = undefined;
    // This backup's pieces: those carried over now, those the workers write as they finish.
    const files = new PackedPieces();
    const toCopy: PgdataFile[] = [];
    for (const f of listing.files) {
      const p = priorId ? unchanged(f, priorPieces, priorIndex, priorStart) : undefined;
      if (p) for (const i of p) carryOver(files, priorPieces, i, f.mode, priorBlockSize, blockSize);
      else toCopy.push(f);
    }
    const groups = partition(toCopy, opts.bundleBytes);
    mapBlocks(groups, blockSize, opts.blockMinBytes ?? cfg.backup.blockMinFileKiB * 1024);
    collectNow();
    const progress = new Progress(`backup ${backupId}`, toCopy.reduce((a, f) => a + f.size, 0), opts.quiet);
    const bundles: ManifestBundle[] = [];
    // Bundles are written by worker threads: reading, hashing, zstd and AES-GCM on every core.
    const pool = new WorkerPool<{ backupId: string; index: number; files: TaskPiece[] }, BundleResult>(
      new URL('./bundle-worker.js', import.meta.url), { config: cfg }, Math.max(1, Math.min(opts.processes, groups.length)),
    );
    try {
      // PostgreSQL ends the backup with its session: stop copying at once (closing the pool
      // stops the workers), and no manifest is ever written for it.
      const priorUse = new PriorUse(groups, priorIndex, priorPieces, priorBlockSize);
      await Promise.race([
        Promise.all(groups.map((_, index) => index).map(async (index) => {
          // Made when a worker takes it, and dropped here: the main thread keeps no copy.
          const task = () => {
            const pieces = groups[index]!.splice(0);
            const files = attachPrior(pieces, priorPieces, priorUse.overOf);
            priorUse.handed(index, pieces);
            return { backupId, index, files };
          };
          const r = await pool.runMade(task, (n) => progress.add(n));
          bundles.push(r.bundle);
          const written = new PackedPieces(r.files);
          for (let i = 0; i < written.count; i++) files.pushFrom(written, i);
          // What came and went for this task (its message, the result) is garbage now.
          collectWhenGrown(4 << 20);
          for (const u of r.unusableMaps) log().warn(u, `block map ${u.key} is missing or damaged: ${u.path} was copied whole (fsdr verify names what else is damaged)`);
        })),
        sessionLost(client),
      ]);
    } finally {
      await pool.close();
    }
    priorIndex.clear();
    progress.finish();
    log().debug({ backupId, ms: Date.now() - t0 }, 'files copied');

    const stop = await session.stop();
    const stopWal = lsnToSegment(start.timeline, parseLsn(stop.lsn), id.walSegmentSize);
    // The manifest may only exist once the WAL that makes the backup consistent is archived.
    log().debug({ backupId, ms: Date.now() - t0 }, 'backup stopped');
    await waitForWal(repo, stopWal, opts.archiveTimeoutMs ?? 120_000);
    log().debug({ backupId, ms: Date.now() - t0 }, 'stop WAL archived');

    // The manifest lists pieces by path, then by offset in the file.
    const order = Uint32Array.from({ length: files.count }, (_, i) => i).sort((a, b) => {
      const pa = files.path(a);
      const pb = files.path(b);
      return pa < pb ? -1 : pa > pb ? 1 : files.fileOffset(a) - files.fileOffset(b);
    });
    bundles.sort((a, b) => a.index - b.index);
    const t = tally(files, backupId);
    const manifest: Omit<BackupManifest, 'files'> = {
      format: MANIFEST_FORMAT,
      id: backupId,
      type: opts.type,
      prior: priorId,
      references: t.references,
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
      bundles,
      ...(t.mapped ? { blockSize } : {}),
      totals: {
        files: files.pathList().length,
        bytes: t.bytes,
        storedBytes: bundles.reduce((a, b) => a + b.storedSize, 0),
        newBytes: bundles.reduce((a, b) => a + b.size, 0),
        ...(t.mapped ? { blockFiles: t.blockFiles, blockNewBytes: t.blockNewBytes } : {}),
      },
    };
    // An incremental reads bundles of earlier backups: if retention removed one while this backup
    // ran, fail now rather than write a manifest that cannot be restored.
    for (const key of t.borrowedBundles) {
      if (!(await repo.storage.head(key))) {
        throw new FsdrError('FSDR_PRIOR_BUNDLE_GONE', `bundle ${key} of the prior backup disappeared during this incremental backup`, {
          hint: 'take a full backup (fsdr backup --type full); retention may have expired the prior backup meanwhile',
        });
      }
    }
    await repo.backups.write(manifest, function* () {
      for (const i of order) yield files.get(i);
    });
    return manifest;
  } finally {
    if (leased) await repo.storage.delete([backupRunningKey(backupId)]).catch(() => undefined);
    await session.close();
  }
}
