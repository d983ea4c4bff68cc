// Where a standby is: replay position and time, or a primary's current WAL position; promotion.
import type pg from 'pg';
import { parseLsn } from './lsn.js';

export interface ReplayState {
  inRecovery: boolean;
  /** Replayed up to (standby) or written up to (primary). */
  lsn: bigint;
  lsnText: string;
  /** Commit time of the last transaction replayed (standby); null before the first one. */
  replayedAt: string | null;
  timeline: number;
}

export async function readReplay(client: pg.Client): Promise<ReplayState> {
  const r = await client.query<{ rec: boolean; lsn: string; ts: Date | null; tli: string }>(`SELECT pg_is_in_recovery() AS rec,
    (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
    pg_last_xact_replay_timestamp() AS ts,
    (SELECT timeline_id FROM pg_control_checkpoint())::text AS tli`);
  const row = r.rows[0]!;
  return { inRecovery: row.rec, lsn: parseLsn(row.lsn), lsnText: row.lsn, replayedAt: row.ts ? new Date(row.ts).toISOString() : null, timeline: Number(row.tli) };
}

/**
 * Promotion: the standby replays whatever WAL it can still fetch, then leaves recovery. Signalled
 * with pg_promote(wait => false) and then followed by short queries: a pg_promote(true) that
 * waits holds one statement open on a hot standby for the whole replay, and after a busy
 * workload replay's cleanup records cancel it ("conflict with recovery") though promotion goes on.
 */
export async function promote(client: pg.Client, waitSeconds: number): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('SELECT pg_promote(false) AS ok');
  if (!r.rows[0]!.ok) return false;
  const deadline = Date.now() + waitSeconds * 1000;
  while (Date.now() < deadline) {
    if (!(await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r) return true;
    await new Promise((x) => setTimeout(x, 100));
  }
  return false;
}

/** The timeline a promoted server writes on now. */
export async function currentTimeline(client: pg.Client): Promise<number> {
  const r = await client.query<{ tli: string }>('SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli');
  return parseInt(r.rows[0]!.tli, 16);
}
