// An instance that may become the primary keeps archive_mode on (it needs no restart later) but
// sends nothing until it is the primary: archive_command is empty, so PostgreSQL keeps every
// segment's .ready file and archives the backlog once the command is released. A recovery that
// fails its checks therefore never writes a timeline into the production repository.
import type pg from 'pg';
import { PostgresError } from '../errors.js';
import { newClient } from './cluster.js';

/** Settings for a restored instance whose archiving is held (with archive on). */
export const HOLD_ARCHIVING: Record<string, string> = { archive_command: '' };

/** Back to the archive_command of the configuration files (the source's fsdr wal-push), now. */
export async function releaseArchiving(conn: pg.ClientConfig): Promise<string> {
  const c = newClient({ ...conn, database: 'postgres', connectionTimeoutMillis: 10_000 }, 'fsdr recover');
  try {
    await c.connect();
    await c.query('ALTER SYSTEM RESET archive_command');
    await c.query('SELECT pg_reload_conf()');
    // pg_reload_conf only signals: wait until this backend sees the new value.
    for (let i = 0; i < 50; i++) {
      const v = (await c.query<{ v: string }>("SELECT current_setting('archive_command') AS v")).rows[0]!.v;
      if (v) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new PostgresError('archiving stays held: after ALTER SYSTEM RESET archive_command the instance has no archive_command', {
      hint: "set archive_command = 'fsdr wal-push %p' on the new primary (ALTER SYSTEM SET … ; SELECT pg_reload_conf())",
    });
  } finally {
    await c.end().catch(() => undefined);
  }
}
