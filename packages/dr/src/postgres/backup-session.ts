// A non-exclusive backup on one held connection: pg_backup_start/pg_backup_stop (PostgreSQL 15+;
// pg_start_backup/pg_stop_backup before). If the connection drops, PostgreSQL ends the backup,
// and start/stop fail with SessionLostError naming the session.
import type pg from 'pg';
import { PostgresError } from '../errors.js';
import { lossOr } from './cluster.js';

export interface BackupStart {
  lsn: string;
  timeline: number;
  time: Date;
}

export interface BackupStop {
  lsn: string;
  backupLabel: string;
  tablespaceMap: string;
  time: Date;
}

export class BackupSession {
  constructor(private readonly client: pg.Client, private readonly versionNum: number) {}

  async start(label: string, fast = true): Promise<BackupStart> {
    const fn = this.versionNum >= 150000 ? 'pg_backup_start($1, $2)' : 'pg_start_backup($1, $2, false)';
    try {
      const r = await this.client.query(`SELECT ${fn}::text AS lsn, now() AS t`, [label, fast]);
      const tl = await this.client.query(`SELECT substr(pg_walfile_name($1::pg_lsn), 1, 8) AS tli`, [r.rows[0].lsn]);
      return { lsn: r.rows[0].lsn, timeline: parseInt(tl.rows[0].tli, 16), time: r.rows[0].t };
    } catch (err) {
      if (lossOr(this.client, err) !== err) throw lossOr(this.client, err);
      throw new PostgresError(`cannot start the backup: ${(err as Error).message}`, {
        hint: 'the connection needs superuser or the pg_backup_start privilege, and wal_level replica or higher',
        cause: err,
      });
    }
  }

  /**
   * Ends the backup. It does not wait for archiving inside PostgreSQL (that wait has no timeout and
   * hangs for ever when archiving is broken): the caller waits for the stop segment in the
   * repository, with a timeout and a clear error.
   */
  async stop(): Promise<BackupStop> {
    const sql = this.versionNum >= 150000
      ? 'SELECT lsn::text, labelfile, spcmapfile, now() AS t FROM pg_backup_stop(false)'
      : 'SELECT lsn::text, labelfile, spcmapfile, now() AS t FROM pg_stop_backup(false, false)';
    const r = await this.client.query(sql).catch((err: unknown) => {
      throw lossOr(this.client, err);
    });
    const row = r.rows[0];
    return { lsn: row.lsn, backupLabel: row.labelfile, tablespaceMap: row.spcmapfile ?? '', time: row.t };
  }
}
