// Facts about a running cluster, read over a libpq connection (pg).
import pg from 'pg';
import { PostgresError } from '../errors.js';

export interface ClusterIdentity {
  systemIdentifier: string;
  pgVersionNum: number;
  pgVersion: number;
  walSegmentSize: number;
  timeline: number;
}

export async function connect(connection: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: connection, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new PostgresError(`cannot connect to PostgreSQL at ${redactUrl(connection)}: ${(err as Error).message}`, {
      hint: 'check cluster.connection and that the server is running',
      cause: err,
    });
  }
  return client;
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export async function readIdentity(client: pg.Client): Promise<ClusterIdentity> {
  const r = await client.query(`
    SELECT (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
           current_setting('server_version_num')::int AS vnum,
           (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS segsize,
           (SELECT timeline_id FROM pg_control_checkpoint()) AS tli`);
  const row = r.rows[0];
  return {
    systemIdentifier: row.sysid,
    pgVersionNum: row.vnum,
    pgVersion: Math.floor(row.vnum / 10000),
    walSegmentSize: Number(row.segsize),
    timeline: row.tli,
  };
}

/**
 * A connection URL for a client program's command line, without its password, and the
 * environment that carries the password instead (argv is readable by every local user via ps).
 */
export function clientConnection(url: string, database?: string): { url: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  if (database !== undefined) u.pathname = '/' + encodeURIComponent(database);
  return { url: u.toString(), env: password ? { ...process.env, PGPASSWORD: password } : process.env };
}
