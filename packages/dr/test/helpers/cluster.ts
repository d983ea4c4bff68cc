// The setup most integration tests share: a PostgreSQL 15 cluster archiving through fsdr into the
// workspace's directory repository, with the repository initialised.
import { startPostgres, type PostgresHandle, type StartPostgresOptions } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, type Workspace } from './fsdr.js';

export async function archivingCluster(ws: Workspace, extra: Record<string, unknown> = {}, settings: Record<string, string | number | boolean> = {}, pgOptions: Omit<StartPostgresOptions, 'settings'> = {}): Promise<{ pg: PostgresHandle; cfg: string }> {
  const doc = {
    cluster: { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' },
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    ...extra,
  };
  const cfg = ws.writeConfig(doc);
  const pg = await startPostgres({ ...pgOptions, settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand(cfg), ...settings } });
  ws.writeConfig({ ...doc, cluster: { connection: pg.connectionString, pgdata: pg.pgdata } });
  await fsdrOk(['--config', cfg, 'init']);
  return { pg, cfg };
}
