// fsdr expire: apply retention. Backups and dumps past the policy go (manifest first, so a backup
// stops being restorable before its data goes), with the WAL no kept backup needs. On a versioned,
// locked bucket a delete leaves a delete marker; versions whose lock has lapsed are purged, and
// versions still locked are reported as pending — never as gone, never as a failure.
import type { Config } from '../../config/load.js';
import { parseWalName, segmentNumber } from '../../postgres/wal-name.js';
import { planRetention, type RetentionPlan } from '../../retention/plan.js';
import { BACKUP_PREFIX, backupManifestKey } from '../../repository/layout.js';
import { DUMP_PREFIX, dumpManifestKey } from '../../repository/dump-catalog.js';
import { Repository } from '../../repository/repository.js';
import { isVersioned } from '../../storage/storage.js';
import { findLeftovers, removable, removeLeftovers, type Leftover } from '../../repository/leftovers.js';

export interface ExpireResult extends RetentionPlan {
  dryRun: boolean;
  deletedObjects: number;
  purgedVersions: number;
  /** Versions still under Object Lock: purged by a later run once the lock lapses. */
  pendingLocked: Array<{ key: string; versionId: string; retainUntil?: string }>;
  /** debris of killed runs old enough that no writer owns it: removed (or, with --dry-run, would be) */
  leftoversRemoved: Leftover[];
  /** debris too young to remove: a writer may still be at work */
  leftoversKept: Leftover[];
}

async function keysUnder(repo: Repository, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of repo.storage.list(prefix)) keys.push(o.key);
  return keys;
}

export async function runExpire(cfg: Config, opts: { dryRun: boolean; now?: Date; repository?: string }): Promise<ExpireResult> {
  const now = opts.now ?? new Date();
  const repo = await Repository.open(cfg, opts.repository ?? 'primary');
  try {
    const info = await repo.readInfo();
    const manifests = await repo.backups.list();
    const dumps = await Promise.all((await repo.dumps.ids()).map((id) => repo.dumps.read(id)));
    const wal = [];
    for await (const w of repo.wal.list()) wal.push({ key: w.key, kind: w.kind, segment: w.kind === 'history' ? undefined : segmentNumber(w, info.walSegmentSize) });
    const plan = planRetention(
      { days: cfg.retention.days, minBackups: cfg.retention.minBackups, dumpDays: cfg.retention.dumpDays ?? cfg.retention.days },
      now,
      manifests.map((m) => ({ id: m.id, stopTime: m.stopTime, references: m.references, startSegment: segmentNumber(parseWalName(m.startWal)!, m.walSegmentSize) })),
      dumps.map((d) => ({ id: d.id, stopTime: d.stopTime })),
      wal,
    );
    const leftovers = await findLeftovers(repo.storage);
    const result: ExpireResult = {
      ...plan, dryRun: opts.dryRun, deletedObjects: 0, purgedVersions: 0, pendingLocked: [],
      leftoversRemoved: leftovers.filter((l) => removable(l, now)), leftoversKept: leftovers.filter((l) => !removable(l, now)),
    };
    if (opts.dryRun) return result;
    await removeLeftovers(repo.storage, result.leftoversRemoved);

    const doomed: string[] = [];
    for (const id of plan.expireBackups) {
      await repo.storage.delete([backupManifestKey(id)]);
      doomed.push(...(await keysUnder(repo, `${BACKUP_PREFIX}${id}/`)));
    }
    for (const id of plan.expireDumps) {
      await repo.storage.delete([dumpManifestKey(id)]);
      doomed.push(...(await keysUnder(repo, `${DUMP_PREFIX}${id}/`)));
    }
    doomed.push(...plan.expireWal);
    await repo.storage.delete(doomed);
    result.deletedObjects = doomed.length + plan.expireBackups.length + plan.expireDumps.length;

    if (isVersioned(repo.storage)) {
      // Purge noncurrent versions of deleted objects (a delete marker is their latest version).
      const deleted = new Map<string, { versionId: string }[]>();
      const hidden = new Set<string>();
      for (const prefix of [BACKUP_PREFIX, DUMP_PREFIX, 'wal/']) {
        for await (const v of repo.storage.listVersions(prefix)) {
          if (v.isDeleteMarker && v.isLatest) hidden.add(v.key);
          else if (!v.isDeleteMarker) deleted.set(v.key, [...(deleted.get(v.key) ?? []), { versionId: v.versionId }]);
        }
      }
      for (const key of hidden) {
        for (const { versionId } of deleted.get(key) ?? []) {
          // Locks are judged by the store's clock, not by --now.
          const r = await repo.storage.versionRetention(key, versionId);
          if (r.retainUntil && r.retainUntil.getTime() > Date.now()) {
            result.pendingLocked.push({ key, versionId, retainUntil: r.retainUntil.toISOString() });
            continue;
          }
          try {
            await repo.storage.deleteVersion(key, versionId);
            result.purgedVersions++;
          } catch (err) {
            if ((err as { code?: string }).code !== 'FSDR_STORAGE_DENIED') throw err;
            result.pendingLocked.push({ key, versionId, retainUntil: r.retainUntil?.toISOString() });
          }
        }
      }
    }
    return result;
  } finally {
    await repo.close();
  }
}
