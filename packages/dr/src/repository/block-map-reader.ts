// The block digests of an earlier backup's pieces, for an incremental's worker: inline in older
// manifests, else a slice of the map object the piece points at (layout.backupBlockMapKey). A map
// that is missing or fails authentication costs only a whole copy of its files (every block stored
// again): the backup stays complete, and verify reports the map.
import { IntegrityError } from '../errors.js';
import { ObjectNotFoundError } from '../storage/errors.js';
import { BLOCK_DIGEST_BYTES, inlineDigests } from './block-map.js';
import { backupBlockMapKey } from './layout.js';
import type { ManifestFile } from './manifest.js';
import type { ObjectStore } from './object-store.js';

export class BlockMapReader {
  /** map objects read for the current piece (undefined: unreadable); cleared after each */
  private readonly maps = new Map<string, Buffer | undefined>();

  constructor(private readonly objects: ObjectStore) {}

  /** Reads the map objects `pieces` point at. Returns the keys of those that could not be used. */
  async load(pieces: ManifestFile[]): Promise<string[]> {
    const unusable: string[] = [];
    for (const p of pieces) {
      if (!p.blockMap) continue;
      const key = backupBlockMapKey(p.blockMap.backup, p.blockMap.bundle);
      if (this.maps.has(key)) continue;
      try {
        this.maps.set(key, await this.objects.getBuffer(key));
      } catch (err) {
        if (!(err instanceof ObjectNotFoundError || err instanceof IntegrityError)) throw err;
        this.maps.set(key, undefined);
        unusable.push(key);
      }
    }
    return unusable;
  }

  /** A loaded piece's `count` digests, or undefined when they are not all there. */
  readonly digestsOf = (p: ManifestFile, count: number): Buffer | undefined => {
    if (!p.blockMap) return inlineDigests(p);
    const all = this.maps.get(backupBlockMapKey(p.blockMap.backup, p.blockMap.bundle));
    const from = p.blockMap.first * BLOCK_DIGEST_BYTES;
    const to = from + count * BLOCK_DIGEST_BYTES;
    return all && to <= all.length ? all.subarray(from, to) : undefined;
  };

  clear(): void {
    this.maps.clear();
  }
}
