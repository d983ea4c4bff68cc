// Restored instances started by `fsdr restore` run under pg_ctl: query and stop them from tests.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { findBinDir } from '../../src/postgres/binaries.js';
import { stopInstance } from '../../src/postgres/instance.js';
import { serverUser } from '../../src/postgres/os-user.js';

export async function queryPort<R extends pg.QueryResultRow = pg.QueryResultRow>(port: number, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export async function stopRestored(pgdata: string): Promise<void> {
  await stopInstance(findBinDir(15), pgdata, serverUser(), 'immediate').catch(() => undefined);
}

/** Row count and a content checksum of the marker table: what a restore must reproduce exactly. */
export const CONTENT_SQL = `SELECT count(*)::int AS n, coalesce(md5(string_agg(id || ':' || marker, ',' ORDER BY id)), '') AS sum FROM status`;

/** PostgreSQL's own checker over every table and index of a restored instance (heap and btree). */
export function amcheck(port: number): { code: number; output: string } {
  const r = spawnSync(join(findBinDir(15), 'pg_amcheck'), ['--install-missing', '--heapallindexed', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '--all'], { encoding: 'utf8' });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
