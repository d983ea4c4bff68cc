// One measurement of WAL archiving on the connected cluster: PostgreSQL's archiver counters and the
// unarchived WAL (backlog, bytes, live RPO exposure) from the clock in unarchived-wal.ts.
import { connect } from '../postgres/cluster.js';
import { readArchiverStatus } from '../postgres/archiver-status.js';
import { describeError } from '../errors.js';
import type { UnarchivedWal, UnarchivedWalClock } from './unarchived-wal.js';

export interface ArchivingMeasurement {
  archivedCount?: number;
  failedCount?: number;
  lastArchivedAt?: string;
  lastFailedAt?: string;
  lastFailedWal?: string;
  /** undefined on a standby */
  unarchived?: UnarchivedWal;
  /** the cluster could not be read (down, no permission for pg_ls_archive_statusdir) */
  error?: string;
}

export async function measureArchiving(connection: string, clock: UnarchivedWalClock, now = new Date(), streamedLsn?: bigint): Promise<ArchivingMeasurement> {
  let client;
  try {
    client = await connect(connection, 'fsdr-agent-monitor');
    const s = await readArchiverStatus(client);
    return {
      archivedCount: s.archivedCount,
      failedCount: s.failedCount,
      lastArchivedAt: s.lastArchivedAt?.toISOString(),
      lastFailedAt: s.lastFailedAt?.toISOString(),
      lastFailedWal: s.lastFailedWal,
      unarchived: clock.observe(s, now, streamedLsn),
    };
  } catch (err) {
    return { error: describeError(err) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
