// fsdr dump: the plan's daily logical backup. pg_dump (custom format, one per database) and
// pg_dumpall --globals-only are streamed through the codec straight into the repository — never
// to local disk — and the manifest is written last.
import type { Config } from '../../config/load.js';
import { clientBinDir, requireAtLeast, toolPath } from '../../postgres/client-tools.js';
import { clientConnection } from '../../postgres/cluster.js';
import { toolOutput } from '../../postgres/tool-stream.js';
import { type DumpManifest, dumpObjectKey } from '../../repository/dump-catalog.js';
import { freshId, newBackupId } from '../../repository/manifest.js';
import { anyUnder } from '../../repository/layout.js';
import { DUMP_PREFIX } from '../../repository/dump-catalog.js';
import { openClusterSession } from '../cluster-session.js';
import { assertMayWrite } from '../../failover/fence.js';

export async function runDump(cfg: Config): Promise<DumpManifest> {
  await assertMayWrite(cfg, 'dump');
  const session = await openClusterSession(cfg, 'dump');
  const { repo, client, id, cluster } = session;
  try {
    const binDir = clientBinDir(id.pgVersion, cluster.binDir);
    const pgDump = toolPath(binDir, 'pg_dump');
    const pgDumpall = toolPath(binDir, 'pg_dumpall');
    const pgDumpMajor = requireAtLeast('pg_dump', pgDump, id.pgVersion, 'the server, PostgreSQL');
    const dbs = (await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname')).rows.map((r) => r.datname);
    const dumpId = await freshId((at) => newBackupId('full', at).replace(/-F$/, '-D'), (taken) => anyUnder(repo.storage, `${DUMP_PREFIX}${taken}/`));
    const startTime = new Date().toISOString();

    const globalsKey = dumpObjectKey(dumpId, 'globals.sql');
    const globalsConn = clientConnection(cluster.connection, undefined, 'fsdr dump');
    const g = await repo.objects.put(globalsKey, toolOutput(pgDumpall, ['--globals-only', '-d', globalsConn.url], globalsConn.env));
    const databases: DumpManifest['databases'] = [];
    for (const db of dbs) {
      const key = dumpObjectKey(dumpId, `db-${Buffer.from(db).toString('hex')}.dump`);
      // -Z 0: the codec compresses with zstd; compressing twice only costs CPU.
      const conn = clientConnection(cluster.connection, db, 'fsdr dump');
      const r = await repo.objects.put(key, toolOutput(pgDump, ['-Fc', '-Z', '0', '-d', conn.url], conn.env));
      databases.push({ name: db, key, size: r.size, storedSize: r.storedSize, sha256: r.sha256 });
    }
    const manifest: DumpManifest = {
      format: 1, id: dumpId, systemIdentifier: id.systemIdentifier, serverVersionNum: id.pgVersionNum, serverMajor: id.pgVersion,
      pgDumpMajor, startTime, stopTime: new Date().toISOString(),
      globals: { key: globalsKey, size: g.size, sha256: g.sha256 }, databases,
    };
    await repo.dumps.write(manifest);
    return manifest;
  } finally {
    await session.close();
  }
}
