// Applies overdue scheduled_enable_at / scheduled_disable_at (as FS does every 30 s, under an
// advisory lock so one server of many acts). Off in drill/verify mode: right after a PITR it would
// change evaluations before the golden check runs, so then it only lists what is overdue.
import type pg from 'pg';
import { inTx } from './db/tx.js';
import { writeAudit } from './manage/audit.js';

const LOCK_ID = 1;

export interface DueSchedule { state_id: string; flag_key: string; env_id: string; org_id: string; kind: 'enable' | 'disable'; at: Date }

const DUE_SQL = `
  SELECT s.id AS state_id, f.key AS flag_key, s.env_id, s.org_id, 'enable' AS kind, s.scheduled_enable_at AS at
    FROM flag_states s JOIN flags f ON f.id = s.flag_id WHERE s.scheduled_enable_at <= now()
  UNION ALL
  SELECT s.id, f.key, s.env_id, s.org_id, 'disable', s.scheduled_disable_at
    FROM flag_states s JOIN flags f ON f.id = s.flag_id WHERE s.scheduled_disable_at <= now()
  ORDER BY at`;

export async function overdueSchedules(db: pg.Pool | pg.ClientBase): Promise<DueSchedule[]> {
  return (await db.query<DueSchedule>(DUE_SQL)).rows;
}

/** Applies every due schedule in one transaction; returns how many were applied (0 if another server holds the lock). */
export async function applyDueSchedules(pool: pg.Pool, auditKey: Buffer): Promise<number> {
  return inTx(pool, async (tx) => {
    const locked = (await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_ID])).rows[0].ok;
    if (!locked) return 0;
    const due = await overdueSchedules(tx);
    for (const d of due) {
      const column = d.kind === 'enable' ? 'scheduled_enable_at' : 'scheduled_disable_at';
      const after = (await tx.query(`UPDATE flag_states SET enabled = $2, ${column} = NULL, updated_at = now() WHERE id = $1 RETURNING *`,
        [d.state_id, d.kind === 'enable'])).rows[0];
      await writeAudit(tx, auditKey, { orgId: d.org_id, actor: 'scheduler', action: `flag.scheduled_${d.kind}`, resourceType: 'flag_state',
        resourceId: d.state_id, before: null, after });
    }
    return due.length;
  });
}

export class Scheduler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly pool: pg.Pool, private readonly auditKey: Buffer, private readonly onError: (err: Error) => void) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = applyDueSchedules(this.pool, this.auditKey).catch(this.onError).finally(() => { this.running = undefined; });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
