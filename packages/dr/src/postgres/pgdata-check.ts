// Before a backup copies a byte, prove that cluster.pgdata is the data directory of the server it
// is connected to. A wrong path (a typo, an old copy, a standby's directory) would otherwise yield a
// "complete" backup of nothing, or of another cluster, that every later check accepts.
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { FsdrError } from '../errors.js';
import type { ClusterIdentity } from './cluster.js';

export class WrongPgdataError extends FsdrError {
  constructor(pgdata: string, detail: string) {
    super('FSDR_WRONG_PGDATA', `cluster.pgdata ${pgdata} is not the data directory of the connected server: ${detail}`, {
      hint: "set cluster.pgdata to the server's data_directory (psql -c 'SHOW data_directory')",
      exitCode: 2,
    });
  }
}

/** pg_control begins with the 64-bit system identifier in the host's byte order (little-endian here). */
export function systemIdentifierOf(pgControl: Buffer): string {
  return pgControl.readBigUInt64LE(0).toString();
}

export async function checkPgdata(client: pg.Client, pgdata: string, id: ClusterIdentity): Promise<void> {
  const read = async (rel: string) => {
    try {
      return await readFile(join(pgdata, rel));
    } catch (err) {
      throw new WrongPgdataError(pgdata, `cannot read ${rel} (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  const version = (await read('PG_VERSION')).toString('utf8').trim();
  if (version !== String(id.pgVersion)) throw new WrongPgdataError(pgdata, `its PG_VERSION is ${version}, the server runs PostgreSQL ${id.pgVersion}`);
  const sysid = systemIdentifierOf(await read('global/pg_control'));
  if (sysid !== id.systemIdentifier) throw new WrongPgdataError(pgdata, `its pg_control has system identifier ${sysid}, the server ${id.systemIdentifier} (a copy of another cluster)`);
  // Same cluster, but maybe a stale copy of it (a restored twin, an old snapshot): the server's own
  // data_directory settles it when the role may read it (superuser or pg_read_all_settings).
  const r = await client.query<{ d: string | null }>("SELECT current_setting('data_directory', true) AS d").catch(() => undefined);
  const serverDir = r?.rows[0]?.d;
  if (serverDir) {
    const [a, b] = await Promise.all([realpath(pgdata), realpath(serverDir).catch(() => serverDir)]);
    if (a !== b) throw new WrongPgdataError(pgdata, `the server's data_directory is ${serverDir}`);
  }
}
