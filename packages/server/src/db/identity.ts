// The database identity ("dbid"): system identifier + current timeline. A PITR promotes onto a
// new timeline and a logical restore is a new cluster, so either way the dbid changes.
import type pg from 'pg';

export async function readDbid(db: pg.Pool | pg.ClientBase): Promise<string> {
  const sys = await db.query<{ id: string; rec: boolean }>('SELECT system_identifier::text AS id, pg_is_in_recovery() AS rec FROM pg_control_system()');
  const { id, rec } = sys.rows[0];
  // pg_control_checkpoint() lags after promotion, so use the current WAL file's timeline on a primary.
  const tli = rec
    ? (await db.query<{ t: number }>('SELECT timeline_id AS t FROM pg_control_checkpoint()')).rows[0].t
    : parseInt((await db.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0].f.slice(0, 8), 16);
  return `${id}:${tli}`;
}
