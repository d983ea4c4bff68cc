// Builds the Storage for a configured repository. Backends are imported lazily so that a
// wal-push into a directory never loads the AWS SDK (start-up time is paid per WAL segment).
import type { RepositoryConfig } from '../config/schema.js';
import type { Storage } from './storage.js';

/** `name`: the repository's key under `repositories` (named in error hints). */
export async function openStorage(cfg: RepositoryConfig, name?: string): Promise<Storage> {
  if (cfg.type === 'fs') {
    const { FsStorage } = await import('./fs/fs-storage.js');
    return new FsStorage(cfg.path);
  }
  const { S3Storage } = await import('./s3/s3-storage.js');
  return new S3Storage(cfg, name);
}
