// What each repository holds and how much room it has left: bytes actually stored (the sum of its
// objects, not the size of the filesystem it sits on), and the capacity: the filesystem's size and
// free space for a directory repository, the configured quotaGiB for a bucket (S3 has no limit of
// its own to read; without a quota the capacity is unknown and not exported).
import { statfs } from 'node:fs/promises';
import type { RepositoryConfig } from '../config/schema.js';
import type { Storage } from '../storage/storage.js';

export interface RepositoryUsage {
  repository: string;
  storedBytes: number;
  capacityBytes?: number;
  freeBytes?: number;
}

export async function storedBytes(storage: Storage): Promise<number> {
  let n = 0;
  for await (const o of storage.list('')) n += o.size;
  return n;
}

export async function repositoryUsage(name: string, cfg: RepositoryConfig, storage: Storage): Promise<RepositoryUsage> {
  const stored = await storedBytes(storage);
  if (cfg.type === 'fs') {
    const s = await statfs(cfg.path);
    return { repository: name, storedBytes: stored, capacityBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  }
  if (cfg.quotaGiB === undefined) return { repository: name, storedBytes: stored };
  const capacity = Math.round(cfg.quotaGiB * 1024 ** 3);
  return { repository: name, storedBytes: stored, capacityBytes: capacity, freeBytes: Math.max(0, capacity - stored) };
}
