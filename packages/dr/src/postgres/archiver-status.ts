// What PostgreSQL says about its own WAL archiving, read over SQL so the agent needs no access to
// pg_wal: pg_stat_archiver (counts, last success and failure), the .ready backlog in
// pg_wal/archive_status (pg_ls_archive_statusdir(), superuser or pg_monitor) and the insert position.
import type pg from 'pg';
import { parseLsn } from './lsn.js';

export interface ReadyFile {
  /** the WAL file waiting for archive_command: a segment, a .partial, a .history or a .backup file */
  name: string;
  /** when PostgreSQL marked it ready (the segment was complete then) */
  readyAt: Date;
}

export interface ArchiverStatus {
  archivedCount: number;
  failedCount: number;
  lastArchivedWal?: string;
  lastArchivedAt?: Date;
  lastFailedWal?: string;
  lastFailedAt?: Date;
  /** oldest first */
  ready: ReadyFile[];
  /** pg_current_wal_insert_lsn(); undefined on a standby (it archives nothing of its own) */
  insertLsn?: bigint;
  /**
   * One past the newest completed transaction id (txid_snapshot_xmax of a fresh snapshot, read
   * without assigning an id): it moves only when a transaction that wrote commits or aborts, so WAL
   * written while it stands still (the bgwriter's running-xacts record, a checkpoint) holds no
   * transaction to lose. Undefined on a standby.
   */
  completedXidHorizon?: bigint;
  walSegmentSize: number;
}

export async function readArchiverStatus(client: pg.Client): Promise<ArchiverStatus> {
  const r = await client.query<{
    archived_count: string; failed_count: string; last_archived_wal: string | null; last_archived_time: Date | null;
    last_failed_wal: string | null; last_failed_time: Date | null; insert_lsn: string | null; xmax: string | null; seg: string;
  }>(`
    SELECT archived_count, failed_count, last_archived_wal, last_archived_time, last_failed_wal, last_failed_time,
           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_insert_lsn()::text END AS insert_lsn,
           CASE WHEN pg_is_in_recovery() THEN NULL ELSE txid_snapshot_xmax(txid_current_snapshot())::text END AS xmax,
           (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS seg
    FROM pg_stat_archiver`);
  const row = r.rows[0]!;
  const ready = await client.query<{ name: string; modification: Date }>(
    `SELECT name, modification FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready' ORDER BY modification, name`,
  );
  return {
    archivedCount: Number(row.archived_count),
    failedCount: Number(row.failed_count),
    lastArchivedWal: row.last_archived_wal ?? undefined,
    lastArchivedAt: row.last_archived_time ?? undefined,
    lastFailedWal: row.last_failed_wal ?? undefined,
    lastFailedAt: row.last_failed_time ?? undefined,
    ready: ready.rows.map((x) => ({ name: x.name.slice(0, -'.ready'.length), readyAt: x.modification })),
    insertLsn: row.insert_lsn ? parseLsn(row.insert_lsn) : undefined,
    completedXidHorizon: row.xmax ? BigInt(row.xmax) : undefined,
    walSegmentSize: Number(row.seg),
  };
}

