// What backup and dump both start with: the primary repository and a connection to the cluster,
// checked to belong together (the repository's system identifier is the cluster's).
import type pg from 'pg';
import type { Config } from '../config/load.js';
import { ConfigError, RepositoryError } from '../errors.js';
import { connect, readIdentity, type ClusterIdentity } from '../postgres/cluster.js';
import { Repository } from '../repository/repository.js';

export interface ClusterSession {
  repo: Repository;
  client: pg.Client;
  id: ClusterIdentity;
  cluster: NonNullable<Config['cluster']>;
  close(): Promise<void>;
}

export async function openClusterSession(cfg: Config, command: string): Promise<ClusterSession> {
  const cluster = cfg.cluster;
  if (!cluster) throw new ConfigError('cluster', `required for fsdr ${command} (connection and pgdata)`);
  const repo = await Repository.open(cfg);
  let client: pg.Client | undefined;
  try {
    // Named for the DBA: pg_stat_activity shows "fsdr backup", "fsdr dump".
    client = await connect(cluster.connection, `fsdr ${command}`);
    const info = await repo.readInfo();
    const id = await readIdentity(client);
    if (id.systemIdentifier !== info.systemIdentifier) {
      throw new RepositoryError('FSDR_WRONG_CLUSTER', `cluster ${id.systemIdentifier} is not the cluster of repository ${repo.name} (${info.systemIdentifier})`, { hint: 'check cluster.connection' });
    }
    const c = client;
    return {
      repo, client: c, id, cluster,
      close: async () => {
        await c.end().catch(() => undefined);
        await repo.close();
      },
    };
  } catch (err) {
    await client?.end().catch(() => undefined);
    await repo.close();
    throw err;
  }
}
