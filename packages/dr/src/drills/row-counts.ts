// Row counts of every user table in every database of a restored copy. Exact count(*) where it
// finishes within a bound; a table that takes longer is counted by ANALYZE (pg_class.reltuples
// right after it: a sampled estimate), and each table says which method gave its number. A table
// that cannot be read at all (a damaged page, a missing file) fails the step, naming the table.
import type pg from 'pg';
import { newClient } from '../postgres/cluster.js';
import type { StepOutcome } from './steps.js';

export interface TableCount {
  database: string;
  table: string;
  rows: number;
  method: 'count' | 'analyze-estimate';
  /** unlogged tables are empty after any recovery: by design, not a loss */
  unlogged?: boolean;
}

export interface RowCounts {
  tables: TableCount[];
  failures: Array<{ database: string; table: string; error: string }>;
  exact: number;
  estimated: number;
}

const QUERY_CANCELED = '57014';

async function withClient<T>(conn: pg.ClientConfig, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = newClient({ ...conn, database }, 'fsdr drill');
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function countRows(conn: pg.ClientConfig, countTimeoutSeconds: number): Promise<RowCounts> {
  const out: RowCounts = { tables: [], failures: [], exact: 0, estimated: 0 };
  const dbs = await withClient(conn, 'postgres', async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname')).rows.map((r) => r.datname));
  for (const db of dbs) {
    await withClient(conn, db, async (c) => {
      const tables = (await c.query<{ nspname: string; relname: string; relpersistence: string }>(
        `SELECT n.nspname, c.relname, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
          ORDER BY 1, 2`,
      )).rows;
      await c.query(`SET statement_timeout = '${countTimeoutSeconds}s'`);
      for (const t of tables) {
        const name = `${c.escapeIdentifier(t.nspname)}.${c.escapeIdentifier(t.relname)}`;
        const table = `${t.nspname}.${t.relname}`;
        const unlogged = t.relpersistence === 'u' ? { unlogged: true } : {};
        try {
          const r = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
          out.tables.push({ database: db, table, rows: Number(r.rows[0]!.n), method: 'count', ...unlogged });
          out.exact++;
        } catch (err) {
          const e = err as { code?: string; message: string };
          if (e.code !== QUERY_CANCELED) {
            out.failures.push({ database: db, table, error: e.message });
            continue;
          }
          try {
            await c.query('SET statement_timeout = 0');
            await c.query(`ANALYZE ${name}`);
            const r = await c.query<{ n: string }>(`SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = $1::regclass`, [name]);
            out.tables.push({ database: db, table, rows: Number(r.rows[0]!.n), method: 'analyze-estimate', ...unlogged });
            out.estimated++;
          } catch (err2) {
            out.failures.push({ database: db, table, error: (err2 as Error).message });
          } finally {
            await c.query(`SET statement_timeout = '${countTimeoutSeconds}s'`);
          }
        }
      }
    });
  }
  return out;
}

export function judgeRowCounts(r: RowCounts): StepOutcome {
  const detail = { exact: r.exact, estimated: r.estimated, tables: r.tables, failures: r.failures };
  const f = r.failures[0];
  if (!f) return { ok: true, detail };
  return { ok: false, detail, failure: { object: `${f.database}.${f.table}`, message: `table ${f.database}.${f.table} cannot be read: ${f.error}` } };
}
