// The backups of a repository. What exists is learned by listing: a backup is complete exactly
// when its manifest exists (no catalog file is ever updated in place).
import { Readable } from 'node:stream';
import { IntegrityError } from '../errors.js';
import { BACKUP_PREFIX, backupManifestKey, parseBackupManifestKey } from './layout.js';
import type { BackupManifest, BackupSummary } from './manifest.js';
import type { ObjectStore } from './object-store.js';

export class BackupCatalog {
  constructor(private readonly objects: ObjectStore) {}

  /** Ids of complete backups, oldest first. */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const o of this.objects.storage.list(BACKUP_PREFIX)) {
      const id = parseBackupManifestKey(o.key);
      if (id) ids.push(id);
    }
    return ids.sort();
  }

  /** A manifest; `versionId` reads an earlier version (one hidden by a delete marker). */
  async read(id: string, versionId?: string): Promise<BackupManifest> {
    const key = backupManifestKey(id);
    const bytes = versionId ? await this.objects.getVersionBuffer(key, versionId) : await this.objects.getBuffer(key);
    let m: BackupManifest;
    try {
      m = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new IntegrityError(key, 'is not valid JSON');
    }
    if (m.id !== id) throw new IntegrityError(key, `names backup ${m.id} (moved or replaced)`);
    return m;
  }

  /** Every complete backup's manifest, oldest first. */
  async list(): Promise<BackupManifest[]> {
    const out: BackupManifest[] = [];
    for (const id of await this.ids()) out.push(await this.read(id));
    return out;
  }

  /**
   * Every manifest that can be read, and the ones that cannot (with why): one damaged manifest
   * must not stop a restore from another backup, but must never be skipped silently either.
   * Retention keeps using list(), which fails on any: deleting on a partial view is unsafe.
   * Summaries only (read(id) has the files): memory stays one manifest's, however many backups.
   */
  async listReadable(): Promise<{ manifests: BackupSummary[]; unreadable: Array<{ id: string; error: Error }> }> {
    const manifests: BackupSummary[] = [];
    const unreadable: Array<{ id: string; error: Error }> = [];
    for (const id of await this.ids()) {
      try {
        const { files: _files, ...summary } = await this.read(id);
        manifests.push(summary);
      } catch (err) {
        // Damage is reported per manifest; an unreachable store or a wrong key fails the whole listing.
        if (!(err instanceof IntegrityError)) throw err;
        unreadable.push({ id, error: err });
      }
    }
    return { manifests, unreadable };
  }

  async write(m: BackupManifest): Promise<void> {
    await this.objects.put(backupManifestKey(m.id), Readable.from([Buffer.from(JSON.stringify(m))]));
  }
}
