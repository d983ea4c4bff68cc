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
import { tmpdir } from 'node:os';
import { anyUnder, BACKUP_PREFIX, backupRunningKey } from '../../repository/layout.js';
import { freshId, MANIFEST_FORMAT, newBackupId, type BackupManifest, type ManifestBundle } from '../../repository/manifest.js';
import type { PackedManifest } from '../../repository/backup-catalog.js';
import { PackedPieces, type PackedData } from '../../repository/packed-pieces.js';
import type { Repository } from '../../repository/repository.js';
import { openClusterSession } from '../cluster-session.js';
import { Progress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import { WorkerPool } from '../../util/worker-pool.js';
import { walkPgdata, type PgdataFile } from './walk-pgdata.js';
import { attachPrior, carryOver, mapBlocks, partition, PriorUse, tally, unchanged, type PriorIndex, type TaskPiece } from './plan.js';
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
  // A manifest's records (this backup's and its prior's) wait in files under the temporary
  // directory, not in memory: an incremental lists one per run of blocks, without bound.
  const spillDir = tmpdir();
  const spilled: PackedPieces[] = [];
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
      prior = await repo.backups.readPacked(ids[ids.length - 1]!, { spillDir });
      spilled.push(prior.files);
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
    const files = new PackedPieces(undefined, { spillDir });
    spilled.push(files);
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

    // The manifest lists pieces by path, then by offset in the file: sorted on keys read once,
    // as the records are mostly in the spill file (16 bytes a piece).
    const paths = files.pathList();
    const rankOf = new Uint32Array(paths.length);
    Uint32Array.from(paths.keys()).sort((a, b) => (paths[a]! < paths[b]! ? -1 : paths[a]! > paths[b]! ? 1 : 0)).forEach((p, r) => {
      rankOf[p] = r;
    });
    const rank = new Uint32Array(files.count);
    const at = new Float64Array(files.count);
    for (let i = 0; i < files.count; i++) {
      rank[i] = rankOf[files.pathIndex(i)]!;
      at[i] = files.fileOffset(i);
    }
    const order = Uint32Array.from({ length: files.count }, (_, i) => i).sort((a, b) => rank[a]! - rank[b]! || at[a]! - at[b]!);
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
    for (const p of spilled) p.close();
    if (leased) await repo.storage.delete([backupRunningKey(backupId)]).catch(() => undefined);
    await session.close();
  }
}
