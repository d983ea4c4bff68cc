// Incremental backups in progress, from their leases (leases/backup-running/<id>, written before
// the backup reads the prior manifest, removed when it ends). A lease older than a day is a
// crashed backup and no longer holds retention back. Age is judged by the store's clock.
import { BACKUP_RUNNING_PREFIX } from '../../repository/layout.js';
import type { Storage } from '../../storage/storage.js';

export const RUNNING_LEASE_MAX_AGE_MS = 24 * 3_600_000;

export async function runningBackups(storage: Storage, nowMs = Date.now()): Promise<string[]> {
  const ids: string[] = [];
  for await (const o of storage.list(BACKUP_RUNNING_PREFIX)) {
    if (nowMs - o.lastModified.getTime() < RUNNING_LEASE_MAX_AGE_MS) ids.push(o.key.slice(BACKUP_RUNNING_PREFIX.length));
  }
  return ids;
}
