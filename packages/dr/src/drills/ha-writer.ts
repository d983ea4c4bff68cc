// The writer behind an instance-failure drill: commits one row every intervalMs through the
// address clients use (HAProxy in front of Patroni), logging each commit on the client side after
// COMMIT returned, and reconnecting when the session is lost, as an application would. Its log
// gives the client-side outage (last commit before the failure → first commit after it) and, read
// against the new primary, the acknowledged commits that failover lost.
import type pg from 'pg';
import { randomBytes } from 'node:crypto';
import { describeError } from '../errors.js';
import { newClient } from '../postgres/cluster.js';
import { WRITER_SCHEMA } from './commit-writer.js';

const TABLE = `${WRITER_SCHEMA}.ha_commit_log`;

export interface HaWriterLog {
  run: string;
  /** client time (ms) after each acknowledged COMMIT returned */
  commits: number[];
  /** the seq of each acknowledged commit (an attempt whose answer was lost keeps its seq unused) */
  seqs: number[];
  /** each failed attempt's time and reason (connect or commit), in order */
  failures: Array<{ at: number; error: string }>;
}

export interface HaWriter {
  run: string;
  /** the log so far (a copy) */
  snapshot(): HaWriterLog;
  stop(): Promise<HaWriterLog>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends a client whose server may have died under it, bounded: pg's end() waits for the socket's
 * 'end' event, which a connection already torn down by the failover may never emit again, and a
 * drill must not hang on it. After `ms` the socket is destroyed.
 */
export async function closeClient(c: pg.Client | undefined, ms = 1000): Promise<void> {
  if (!c) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    c.end().catch(() => undefined),
    new Promise<void>((r) => { timer = setTimeout(r, ms); }),
  ]);
  clearTimeout(timer);
  (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

export async function startHaWriter(conn: pg.ClientConfig, opts: { intervalMs: number; connectTimeoutMs?: number }): Promise<HaWriter> {
  const run = randomBytes(6).toString('hex');
  const log: HaWriterLog = { run, commits: [], seqs: [], failures: [] };
  let attempt = 0;
  const cfg = { ...conn, connectionTimeoutMillis: opts.connectTimeoutMs ?? 1000, query_timeout: 5000 };
  let c: pg.Client | undefined = newClient(cfg, 'fsdr drill ha-writer');
  await c.connect();
  try {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${WRITER_SCHEMA}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (run text NOT NULL, seq int NOT NULL, client_committed_at timestamptz NOT NULL, PRIMARY KEY (run, seq))`);
  } catch (err) {
    await closeClient(c);
    throw err;
  }
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        if (!c) {
          c = newClient(cfg, 'fsdr drill ha-writer');
          await c.connect();
        }
        const seq = ++attempt;
        await c.query(`INSERT INTO ${TABLE} (run, seq, client_committed_at) VALUES ($1, $2, clock_timestamp())`, [run, seq]);
        log.commits.push(Date.now());
        log.seqs.push(seq);
      } catch (err) {
        log.failures.push({ at: Date.now(), error: describeError(err) });
        const old = c;
        c = undefined;
        await closeClient(old);
      }
      await sleep(opts.intervalMs);
    }
  })();
  return {
    run,
    snapshot: () => ({ run, commits: [...log.commits], seqs: [...log.seqs], failures: [...log.failures] }),
    async stop() {
      stopping = true;
      await loop;
      await closeClient(c);
      return { run, commits: [...log.commits], seqs: [...log.seqs], failures: [...log.failures] };
    },
  };
}

/**
 * The client-side outage caused by a failure at `at`: from the last commit before the writer's first
 * failed attempt at or after `at`, to its first commit after that failure (a commit acknowledged
 * just after `at` but before the server died is not a reconnect).
 */
export function outageAround(log: HaWriterLog, at: number): { failedAt?: number; lastBefore?: number; firstAfter?: number; seconds?: number } {
  const failedAt = log.failures.find((f) => f.at >= at)?.at;
  if (failedAt === undefined) return {};
  let lastBefore: number | undefined;
  let firstAfter: number | undefined;
  for (const t of log.commits) {
    if (t <= failedAt) lastBefore = t;
    else if (firstAfter === undefined) firstAfter = t;
  }
  return { failedAt, lastBefore, firstAfter, seconds: lastBefore !== undefined && firstAfter !== undefined ? (firstAfter - lastBefore) / 1000 : undefined };
}

export interface HaLoss {
  acknowledged: number;
  present: number;
  /** seqs of acknowledged commits the database does not hold */
  lost: number[];
  /** seconds between the oldest lost commit and the last acknowledged one (0 when none is lost) */
  rpoSeconds: number;
}

/** Which of the writer's acknowledged commits `conn` (the new primary, through HAProxy) holds. */
export async function commitsLost(conn: pg.ClientConfig, log: HaWriterLog): Promise<HaLoss> {
  const c = newClient({ connectionTimeoutMillis: 5000, query_timeout: 10_000, ...conn }, 'fsdr drill ha-rpo');
  await c.connect();
  try {
    const rows = (await c.query<{ seq: number }>(`SELECT seq FROM ${TABLE} WHERE run = $1`, [log.run])).rows;
    const have = new Set(rows.map((r) => r.seq));
    const lost: number[] = [];
    let firstLostAt: number | undefined;
    log.seqs.forEach((seq, i) => {
      if (have.has(seq)) return;
      lost.push(seq);
      firstLostAt ??= log.commits[i];
    });
    const last = log.commits.at(-1) ?? 0;
    return { acknowledged: log.seqs.length, present: log.seqs.length - lost.length, lost, rpoSeconds: firstLostAt !== undefined ? (last - firstLostAt) / 1000 : 0 };
  } finally {
    await closeClient(c);
  }
}

/** Removes the run's rows (and the table once empty), on the primary. */
export async function dropHaWriter(conn: pg.ClientConfig, run: string): Promise<void> {
  const c = newClient({ connectionTimeoutMillis: 5000, query_timeout: 10_000, ...conn }, 'fsdr drill ha-writer');
  await c.connect();
  try {
    await c.query(`DELETE FROM ${TABLE} WHERE run = $1`, [run]);
    await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ${TABLE}) THEN DROP TABLE ${TABLE}; END IF; END $$`);
  } finally {
    await closeClient(c);
  }
}
