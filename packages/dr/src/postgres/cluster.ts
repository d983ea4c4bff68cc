// Facts about a running cluster, read over a libpq connection (pg).
import type pg from 'pg';
import { pgDriver } from './pg-driver.js';
import { PostgresError, SessionLostError } from '../errors.js';

export interface ClusterIdentity {
  systemIdentifier: string;
  pgVersionNum: number;
  pgVersion: number;
  walSegmentSize: number;
  timeline: number;
}

interface Watch {
  name: string;
  lost: Promise<never>;
  error?: SessionLostError;
}
/** admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now. */
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03']);
const pidOf = (c: pg.Client) => (c as unknown as { processID?: number }).processID ?? undefined;
const watches = new WeakMap<pg.Client, Watch>();

/**
 * A client named for the DBA (application_name, seen in pg_stat_activity) whose loss is recorded
 * rather than thrown: pg emits 'error' on an idle client when the server ends its session, and an
 * 'error' event nobody listens to kills the process (the agent with it) with a stack trace.
 */
export function newClient(config: pg.ClientConfig, applicationName: string): pg.Client {
  const client = new pgDriver.Client({ application_name: applicationName, ...config });
  let reject!: (err: Error) => void;
  const w: Watch = { name: applicationName, lost: new Promise<never>((_, r) => (reject = r)) };
  w.lost.catch(() => undefined); // a loss nobody is waiting for is not an unhandled rejection
  client.on('error', (err) => {
    if (w.error) return; // pg reports the FATAL message, then the closed socket
    w.error = new SessionLostError(applicationName, pidOf(client), err.message);
    reject(w.error);
  });
  watches.set(client, w);
  return client;
}

/** Rejects with SessionLostError once the server ends the client's session; never resolves. */
export function sessionLost(client: pg.Client): Promise<never> {
  return watches.get(client)?.lost ?? new Promise<never>(() => undefined);
}

/**
 * The error to report for a failed query: the session's loss when that is what failed it. A query
 * running when the session ends gets the FATAL itself, before the client's 'error' event.
 */
export function lossOr(client: pg.Client, err: unknown): unknown {
  const w = watches.get(client);
  if (!w) return err;
  if (w.error) return w.error;
  const e = err as { code?: string; message?: string };
  if (SESSION_ENDED.has(e.code ?? '') || /Connection terminated|not queryable/.test(e.message ?? '')) {
    return new SessionLostError(w.name, pidOf(client), e.message ?? String(err));
  }
  return err;
}

export async function connect(connection: string, applicationName = 'fsdr'): Promise<pg.Client> {
  const client = newClient({ connectionString: connection, connectionTimeoutMillis: 10_000 }, applicationName);
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
export function clientConnection(url: string, database?: string, applicationName?: string): { url: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  if (database !== undefined) u.pathname = '/' + encodeURIComponent(database);
  // PGAPPNAME names the tool's session for the DBA; an application_name in the URL still wins.
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}), ...(applicationName ? { PGAPPNAME: applicationName } : {}) };
  return { url: u.toString(), env };
}

export interface WalPosition {
  lsn: string;
  timeline: number;
  inRecovery: boolean;
}

/**
 * Where the cluster's WAL is now: pg_current_wal_lsn() and its timeline on a primary (from the
 * WAL file name: pg_control_checkpoint() lags after a promotion); the replayed LSN on a standby.
 */
export async function readWalPosition(client: pg.Client): Promise<WalPosition> {
  const r = await client.query<{ rec: boolean; lsn: string; walfile: string | null; cptli: number }>(`
    SELECT pg_is_in_recovery() AS rec,
           (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS walfile,
           (SELECT timeline_id FROM pg_control_checkpoint()) AS cptli`);
  const row = r.rows[0]!;
  return { lsn: row.lsn, timeline: row.walfile ? parseInt(row.walfile.slice(0, 8), 16) : row.cptli, inRecovery: row.rec };
}
