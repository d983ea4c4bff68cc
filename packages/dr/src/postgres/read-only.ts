// Making a fenced primary refuse writes without stopping it: default_transaction_read_only in
// postgresql.auto.conf (survives a restart), reloaded, and every client session ended so none
// keeps a read-write transaction open. `fsdr.fence` (a role setting) carries the reason, for /ready to name.
// A default, not a wall: a session may still SET transaction_read_only = off. The hard guard is
// that a fenced region's WAL and backups reach no repository (the fence refuses them).
import type pg from 'pg';

export interface ReadOnlyResult {
  /** Client sessions ended. */
  terminated: number;
  /** It was read-only with this reason already (nothing changed). */
  already: boolean;
}

export async function makeReadOnly(client: pg.Client, reason: string): Promise<ReadOnlyResult> {
  const cur = await client.query<{ ro: string; why: string | null }>("SELECT current_setting('default_transaction_read_only') AS ro, current_setting('fsdr.fence', true) AS why");
  if (cur.rows[0]!.ro === 'on' && cur.rows[0]!.why === reason) return { terminated: 0, already: true };
  // This session writes even on a cluster read-only already (a newer fence, a new reason).
  await client.query('SET default_transaction_read_only = off');
  // PostgreSQL 15's ALTER SYSTEM refuses custom settings (17 allows them): the reason is a role
  // setting for every role instead, written while the cluster still accepts writes.
  await client.query(`ALTER ROLE ALL SET fsdr.fence = ${client.escapeLiteral(reason)}`);
  await client.query('ALTER SYSTEM SET default_transaction_read_only = on');
  await client.query('SELECT pg_reload_conf()');
  const r = await client.query<{ n: string }>(
    "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
  );
  return { terminated: Number(r.rows[0]!.n), already: false };
}

/** Undo makeReadOnly (a region that becomes the writer again after failback). */
export async function makeWritable(client: pg.Client): Promise<void> {
  await client.query('ALTER SYSTEM RESET default_transaction_read_only');
  await client.query('SELECT pg_reload_conf()');
  await client.query('SET default_transaction_read_only = off');
  await client.query('ALTER ROLE ALL RESET fsdr.fence');
  await client.query('SELECT pg_reload_conf()');
}
