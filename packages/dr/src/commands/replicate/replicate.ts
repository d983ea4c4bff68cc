// fsdr replicate: copy everything new from the primary repository to each replica.
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { replicate, type ReplicationResult, lagSeconds, missingOn } from '../../replication/replicator.js';
import { openStorage } from '../../storage/open-storage.js';
import { checkBucketProtection } from '../init/init.js';
import { assertMayWrite } from '../../failover/fence.js';

export function replicaNames(cfg: Config, only?: string): string[] {
  const names = Object.keys(cfg.repositories).filter((n) => n !== 'primary');
  if (only) {
    if (!names.includes(only)) throw new FsdrError('FSDR_REPO_UNKNOWN', `no replica repository named ${only}`, { hint: `replicas: ${names.join(', ') || 'none configured'}` });
    return [only];
  }
  if (!names.length) throw new FsdrError('FSDR_NO_REPLICA', 'no replica repository is configured', { hint: 'add one under repositories (e.g. standby: { type: s3, ... })' });
  return names;
}

export async function runReplicate(cfg: Config, only?: string): Promise<ReplicationResult[]> {
  await assertMayWrite(cfg, 'replicate');
  const primary = await openStorage(cfg.repositories.primary, 'primary');
  const out: ReplicationResult[] = [];
  try {
    for (const name of replicaNames(cfg, only)) {
      const replica = await openStorage(cfg.repositories[name]!, name);
      try {
        await checkBucketProtection(cfg, name, replica);
        out.push(await replicate(primary, replica, name));
      } finally {
        await replica.close();
      }
    }
    return out;
  } finally {
    await primary.close();
  }
}

/** Lag of each replica: age of the oldest primary object it does not have yet. */
export async function replicaLag(cfg: Config): Promise<Array<{ replica: string; missingObjects: number; lagSeconds: number }>> {
  const primary = await openStorage(cfg.repositories.primary, 'primary');
  try {
    const out = [];
    for (const name of Object.keys(cfg.repositories).filter((n) => n !== 'primary')) {
      const replica = await openStorage(cfg.repositories[name]!, name);
      try {
        const missing = await missingOn(primary, replica);
        out.push({ replica: name, missingObjects: missing.length, lagSeconds: lagSeconds(missing) });
      } finally {
        await replica.close();
      }
    }
    return out;
  } finally {
    await primary.close();
  }
}
