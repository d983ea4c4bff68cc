// fsdr expire: apply retention. Backups and dumps past the policy go (manifest first, so a backup
// stops being restorable before its data goes), with the WAL no kept backup needs. On a versioned,
// locked bucket a delete leaves a delete marker, recorded in the expire journal; versions under
// fsdr's own markers are purged once their lock lapses (still locked: reported as pending, not a
// failure). Markers someone else made are never purged: over an object retention keeps they are
// an alarm (a deleted kept backup is an attack or a mistake, recoverable by removing the marker).
import type { Config } from '../../config/load.js';
import { parseWalName, segmentNumber } from '../../postgres/wal-name.js';
import { keptByRetention } from '../../retention/foreign.js';
import { planRetention, type RetentionPlan } from '../../retention/plan.js';
import { BACKUP_PREFIX, backupManifestKey, parseBackupManifestKey, parseWalKey } from '../../repository/layout.js';
import { DUMP_PREFIX, dumpManifestKey } from '../../repository/dump-catalog.js';
import { markerId } from '../../repository/expire-journal.js';
import type { BackupManifest } from '../../repository/manifest.js';
import { Repository } from '../../repository/repository.js';
import { undeleteHint, type ForeignDelete } from '../../repository/tampering.js';
import { isVersioned, type DeleteMarkerInfo } from '../../storage/storage.js';
import { runningBackups } from './running-backups.js';

export interface ForeignDeleteReport extends ForeignDelete {
  /** retention keeps this object: someone deleted what must stay */
  alarm: boolean;
  hint: string;
}

export interface ExpireResult extends RetentionPlan {
  dryRun: boolean;
  deletedObjects: number;
  purgedVersions: number;
  /** Versions still under Object Lock: purged by a later run once the lock lapses. */
  pendingLocked: Array<{ key: string; versionId: string; retainUntil?: string }>;
  /** Delete markers fsdr did not create (never purged); `alarm` over objects retention keeps. */
  foreignDeletes: ForeignDeleteReport[];
  alarms: number;
  /** Backups not expired this run because an incremental backup is running (it may reuse them). */
  deferredBy?: string[];
}

async function keysUnder(repo: Repository, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of repo.storage.list(prefix)) keys.push(o.key);
  return keys;
}

function ownerOf(key: string): { backup?: string; dump?: string } {
  const b = /^backups\/([^/]+)\//.exec(key);
  if (b) return { backup: b[1] };
  const d = /^dumps\/([^/]+)\//.exec(key);
  return d ? { dump: d[1] } : {};
}

