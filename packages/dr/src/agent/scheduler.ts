// The agent's scheduler: cron schedules in UTC, driven by an injectable clock so tests need no
// sleeps. At start, a job whose last effect is older than its previous occurrence is overdue and
// runs at once. Each occurrence is claimed through a lease, so two agents never both run it. A failed
// run is retried with exponential backoff while the next occurrence is still ahead (a daily backup
// that failed at 03:00 must not wait a day), and jobs flagged exclusive (expire) never overlap
// another job of this agent. A run that stands down (this region is fenced: it may not write) is
// neither a failure nor retried: it is counted as skipped with the reason, so a warm standby's
// agent does not page anyone every night for backups it must not take. Under Patroni (ha:), jobs
// flagged leaderOnly (backup, dump) are skipped the same way, before any lease is claimed, on a
// node that is not the leader, so the leader's agent still gets the occurrence.
import { Cron } from 'croner';
import { describeError, FsdrError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { Job, JobName } from './jobs.js';
import { claim } from './lease.js';
import { JobGate } from './job-gate.js';

export interface RetryPolicy {
  /** retries after the first failure of an occurrence (0: none) */
  attempts: number;
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialMs: 60_000, maxMs: 30 * 60_000 };

export interface JobState {
  name: JobName;
  schedule: string;
  nextRun?: string;
  running: boolean;
  lastRun?: { occurrence: string; startedAt: string; finishedAt?: string; ok?: boolean; error?: string; summary?: unknown; skipped?: string };
  skipped: number;
  failures: number;
  successes: number;
  /** the retry scheduled after a failure, shown in /status */
  retry?: { occurrence: string; attempt: number; at: string };
}

export interface SchedulerEvents {
  onFinish?(job: JobName, ok: boolean, summary: unknown): void;
  /** the run stood down (why): not a failure, no retry (a fenced region, a Patroni replica) */
  onSkip?(job: JobName, why: string): void;
}

/** Why a run stands down instead of failing: this node may not write here (FSDR_FENCED). */
export function standDownReason(err: unknown): string | undefined {
  return err instanceof FsdrError && err.code === 'FSDR_FENCED' ? err.message : undefined;
}

/** Whether this node may run leaderOnly jobs now: `undefined` = yes, else why not. */
export type LeaderGate = () => Promise<string | undefined>;

export class Scheduler {
  readonly state = new Map<JobName, JobState>();
  private readonly crons = new Map<JobName, Cron>();
  private readonly next = new Map<JobName, Date>();
  private readonly running = new Map<JobName, Promise<void>>();
  private readonly retries = new Map<JobName, { occurrence: Date; attempt: number; at: Date }>();
  private readonly gate = new JobGate();
  private stopped = false;

  constructor(
    private readonly jobs: Job[],
    schedules: Partial<Record<JobName, string>>,
    private readonly leases: Storage,
    private readonly owner: string,
    private readonly events: SchedulerEvents = {},
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly leaderGate?: LeaderGate,
  ) {
    for (const job of jobs) {
      const expr = schedules[job.name];
      if (!expr || expr === 'off') continue;
      this.crons.set(job.name, new Cron(expr, { timezone: 'UTC', paused: true }));
      this.state.set(job.name, { name: job.name, schedule: expr, running: false, skipped: 0, failures: 0, successes: 0 });
    }
  }

  /** At start: run every job whose last effect is older than its most recent occurrence. Returns the launched runs. */
  async catchUp(now: Date): Promise<Promise<void>[]> {
    const launched: Promise<void>[] = [];
    for (const job of this.jobs) {
      const cron = this.crons.get(job.name);
      if (!cron) continue;
      const [prev] = cron.previousRuns(1, now);
      const last = await job.lastEffect();
      if (prev && (!last || last < prev)) launched.push(this.launch(job, prev, now));
      this.next.set(job.name, cron.nextRun(now)!);
      this.state.get(job.name)!.nextRun = this.next.get(job.name)!.toISOString();
    }
    return launched;
  }

  /** Run whatever is due at `now`. Returns the launched runs (tests await them). */
  tick(now: Date): Promise<void>[] {
    const launched: Promise<void>[] = [];
    if (this.stopped) return launched;
    for (const job of this.jobs) {
      const cron = this.crons.get(job.name);
      if (!cron) continue;
      let due = this.next.get(job.name);
      if (!due) {
        due = cron.nextRun(now)!;
        this.next.set(job.name, due);
      }
      if (now >= due) {
        // A new occurrence supersedes a pending retry of the previous one.
        this.retries.delete(job.name);
        delete this.state.get(job.name)!.retry;
        launched.push(this.launch(job, due, now));
        const n = cron.nextRun(now)!;
        this.next.set(job.name, n);
        this.state.get(job.name)!.nextRun = n.toISOString();
        continue;
      }
      const r = this.retries.get(job.name);
      if (r && now >= r.at && !this.running.has(job.name)) {
        this.retries.delete(job.name);
        launched.push(this.launch(job, r.occurrence, now, r.attempt));
      }
    }
    return launched;
  }

  /** `attempt` > 0: a retry of an occurrence this agent already claimed. */
  private launch(job: Job, occurrence: Date, now: Date, attempt = 0): Promise<void> {
    const st = this.state.get(job.name)!;
    // One run of a job at a time in this agent; a run still going when the next is due skips it.
    if (this.running.has(job.name)) {
      st.skipped++;
      return this.running.get(job.name)!;
    }
    const p = (async () => {
      if (job.leaderOnly && this.leaderGate) {
        const why = await this.leaderGate().catch((err: unknown) => `leader check failed: ${describeError(err)}`);
        if (why !== undefined) {
          const t = new Date().toISOString();
          st.skipped++;
          st.lastRun = { occurrence: occurrence.toISOString(), startedAt: t, finishedAt: t, skipped: why };
          this.events.onSkip?.(job.name, why);
          return;
        }
      }
      if (attempt === 0 && !(await claim(this.leases, job.name, occurrence, this.owner))) {
        st.skipped++;
        return;
      }
      const started = Date.now();
      const leave = await this.gate.enter(!!job.exclusive);
      st.running = true;
      delete st.retry;
      st.lastRun = { occurrence: occurrence.toISOString(), startedAt: new Date().toISOString() };
      try {
        const summary = await job.run();
        st.lastRun = { ...st.lastRun, finishedAt: new Date().toISOString(), ok: true, summary };
        st.successes++;
        this.events.onFinish?.(job.name, true, summary);
      } catch (err) {
        const why = standDownReason(err);
        if (why) {
          st.lastRun = { ...st.lastRun, finishedAt: new Date().toISOString(), skipped: why };
          st.skipped++;
          this.events.onSkip?.(job.name, why);
          return;
        }
        st.lastRun = { ...st.lastRun, finishedAt: new Date().toISOString(), ok: false, error: describeError(err) };
        st.failures++;
        this.events.onFinish?.(job.name, false, describeError(err));
        this.scheduleRetry(job, occurrence, attempt + 1, new Date(now.getTime() + (Date.now() - started)));
      } finally {
        st.running = false;
        leave();
      }
    })().catch((err) => {
      st.failures++;
      st.lastRun = { occurrence: occurrence.toISOString(), startedAt: new Date().toISOString(), ok: false, error: describeError(err) };
    }).finally(() => this.running.delete(job.name));
    this.running.set(job.name, p);
    return p;
  }

  private scheduleRetry(job: Job, occurrence: Date, attempt: number, failedAt: Date): void {
    if (this.stopped || attempt > this.retry.attempts) return;
    const at = new Date(failedAt.getTime() + Math.min(this.retry.initialMs * 2 ** (attempt - 1), this.retry.maxMs));
    // Only within the occurrence's window: the next occurrence is a fresh run anyway.
    const next = this.next.get(job.name) ?? this.crons.get(job.name)?.nextRun(failedAt) ?? undefined;
    if (next && at >= next) return;
    this.retries.set(job.name, { occurrence, attempt, at });
    this.state.get(job.name)!.retry = { occurrence: occurrence.toISOString(), attempt, at: at.toISOString() };
  }

  /** Stop scheduling; wait up to `timeoutMs` for running jobs. Returns the jobs abandoned. */
  async stop(timeoutMs: number): Promise<JobName[]> {
    this.stopped = true;
    const names = [...this.running.keys()];
    if (!names.length) return [];
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.running.values()).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return finished ? [] : [...this.running.keys()];
  }
}
