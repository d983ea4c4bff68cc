// Applies pending migrations at start under an advisory lock (several servers may start at once),
// recording them golang-migrate style (version, dirty) so a failed one is visible, not retried blindly.
import type pg from 'pg';
import { ServerError } from '../errors.js';
import { EXPECTED_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';

const LOCK_ID = 72_617_001;

export interface SchemaState { version: number; dirty: boolean }

export async function schemaState(db: pg.Pool | pg.PoolClient): Promise<SchemaState> {
  const r = await db.query<{ version: string; dirty: boolean }>(
    "SELECT version, dirty FROM schema_migrations ORDER BY version DESC LIMIT 1").catch((err: { code?: string }) => {
    if (err.code === '42P01') return { rows: [] }; // table missing: nothing applied yet
    throw err;
  });
  const row = r.rows[0];
  return row ? { version: Number(row.version), dirty: row.dirty } : { version: 0, dirty: false };
}

export async function migrate(pool: pg.Pool): Promise<SchemaState> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)');
    let state = await schemaState(client);
    if (state.dirty) {
      throw new ServerError('FS_SCHEMA_DIRTY', 0, `migration ${state.version} is marked dirty`, 'repair the schema by hand, then clear the dirty flag');
    }
    for (const m of MIGRATIONS.filter((x) => x.version > state.version)) {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, dirty) VALUES ($1, false)', [m.version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new ServerError('FS_MIGRATION_FAILED', 0, `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, undefined, { cause: err });
      }
      state = { version: m.version, dirty: false };
    }
    if (state.version > EXPECTED_SCHEMA_VERSION) {
      throw new ServerError('FS_SCHEMA_TOO_NEW', 0, `database schema ${state.version} is newer than this server (${EXPECTED_SCHEMA_VERSION})`, 'run a newer server');
    }
    return state;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
}