export async function runExpire(cfg: Config, opts: { dryRun: boolean; now?: Date; repository?: string }): Promise<ExpireResult> {
  const now = opts.now ?? new Date();
  const repo = await Repository.open(cfg, opts.repository ?? 'primary');
  try {
    const info = await repo.readInfo();
    const versioned = isVersioned(repo.storage);
    // Read first: a tampered journal must stop expire before it deletes anything.
    const own = versioned ? await repo.expireJournal.markers() : new Set<string>();
    const foreign = versioned ? (await repo.scanVersions())!.foreignDeletes : [];
    const manifests: BackupManifest[] = await repo.backups.list();
    // A backup whose manifest someone deleted is still judged by retention, from the hidden
    // version: its WAL stays, and its deletion is an alarm while the policy keeps it.
    const unreadable = new Set<string>();
    for (const f of foreign) {
      const id = parseBackupManifestKey(f.key);
      if (!id) continue;
      try {
        manifests.push(await repo.backups.read(id, f.hiddenVersionId));
      } catch {
        unreadable.add(id);
      }
    }
    manifests.sort((a, b) => (a.id < b.id ? -1 : 1));
    const dumps = await Promise.all((await repo.dumps.ids()).map((id) => repo.dumps.read(id)));
    const wal = [];
    for await (const w of repo.wal.list()) wal.push({ key: w.key, kind: w.kind, segment: w.kind === 'history' ? undefined : segmentNumber(w, info.walSegmentSize) });
    // An incremental backup reads the newest manifests and reuses their bundles: while one runs
    // (its lease is younger than a day), expire keeps every backup.
    const running = await runningBackups(repo.storage);
    const plan = planRetention(
      { days: cfg.retention.days, minBackups: running.length ? Number.MAX_SAFE_INTEGER : cfg.retention.minBackups, dumpDays: cfg.retention.dumpDays ?? cfg.retention.days },
      now,
      manifests.map((m) => ({ id: m.id, stopTime: m.stopTime, references: m.references, startSegment: segmentNumber(parseWalName(m.startWal)!, m.walSegmentSize) })),
      dumps.map((d) => ({ id: d.id, stopTime: d.stopTime })),
      wal,
    );
    // Backups someone else deleted are left alone, even past retention.
    const hidden = new Set(foreign.map((f) => ownerOf(f.key).backup).filter((x) => x !== undefined));
    const result: ExpireResult = {
      ...plan, dryRun: opts.dryRun, deletedObjects: 0, purgedVersions: 0, pendingLocked: [], foreignDeletes: [], alarms: 0,
      deferredBy: running.length ? running : undefined,
    };
    for (const f of foreign) {
      const owner = ownerOf(f.key);
      const w = parseWalKey(f.key);
      const wf = w && { kind: w.kind, segment: w.kind === 'history' ? undefined : segmentNumber(w, info.walSegmentSize) };
      const alarm = (owner.backup !== undefined && unreadable.has(owner.backup)) || keptByRetention(plan, { key: f.key, ...owner, wal: wf });
      result.foreignDeletes.push({ ...f, alarm, hint: alarm ? `restore it: ${undeleteHint(repo.storage.description, f)}` : 'past retention anyway; left as it is (not purged: fsdr did not delete it)' });
      if (alarm) result.alarms++;
    }
    if (opts.dryRun) return result;

    const markers: DeleteMarkerInfo[] = [];
    const del = async (keys: string[]) => {
      if (!keys.length) return;
      if (isVersioned(repo.storage)) markers.push(...(await repo.storage.deleteMarking(keys)));
      else await repo.storage.delete(keys);
    };
    const doomed: string[] = [];
    const backupsToDelete = plan.expireBackups.filter((x) => !hidden.has(x));
    for (const id of backupsToDelete) {
      await del([backupManifestKey(id)]);
      doomed.push(...(await keysUnder(repo, `${BACKUP_PREFIX}${id}/`)));
    }
    for (const id of plan.expireDumps) {
      await del([dumpManifestKey(id)]);
      doomed.push(...(await keysUnder(repo, `${DUMP_PREFIX}${id}/`)));
    }
    doomed.push(...plan.expireWal);
    await del(doomed);
    result.deletedObjects = doomed.length + backupsToDelete.length + plan.expireDumps.length;
    // Recorded before any purge: a crash in between leaves markers that look foreign (kept, never
    // purged), which errs on the side of keeping data.
    await repo.expireJournal.record(markers);
    for (const m of markers) own.add(markerId(m.key, m.versionId));

    if (isVersioned(repo.storage)) await purge(repo, own, result);
    return result;
  } finally {
    await repo.close();
  }
}

/** Purge noncurrent versions under fsdr's own delete markers, once the store says the lock lapsed. */
async function purge(repo: Repository, own: Set<string>, result: ExpireResult): Promise<void> {
  if (!isVersioned(repo.storage)) return;
  const storage = repo.storage;
  const versions = new Map<string, { versionId: string }[]>();
  const hidden = new Set<string>();
  for (const prefix of [BACKUP_PREFIX, DUMP_PREFIX, 'wal/']) {
    for await (const v of storage.listVersions(prefix)) {
      if (v.isDeleteMarker && v.isLatest && own.has(markerId(v.key, v.versionId))) hidden.add(v.key);
      else if (!v.isDeleteMarker) versions.set(v.key, [...(versions.get(v.key) ?? []), { versionId: v.versionId }]);
    }
  }
  for (const key of hidden) {
    for (const { versionId } of versions.get(key) ?? []) {
      // Locks are judged by the store's clock, not by --now.
      const r = await storage.versionRetention(key, versionId);
      if (r.retainUntil && r.retainUntil.getTime() > Date.now()) {
        result.pendingLocked.push({ key, versionId, retainUntil: r.retainUntil.toISOString() });
        continue;
      }
      try {
        await storage.deleteVersion(key, versionId);
        result.purgedVersions++;
      } catch (err) {
        if ((err as { code?: string }).code !== 'FSDR_STORAGE_DENIED') throw err;
        result.pendingLocked.push({ key, versionId, retainUntil: r.retainUntil?.toISOString() });
      }
    }
  }
}
