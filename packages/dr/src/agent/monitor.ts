// Live exposure against the objectives, read from the repositories every interval: age of the
// newest archived WAL (RPO for corruption and instance failure), age of the newest backup, replica
// lag (RPO for region failure), and free space where the repository is a directory.
import { statfs } from 'node:fs/promises';
import type { Config } from '../config/load.js';
import { lagSeconds, missingOn } from '../replication/replicator.js';
import type { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/open-storage.js';
import type { ArchivedWal } from '../repository/wal-archive.js';
import type { BackupSummary } from '../repository/manifest.js';
import { DRILL_KINDS, type DrillKind } from '../repository/drill-catalog.js';
import { describeError } from '../errors.js';
import { walHoles, type WalHoles } from './wal-holes.js';
import { recoveryWindows } from '../commands/restore/recovery-window.js';
import { measureArchiving, type ArchivingMeasurement } from '../monitoring/archiving.js';
import { repositoryUsage, type RepositoryUsage } from '../monitoring/storage-usage.js';
import type { UnarchivedWalClock } from '../monitoring/unarchived-wal.js';
import { estimatedRto, objectiveRows, type ObjectiveExposure } from '../monitoring/objectives.js';
import { highestFence } from '../failover/fence.js';
import type { Storage } from '../storage/storage.js';

export interface Exposure {
  checkedAt: string;
  lastWalArchivedAt?: string;
  walAgeSeconds?: number;
  /** segments and .partial segments in the primary repository */
  walArchivedSegments?: number;
  lastBackupAt?: string;
  backupAgeSeconds?: number;
  /** holes in the archive; a hole after the newest backup caps what recovery reaches */
  wal?: WalHoles;
  replicas: Array<{ name: string; missingObjects: number; lagSeconds: number }>;
  storage?: { freeBytes: number; totalBytes: number };
  /** bytes stored and capacity left, per repository (primary first) */
  repositories?: RepositoryUsage[];
  /** the primary's PITR window: oldest point a restore can reach, newest point a recovery reaches */
  recoverable?: { first?: string; last?: string };
  /** PostgreSQL's archiver and the unarchived WAL (with a cluster section) */
  archiving?: ArchivingMeasurement;
  /** newest measured RTO of a passed drill (restore, recover or verify), the estimate of a recovery's */
  estimatedRtoSeconds?: number;
  /** the newest passed instance drill's RTO (a Patroni failover), for instance failure only */
  instanceRtoSeconds?: number;
  /** the highest fence epoch per repository (0: no fence, never failed over); absent when unreadable */
  fences?: Array<{ repository: string; epoch: number; region?: string }>;
  /** the newest drill evidence per kind (a kind never drilled is absent) */
  drills?: DrillExposure[];
  objectives: ObjectiveExposure[];
  error?: string;
}

export interface DrillExposure {
  kind: DrillKind;
  lastId?: string;
  lastEndedAt?: string;
  lastOk?: boolean;
  lastSuccessAt?: string;
  ageSeconds?: number;
  /** the newest drill's measured RTO and RPO exposure (its evidence), when it measured them */
  rtoSeconds?: number;
  rpoSeconds?: number;
  /** the RTO the newest passed drill measured */
  lastOkRtoSeconds?: number;
  /** evidence that could not be read (it fails authentication, say): the drill counts as not done */
  error?: string;
}

async function drillExposure(repo: Repository, now: Date): Promise<DrillExposure[]> {
  const out: DrillExposure[] = [];
  for (const kind of DRILL_KINDS) {
    try {
      const { last, lastOk } = await repo.drills.latest(kind);
      if (!last) continue;
      out.push({ kind, lastId: last.id, lastEndedAt: last.endTime, lastOk: last.result === 'ok', lastSuccessAt: lastOk?.endTime, ageSeconds: Math.max(0, (now.getTime() - Date.parse(last.endTime)) / 1000), rtoSeconds: last.rtoSeconds, rpoSeconds: last.rpoExposureSeconds, lastOkRtoSeconds: lastOk?.rtoSeconds });
    } catch (err) {
      out.push({ kind, error: describeError(err) });
    }
  }
  return out;
}

export async function measureExposure(cfg: Config, repo: Repository, now = new Date(), archiveClock?: UnarchivedWalClock, streamedLsn?: bigint): Promise<Exposure> {
  const e: Exposure = { checkedAt: now.toISOString(), replicas: [], objectives: [] };
  let newestWal = 0;
  const files: ArchivedWal[] = [];
  for await (const w of repo.wal.list()) {
    files.push(w);
    if (w.kind === 'segment' || w.kind === 'partial') e.walArchivedSegments = (e.walArchivedSegments ?? 0) + 1;
    if (w.kind === 'segment' || w.kind === 'partial' || w.kind === 'stream-partial') newestWal = Math.max(newestWal, w.lastModified.getTime());
  }
  if (newestWal) e.lastWalArchivedAt = new Date(newestWal).toISOString();
  const { manifests } = await repo.backups.listReadable();
  let m: BackupSummary | undefined;
  if (manifests.length) {
    m = manifests[manifests.length - 1]!;
    e.lastBackupAt = m.stopTime;
    e.backupAgeSeconds = Math.max(0, (now.getTime() - Date.parse(m.stopTime)) / 1000);
  }
  const info = await repo.readInfo();
  e.wal = walHoles(files, await repo.wal.histories(files), m, info.walSegmentSize);
  // Exposure is what a recovery reaches, so a hole after the newest backup counts from before it.
  const recoverable = e.wal.recoverableUntil?.getTime() ?? newestWal;
  if (recoverable) e.walAgeSeconds = Math.max(0, (now.getTime() - recoverable) / 1000);
  const windows = recoveryWindows(manifests, files);
  if (windows.length) {
    e.recoverable = {
      first: new Date(Math.min(...windows.map((w) => Date.parse(w.earliest)))).toISOString(),
      last: new Date(e.wal.recoverableUntil?.getTime() ?? Math.max(...windows.map((w) => Date.parse(w.latest)))).toISOString(),
    };
  }
  if (cfg.cluster && archiveClock) e.archiving = await measureArchiving(cfg.cluster.connection, archiveClock, now, streamedLsn);
  e.repositories = [await repositoryUsage('primary', cfg.repositories.primary, repo.storage)];
  e.fences = [];
  // A fence that cannot be read is the fence watch's to report (agent/fence-watch.ts); it only leaves the gauge out here.
  const fenceOf = async (name: string, s: Storage) => {
    const f = await highestFence(s).catch(() => null);
    if (f !== null) e.fences!.push({ repository: name, epoch: f?.epoch ?? 0, region: f?.region });
  };
  await fenceOf('primary', repo.storage);
  for (const name of Object.keys(cfg.repositories).filter((n) => n !== 'primary')) {
    const replica = await openStorage(cfg.repositories[name]!, name);
    try {
      const missing = await missingOn(repo.storage, replica);
      e.replicas.push({ name, missingObjects: missing.length, lagSeconds: lagSeconds(missing, now.getTime()) });
      e.repositories.push(await repositoryUsage(name, cfg.repositories[name]!, replica));
      await fenceOf(name, replica);
    } finally {
      await replica.close();
    }
  }
  e.drills = await drillExposure(repo, now);
  const primary = cfg.repositories.primary;
  if (primary.type === 'fs') {
    const s = await statfs(primary.path);
    e.storage = { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  }
  e.estimatedRtoSeconds = estimatedRto(e.drills);
  e.instanceRtoSeconds = e.drills.find((d) => d.kind === 'instance' && d.lastSuccessAt)?.lastOkRtoSeconds;
  e.objectives = objectiveRows(cfg.objectives, e);
  return e;
}
