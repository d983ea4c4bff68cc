// A read-only view of a versioned store as it was at a time T: for each key, the newest version
// whose LastModified is not after T (none, or a delete marker, means absent). Ransomware with the
// repository's own credentials can overwrite every object and add delete markers, but cannot
// remove locked versions: reading through this view restores from the state before the attack,
// with everything above storage unchanged. Writes through it are refused.
import type { Readable } from 'node:stream';
import { FsdrError } from '../errors.js';
import { ObjectNotFoundError } from './errors.js';
import type { ObjectInfo, ObjectVersionInfo, Storage, StorageFeatures, VersionedStorage } from './storage.js';

/** The version of each key current at `asOf` (markers included), in key order. */
export async function versionsAsOf(inner: VersionedStorage, prefix: string, asOf: Date, exactKey?: string): Promise<Map<string, ObjectVersionInfo>> {
  const t = asOf.getTime();
  const best = new Map<string, ObjectVersionInfo>();
  for await (const v of inner.listVersions(prefix)) {
    if (exactKey !== undefined && v.key !== exactKey) continue;
    if (v.lastModified.getTime() > t) continue;
    const cur = best.get(v.key);
    // Versions of a key are listed newest first; on equal times the earlier-listed one stays,
    // except that the latest version of the key always wins a tie.
    if (!cur || v.lastModified.getTime() > cur.lastModified.getTime() || (v.isLatest && v.lastModified.getTime() === cur.lastModified.getTime())) best.set(v.key, v);
  }
  return best;
}

export class AsOfStorage implements Storage {
  readonly kind: string;
  readonly description: string;
  readonly features: StorageFeatures;

  constructor(readonly inner: VersionedStorage, readonly asOf: Date) {
    this.kind = inner.kind;
    this.description = `${inner.description} as of ${asOf.toISOString()}`;
    this.features = { ...inner.features, conditionalPut: false };
  }

  private async version(key: string): Promise<ObjectVersionInfo | undefined> {
    const v = (await versionsAsOf(this.inner, key, this.asOf, key)).get(key);
    return v && !v.isDeleteMarker ? v : undefined;
  }

  async get(key: string): Promise<Readable> {
    const v = await this.version(key);
    if (!v) throw new ObjectNotFoundError(key, this.description);
    return this.inner.getVersion(key, v.versionId);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const v = await this.version(key);
    return v && { key, size: v.size ?? 0, lastModified: v.lastModified, versionId: v.versionId };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const all = await versionsAsOf(this.inner, prefix, this.asOf);
    for (const key of [...all.keys()].sort()) {
      const v = all.get(key)!;
      if (!v.isDeleteMarker) yield { key, size: v.size ?? 0, lastModified: v.lastModified, versionId: v.versionId };
    }
  }

  private refuse(op: string): never {
    throw new FsdrError('FSDR_AS_OF_READ_ONLY', `cannot ${op} through ${this.description}: an as-of view is read-only`, {
      hint: 'drop --as-of to write to the repository',
    });
  }

  async put(key: string, body: Readable): Promise<ObjectInfo> {
    body.destroy();
    this.refuse(`write ${key}`);
  }

  async delete(keys: string[]): Promise<void> {
    this.refuse(`delete ${keys[0] ?? 'objects'}`);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
