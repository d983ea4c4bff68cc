// Close the current WAL segment and wait until the server's own archive_command has archived it:
// what a standby replaying from the repository needs to reach a given point of the primary.
import type pg from 'pg';
import { parseLsn } from './lsn.js';

export interface SwitchedSegment {
  /** the segment that holds the switch record (the last one a standby must fetch) */
  segment: string;
  /** the end of the switch record: a standby that replayed past it has everything before it */
  lsn: string;
  lsnValue: bigint;
  archived: boolean;
}

export async function switchAndArchive(c: pg.Client, timeoutMs: number): Promise<SwitchedSegment> {
  const sw = await c.query<{ f: string; lsn: string }>('SELECT pg_walfile_name(l) AS f, l::text AS lsn FROM pg_switch_wal() AS l');
  const { f, lsn } = sw.rows[0]!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await c.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
    // Names sort by timeline then position; a .history or .partial name sorts after its segment.
    const w = a.rows[0]!.w;
    if (w && w >= f) return { segment: f, lsn, lsnValue: parseLsn(lsn), archived: true };
    if (Date.now() > deadline) return { segment: f, lsn, lsnValue: parseLsn(lsn), archived: false };
    await new Promise((x) => setTimeout(x, 200));
  }
}
