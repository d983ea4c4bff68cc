// Load and archive helpers against a real cluster: pgbench writes, WAL switches, and waiting for
// the archiver to catch up (read from pg_stat_archiver, as an SRE would watch it).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { waitUntil } from '@featuresignals/testkit';

const run = promisify(execFile);

export async function pgbench(pg: PostgresHandle, args: string[]): Promise<void> {
  await run(join(pg.binDir, 'pgbench'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', ...args, 'postgres'], { maxBuffer: 16 * 1024 * 1024 });
}

export interface ArchiverStats {
  archived_count: number;
  failed_count: number;
  last_archived_wal: string | null;
  last_failed_wal: string | null;
}

export async function archiverStats(pg: PostgresHandle): Promise<ArchiverStats> {
  const r = await pg.query<ArchiverStats>('SELECT archived_count::int, failed_count::int, last_archived_wal, last_failed_wal FROM pg_stat_archiver');
  return r.rows[0]!;
}

/** Switch to a new WAL segment and return the name of the one just completed. */
export async function switchWal(pg: PostgresHandle): Promise<string> {
  await pg.query('CREATE TABLE IF NOT EXISTS fsdr_tick (t timestamptz)');
  await pg.query('INSERT INTO fsdr_tick VALUES (now())');
  const r = await pg.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f');
  return r.rows[0]!.f;
}

/** Wait until the archiver has archived `segment` (or a later one). */
export async function waitArchived(pg: PostgresHandle, segment: string, timeoutMs = 60_000): Promise<ArchiverStats> {
  return waitUntil(async () => {
    const s = await archiverStats(pg);
    return s.last_archived_wal && s.last_archived_wal >= segment ? s : undefined;
  }, timeoutMs, `archiving of ${segment}`);
}
