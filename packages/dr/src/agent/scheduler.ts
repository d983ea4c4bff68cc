// The agent's scheduler: cron schedules in UTC, driven by an injectable clock so tests need no
// sleeps. At start, a job whose last effect is older than its previous occurrence is overdue and
// runs at once. Each occurrence is claimed through a lease, so two agents never both run it.
import { Cron } from 'croner';
import { describeError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { Job, JobName } from './jobs.js';
import { claim } from './lease.js';

export interface JobState {
  name: JobName;
  schedule: string;
  nextRun?: string;
  running: boolean;
  lastRun?: { occurrence: string; startedAt: string; finishedAt?: string; ok?: boolean; error?: string; summary?: unknown };
  skipped: number;
  failures: number;
  successes: number;
}

export interface SchedulerEvents {
  onFinish?(job: JobName, ok: boolean, summary: unknown): void;
}

export class Scheduler {
  readonly state = new Map<JobName, JobState>();
  private readonly crons = new Map<JobName, Cron>();
  private readonly next = new Map<JobName, Date>();
  private readonly running = new Map<JobName, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly jobs: Job[],
    schedules: Partial<Record<JobName, string>>,
    private readonly leases: Storage,
    private readonly owner: string,
    private readonly events: SchedulerEvents = {},
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
      if (prev && (!last || last < prev)) launched.push(this.launch(job, prev));
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
        launched.push(this.launch(job, due));
        const n = cron.nextRun(now)!;
        this.next.set(job.name, n);
        this.state.get(job.name)!.nextRun = n.toISOString();
      }
    }
    return launched;
  }

  private launch(job: Job, occurrence: Date): Promise<void> {
    const st = this.state.get(job.name)!;
    // One run of a job at a time in this agent; a run still going when the next is due skips it.
    if (this.running.has(job.name)) {
      st.skipped++;
      return this.running.get(job.name)!;
    }
    const p = (async () => {
      if (!(await claim(this.leases, job.name, occurrence, this.owner))) {
        st.skipped++;
        return;
      }
      st.running = true;
      st.lastRun = { occurrence: occurrence.toISOString(), startedAt: new Date().toISOString() };
      try {
        const summary = await job.run();
        st.lastRun = { ...st.lastRun, finishedAt: new Date().toISOString(), ok: true, summary };
        st.successes++;
        this.events.onFinish?.(job.name, true, summary);
      } catch (err) {
        st.lastRun = { ...st.lastRun, finishedAt: new Date().toISOString(), ok: false, error: describeError(err) };
        st.failures++;
        this.events.onFinish?.(job.name, false, describeError(err));
      } finally {
        st.running = false;
      }
    })().catch((err) => {
      st.failures++;
      st.lastRun = { occurrence: occurrence.toISOString(), startedAt: new Date().toISOString(), ok: false, error: describeError(err) };
    }).finally(() => this.running.delete(job.name));
    this.running.set(job.name, p);
    return p;
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
