// The object store of a configured repository, without the rest of Repository (its catalogs,
// WAL archive and tampering scan). Worker threads that only read or write objects (backup
// bundles, restore extraction) open this: each is its own V8 isolate, and every module it loads
// costs it heap (Repository's graph: about 5 MiB per worker, measured).
import { ObjectCodec, type CodecFootprint } from '../codec/object-codec.js';
import type { Config } from '../config/load.js';
import { RepositoryError } from '../errors.js';
import { openStorage, type OpenOptions } from '../storage/open-storage.js';
import { ObjectStore } from './object-store.js';

export interface RepositoryOpenOptions extends OpenOptions {
  /** The codec's buffers and zstd window (default: 1 MiB chunks, zstd's own window for the level). */
  footprint?: CodecFootprint;
}

export async function openObjectStore(cfg: Config, name = 'primary', opts: RepositoryOpenOptions = {}): Promise<ObjectStore> {
  const rc = cfg.repositories[name];
  if (!rc) {
    throw new RepositoryError('FSDR_REPO_UNKNOWN', `no repository named ${name} in ${cfg.source}`, {
      hint: `configured: ${Object.keys(cfg.repositories).join(', ')}`,
    });
  }
  return new ObjectStore(await openStorage(rc, name, opts), new ObjectCodec(cfg.masterKey, cfg.compression, opts.footprint));
}
