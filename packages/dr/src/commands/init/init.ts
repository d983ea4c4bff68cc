// fsdr init: bind each configured repository to the cluster (repo.json, written once). Refuses a
// repository of another cluster, and an S3 bucket without Object Lock when objectLock is configured.
import type { Config } from '../../config/load.js';
import { ConfigError, RepositoryError } from '../../errors.js';
import { keyId } from '../../keys/master-key.js';
import { connect, readIdentity, type ClusterIdentity } from '../../postgres/cluster.js';
import { REPO_FORMAT, type RepoInfo } from '../../repository/repo-info.js';
import { Repository } from '../../repository/repository.js';
import type { S3Storage } from '../../storage/s3/s3-storage.js';

export interface InitResult {
  repository: string;
  location: string;
  status: 'created' | 'already-initialised' | 'replica-checked';
  systemIdentifier: string;
}

export async function clusterIdentity(cfg: Config): Promise<ClusterIdentity> {
  if (!cfg.cluster) throw new ConfigError('cluster', 'required for this command (connection and pgdata)');
  const client = await connect(cfg.cluster.connection, 'fsdr init');
  try {
    return await readIdentity(client);
  } finally {
    await client.end();
  }
}

/** Refuse an S3 repository whose bucket lacks Object Lock when the config asks for it. */
export async function checkBucketProtection(cfg: Config, name: string, storage: unknown): Promise<void> {
  const rc = cfg.repositories[name]!;
  if (rc.type !== 's3' || !rc.objectLock) return;
  const p = await (storage as S3Storage).protection();
  if (!p.objectLock || !p.versioning) {
    throw new RepositoryError('FSDR_BUCKET_NOT_LOCKED', `bucket ${rc.bucket} of repository ${name} has no Object Lock enabled, but repositories.${name}.objectLock is configured`, {
      hint: 'create the bucket with Object Lock enabled (it cannot be added later on most stores), or remove objectLock from the config',
    });
  }
}

export async function initRepository(cfg: Config, name: string, id: ClusterIdentity): Promise<InitResult> {
  const repo = await Repository.open(cfg, name);
  try {
    await checkBucketProtection(cfg, name, repo.storage);
    // A replica gets the primary's repo.json (and everything else) by replication.
    if (name !== 'primary') {
      return { repository: name, location: repo.storage.description, status: 'replica-checked', systemIdentifier: id.systemIdentifier };
    }
    const existing = await repo.tryReadInfo();
    if (existing) {
      if (existing.systemIdentifier !== id.systemIdentifier) {
        throw new RepositoryError('FSDR_REPO_OTHER_CLUSTER', `repository ${name} (${repo.storage.description}) belongs to cluster ${existing.systemIdentifier}, not to this cluster ${id.systemIdentifier}`, {
          hint: 'use a new, empty repository path or bucket prefix for this cluster',
        });
      }
      return { repository: name, location: repo.storage.description, status: 'already-initialised', systemIdentifier: id.systemIdentifier };
    }
    // A deleted repo.json over other objects' foreign versions is an attack: a new repo.json would
    // hide it (and make the garbage current versions look like a repository again).
    const tampered = await repo.tampered('repo.json is missing');
    if (tampered) throw tampered;
    const info: RepoInfo = {
      format: REPO_FORMAT,
      systemIdentifier: id.systemIdentifier,
      pgVersion: id.pgVersion,
      pgVersionNum: id.pgVersionNum,
      walSegmentSize: id.walSegmentSize,
      cipher: 'aes-256-gcm',
      keyId: keyId(cfg.masterKey),
      createdAt: new Date().toISOString(),
    };
    await repo.writeInfo(info);
    return { repository: name, location: repo.storage.description, status: 'created', systemIdentifier: id.systemIdentifier };
  } finally {
    await repo.close();
  }
}
