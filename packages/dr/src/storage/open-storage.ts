// Builds the Storage for a configured repository. Backends are imported lazily so that a
// wal-push into a directory never loads the AWS SDK (start-up time is paid per WAL segment).
import type { RepositoryConfig } from '../config/schema.js';
import { FsdrError } from '../errors.js';
import type { Storage } from './storage.js';

export interface OpenOptions {
  /** Read the repository as it was at this time (versioned S3 only; read-only). */
  asOf?: Date;
}

/** `name`: the repository's key under `repositories` (named in error hints). */
export async function openStorage(cfg: RepositoryConfig, name?: string, opts: OpenOptions = {}): Promise<Storage> {
  if (cfg.type === 'fs') {
    if (opts.asOf) {
      throw new FsdrError('FSDR_AS_OF_UNVERSIONED', `--as-of needs a versioned repository; ${cfg.path} is a directory, which keeps no earlier versions`, {
        hint: 'use --as-of with an S3 repository on a bucket with versioning (and Object Lock)', exitCode: 2,
      });
    }
    const { FsStorage } = await import('./fs/fs-storage.js');
    return new FsStorage(cfg.path);
  }
  const { S3Storage } = await import('./s3/s3-storage.js');
  const s3 = new S3Storage(cfg, name);
  if (!opts.asOf) return s3;
  const { AsOfStorage } = await import('./as-of.js');
  return new AsOfStorage(s3, opts.asOf);
}
