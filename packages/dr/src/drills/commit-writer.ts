// The drill's writer, for a measured RPO: commits one row at a time to the source, in its own
// schema fsdr_drill (never a FeatureSignals table), and logs each commit's time on the client
// side, taken after COMMIT returned: a logged commit is one the source acknowledged. After the
// restore, the newest logged commit present in the copy is the recovered point; RPO is the time
// from it to the last acknowledged commit, and every acknowledged commit after it is counted lost.
// Drills run it only with drill.writer.enabled (it writes to the source, production included).
import type pg from 'pg';
import { randomBytes } from 'node:crypto';
import { describeError } from '../errors.js';
import { newClient } from '../postgres/cluster.js';
import { round, type StepOutcome } from './steps.js';

export const WRITER_SCHEMA = 'fsdr_drill';
const TABLE = `${WRITER_SCHEMA}.commit_log`;

export interface WriterLog {
  run: string;
  /** client-side time (ms since the epoch) after COMMIT of seq i+1 returned */
  commits: number[];
  /** the first commit's segment was archived before the rest were written */
  anchored: boolean;
  /** why the writer stopped early, if it did */
  error?: string;
}

export interface RunningWriter {
  run: string;
  /** stops writing; the log of every acknowledged commit */
  stop(): Promise<WriterLog>;
  /** removes this run's rows, and the schema once no run is left in it */
  drop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Creates the log table, commits the first row and (anchor) switches WAL and waits until that
 * segment is archived, so any restore of the archive holds the table; then commits every intervalMs.
 */
export async function startCommitWriter(conn: pg.ClientConfig, opts: { intervalMs: number; anchorTimeoutMs: number }): Promise<RunningWriter> {
  const c = newClient(conn, 'fsdr drill writer');
  await c.connect();
  const run = randomBytes(6).toString('hex');
  const log: WriterLog = { run, commits: [], anchored: false };
  const commit = async () => {
    await c.query(`INSERT INTO ${TABLE} (run, seq, client_committed_at) VALUES ($1, $2, clock_timestamp())`, [run, log.commits.length + 1]);
    log.commits.push(Date.now());
  };
  try {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${WRITER_SCHEMA}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (run text NOT NULL, seq int NOT NULL, client_committed_at timestamptz NOT NULL, PRIMARY KEY (run, seq))`);
    await commit();
    log.anchored = await anchor(c, opts.anchorTimeoutMs);
  } catch (err) {
    await c.end().catch(() => undefined);
    throw err;
  }
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      await sleep(opts.intervalMs);
      if (stopping) break;
      try { await commit(); } catch (err) { log.error = describeError(err); break; }
    }
  })();
  return {
    run,
    async stop() {
      stopping = true;
      await loop;
      return { ...log, commits: [...log.commits] };
    },
    async drop() {
      try {
        await c.query(`DELETE FROM ${TABLE} WHERE run = $1`, [run]);
        // Another drill's rows keep the schema; the last one out removes it.
        await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ${TABLE}) THEN DROP SCHEMA ${WRITER_SCHEMA} CASCADE; END IF; END $$`);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  };
}

async function anchor(c: pg.Client, timeoutMs: number): Promise<boolean> {
  try {
    const seg = (await c.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const w = (await c.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!.w;
      if (w && w.slice(8) >= seg.slice(8)) return true;
      await sleep(200);
    }
  } catch { /* no right to switch WAL: measured without the anchor */ }
  return false;
}

export interface RpoMeasurement {
  rpoSeconds?: number;
  /** when there is no measurement: at least this much was lost */
  atLeastSeconds?: number;
  lastCommitted: string;
  recoveredThrough?: string;
  commits: number;
  present: number;
  missing: number;
}

/** Reads the copy's commit log and judges it against what the writer logged. */
export async function measureRpo(copy: pg.ClientConfig, log: WriterLog): Promise<StepOutcome & { measurement?: RpoMeasurement }> {
  const last = log.commits[log.commits.length - 1]!;
  const c = newClient(copy, 'fsdr drill rpo');
  await c.connect();
  let rows: { n: number; max: number | null };
  try {
    const exists = (await c.query<{ t: string | null }>(`SELECT to_regclass('${TABLE}')::text AS t`)).rows[0]!.t;
    rows = exists
      ? (await c.query<{ n: number; max: number | null }>(`SELECT count(*)::int AS n, max(seq) AS max FROM ${TABLE} WHERE run = $1`, [log.run])).rows[0]!
      : { n: 0, max: null };
  } finally {
    await c.end().catch(() => undefined);
  }
  const base = { lastCommitted: new Date(last).toISOString(), commits: log.commits.length, writerError: log.error, anchored: log.anchored };
  if (rows.max === null) {
    const atLeastSeconds = round((last - log.commits[0]!) / 1000);
    const measurement: RpoMeasurement = { ...base, atLeastSeconds, present: 0, missing: log.commits.length };
    const message = log.anchored
      ? `the restored copy holds none of the drill writer's ${log.commits.length} commits, though the first was archived before the restore`
      : `the restored copy holds none of the drill writer's commits (its first segment was not archived in time): RPO is at least ${atLeastSeconds} s`;
    return { ok: !log.anchored, detail: measurement, measurement, failure: log.anchored ? { object: TABLE, message } : undefined };
  }
  const through = log.commits[rows.max - 1]!;
  const measurement: RpoMeasurement = {
    ...base, rpoSeconds: round((last - through) / 1000), recoveredThrough: new Date(through).toISOString(),
    present: rows.n, missing: log.commits.length - rows.max,
  };
  // Commits are acknowledged in order: the copy holding commit N but not an earlier one is no point in time.
  if (rows.n !== rows.max) {
    return { ok: false, detail: measurement, measurement, failure: { object: TABLE, message: `the restored copy holds writer commit ${rows.max} but only ${rows.n} of the ${rows.max} before it: not a consistent point in time` } };
  }
  return { ok: true, detail: measurement, measurement };
}
