// Facts about the stack recover brings up: where its server logs, which database and URL it
// gets, the golden comparison time for a target, and the command that removes a stack left behind.
import type { Config } from '../../config/load.js';
import type { RestoreResult } from '../restore/restore.js';
import type { RecoveryTarget } from '../restore/select-backup.js';

/** FeatureSignals' database in the cluster: stack.database, else cluster.connection's. */
export function databaseOf(cfg: Config): string {
  if (cfg.stack?.database) return cfg.stack.database;
  return cfg.cluster ? decodeURIComponent(new URL(cfg.cluster.connection).pathname.slice(1)) || 'postgres' : 'postgres';
}

export const serverLogFile = (pgdata: string): string => `${pgdata}.fsdr-server.log`;

/** The point the golden set is compared at: the target time, now for --latest, else what was reached. */
export function goldenTime(t: RecoveryTarget, r: RestoreResult): Date {
  if (t.kind === 'time') return new Date(t.value);
  if (t.kind === 'latest') return new Date();
  return r.recoveredTo?.time ? new Date(r.recoveredTo.time) : new Date();
}

export function pgUrl(c: { host: string; port: number; user: string; password?: string; database: string }): string {
  const u = new URL('postgres://placeholder');
  u.hostname = c.host;
  u.port = String(c.port);
  u.username = encodeURIComponent(c.user);
  if (c.password) u.password = encodeURIComponent(c.password);
  u.pathname = '/' + encodeURIComponent(c.database);
  return u.toString();
}

export function removeCommand(s: { serverPid: number; pgdata: string }, binDir: string, osUser?: string): string {
  const pgCtl = `${binDir}/pg_ctl -D ${s.pgdata} stop -m fast`;
  return `kill -TERM -${s.serverPid}; ${osUser ? `su ${osUser} -c '${pgCtl}'` : pgCtl}; rm -rf ${s.pgdata} ${s.pgdata}.fsdr-*.log`;
}
