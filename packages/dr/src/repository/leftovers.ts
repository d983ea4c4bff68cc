// What killed or failed runs leave in a repository: temp files of interrupted writes, and backups
// that never got their manifest (a kill, a full disk). Neither is ever restorable, both take space;
// verify names them and expire removes those old enough that no running writer can own them.
import { BACKUP_PREFIX, backupManifestKey } from './layout.js';
import { isVersioned, type Storage, type VersionedStorage } from '../storage/storage.js';

async function hadVersions(storage: VersionedStorage, key: string): Promise<boolean> {
  for await (const v of storage.listVersions(key)) if (v.key === key) return true;
  return false;
}

/** A backup with no manifest whose newest object is older than this has no live writer. */
export const ABANDONED_BACKUP_MS = 24 * 3600_000;
/** A temp file older than this belongs to no write in progress (one object takes minutes at most). */
export const STALE_TEMP_MS = 3600_000;

export interface Leftover {
  kind: 'temp-file' | 'abandoned-backup';
  /** the temp file's key, or the backup's id */
  name: string;
  objects: string[];
  bytes: number;
  newest: Date;
}

export async function findLeftovers(storage: Storage): Promise<Leftover[]> {
  const out: Leftover[] = [];
  for await (const t of storage.leftovers?.() ?? []) out.push({ kind: 'temp-file', name: t.key, objects: [t.key], bytes: t.size, newest: t.lastModified });
  const byBackup = new Map<string, Leftover & { manifest: boolean }>();
  for await (const o of storage.list(BACKUP_PREFIX)) {
    const id = o.key.slice(BACKUP_PREFIX.length).split('/')[0]!;
    const b = byBackup.get(id) ?? { kind: 'abandoned-backup' as const, name: id, objects: [], bytes: 0, newest: new Date(0), manifest: false };
    if (o.key === backupManifestKey(id)) b.manifest = true;
    b.objects.push(o.key);
    b.bytes += o.size;
    if (o.lastModified > b.newest) b.newest = o.lastModified;
    byBackup.set(id, b);
  }
  for (const { manifest, ...b } of byBackup.values()) {
    if (manifest) continue;
    // On a versioned store "no current manifest" may be a deleted one (an attack, or a mistake
    // that is still recoverable): only a backup whose manifest never existed is debris.
    if (isVersioned(storage) && (await hadVersions(storage, backupManifestKey(b.name)))) continue;
    out.push(b);
  }
  return out;
}

/** Leftovers no running writer can still own, by age. */
export function removable(l: Leftover, now: Date): boolean {
  const age = now.getTime() - l.newest.getTime();
  return age > (l.kind === 'temp-file' ? STALE_TEMP_MS : ABANDONED_BACKUP_MS);
}

export async function removeLeftovers(storage: Storage, ls: Leftover[]): Promise<void> {
  for (const l of ls) {
    if (l.kind === 'temp-file') await storage.removeLeftover?.(l.name);
    else await storage.delete(l.objects);
  }
}
