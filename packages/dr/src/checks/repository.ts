// Is a configured repository usable by this cluster: reachable, initialised, written with this
// master key, and bound to this cluster's system identifier (and major version)?
import type { Config } from '../config/load.js';
import type { RepositoryConfig } from '../config/schema.js';
import type { ClusterIdentity } from '../postgres/cluster.js';
import { REPO_INFO_KEY } from '../repository/layout.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/open-storage.js';
import { fail, failed, ok, warn, withDeadline, type CheckResult } from './result.js';

export async function checkRepository(cfg: Config, name: string, seconds: number, identity: Promise<ClusterIdentity | undefined>): Promise<CheckResult> {
  const check = `repository ${name}`;
  try {
    const repo = await Repository.open(cfg, name);
    try {
      // readInfo authenticates repo.json with the key and explains a missing or forged one
      // (tampering on a versioned bucket) instead of advising `fsdr init`.
      const info = await withDeadline(repo.readInfo(), seconds, `${check} (${repo.storage.description})`);
      const where = `${repo.storage.description}: cluster ${info.systemIdentifier}, PostgreSQL ${info.pgVersion}, key ${info.keyId}`;
      const id = await identity;
      if (!id) return ok(check, `${where} (not compared: the cluster could not be read)`);
      if (id.systemIdentifier !== info.systemIdentifier) {
        return fail(check, `${repo.storage.description} belongs to cluster ${info.systemIdentifier}, the connected cluster is ${id.systemIdentifier}`,
          'check cluster.connection, or point this repository at the path or bucket initialised for this cluster (fsdr init on an empty one)', 'FSDR_WRONG_CLUSTER');
      }
      if (id.pgVersion !== info.pgVersion) {
        return fail(check, `${repo.storage.description} holds PostgreSQL ${info.pgVersion}, the cluster runs ${id.pgVersion}`,
          'after a major upgrade start a new repository (fsdr init on an empty path or bucket)', 'FSDR_WRONG_CLUSTER');
      }
      return ok(check, where);
    } finally {
      void repo.close().catch(() => undefined);
    }
  } catch (err) {
    const r = failed(check, err);
    // init writes repo.json into the primary only; a replica receives it (and all else) by replicate.
    if (r.code === 'FSDR_REPO_NOT_INITIALISED' && name !== 'primary') r.hint = 'a replica gets repo.json from the primary: run fsdr replicate (fsdr init for the primary)';
    return r;
  }
}

/** Without a usable key, what can still be said: the storage answers and holds a repo.json. */
export async function checkRepositoryWithoutKey(rc: RepositoryConfig, name: string, seconds: number): Promise<CheckResult> {
  const check = `repository ${name}`;
  try {
    const storage = await openStorage(rc, name);
    try {
      const head = await withDeadline(storage.head(REPO_INFO_KEY), seconds, `${check} (${storage.description})`);
      if (!head) return fail(check, `${storage.description} is not initialised (no ${REPO_INFO_KEY})`, 'run fsdr init', 'FSDR_REPO_NOT_INITIALISED');
      return warn(check, `${storage.description} answers and holds ${REPO_INFO_KEY}; not authenticated (no usable master key)`, 'fix the master key, then run fsdr check again');
    } finally {
      void storage.close().catch(() => undefined);
    }
  } catch (err) {
    return failed(check, err);
  }
}
