// Purging noncurrent versions under fsdr's own delete markers, once the store says the lock
// lapsed (locks are judged by the store's clock, not by --now). Versions under anyone else's
// markers are never touched.
import { markerId } from '../../repository/expire-journal.js';
import { BACKUP_PREFIX } from '../../repository/layout.js';
import { DUMP_PREFIX } from '../../repository/dump-catalog.js';
import type { VersionedStorage } from '../../storage/storage.js';

export interface PurgeResult {
  purgedVersions: number;
  pendingLocked: Array<{ key: string; versionId: string; retainUntil?: string }>;
}

export async function purgeOwn(storage: VersionedStorage, own: Set<string>, result: PurgeResult): Promise<void> {
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
