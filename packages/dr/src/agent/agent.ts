// The fsdr agent: the daemon beside PostgreSQL that keeps the backup policy without anyone
// watching. One composition root: it builds the scheduler, the exposure monitor, the async WAL
// archiver and the HTTP API from one resolved config; stop() drains them in reverse order.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { resolveSecret } from '../config/secret-ref.js';
import { describeError, FsdrError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import { log } from '../util/log.js';
import { buildHttp } from './http.js';
import { buildJobs, JOB_NAMES, jobSchedules } from './jobs.js';
import { AgentMetrics, bytesOfRun } from './metrics.js';
import { UnarchivedWalClock } from '../monitoring/unarchived-wal.js';
import { startStream, streamingStatus, type RunningStream } from '../commands/stream/stream.js';
import { consoleAlerts, startAlerting, type Alerting } from './alerting.js';
import { measureExposure, type Exposure } from './monitor.js';
import { Scheduler } from './scheduler.js';
import { ConsoleData } from '../console/data.js';
import { CONSOLE_PUBLIC_PATHS, registerConsole } from '../console/routes.js';
import { startFenceWatch } from './fence-watch.js';
import { registerStandbyMetrics } from './standby-metrics.js';
import { HaRoleWatch } from './ha-role.js';

export interface AgentOptions {
  /** Monitor interval (exposure, lag, free space); agent.monitorIntervalSeconds otherwise. */
  monitorIntervalMs?: number;
  /** Scheduler tick. */
  tickMs?: number;
  /** Multiplies the alert rules' `for` durations (tests shorten them; 1 in production). */
  alertPendingScale?: number;
}

export class Agent {
  private repo?: Repository;
  private scheduler?: Scheduler;
  private readonly metrics = new AgentMetrics();
  private readonly archiveClock = new UnarchivedWalClock();
  private alerting?: Alerting;
  private exposure?: Exposure;
  private timers: NodeJS.Timeout[] = [];
  private app?: ReturnType<typeof buildHttp>;
  private archiving = false;
  private archiver?: Promise<void>;
  private consoleData?: ConsoleData;
  private measuring?: Promise<void>;
  private remeasure?: Promise<void>;
  private readonly startedAt = new Date();
  private haRole?: HaRoleWatch;
  private stopping?: Promise<string[]>;
  private stream?: RunningStream;
  readonly owner = `${hostname()}:${process.pid}`;

  constructor(private readonly cfg: Config, private readonly opts: AgentOptions = {}) {}

  async start(): Promise<{ url: string }> {
    if (this.cfg.regions) this.timers.push(await startFenceWatch(this.cfg));
    if (this.cfg.regions) registerStandbyMetrics(this.metrics.registry, this.cfg);
    if (this.cfg.ha) {
      this.haRole = new HaRoleWatch(this.cfg, this.metrics);
      await this.haRole.refresh();
    }
    this.repo = await Repository.open(this.cfg);
    await this.repo.readInfo();
    const jobs = buildJobs(this.cfg, this.repo);
    this.scheduler = new Scheduler(JOB_NAMES.map((n) => jobs[n]), jobSchedules(this.cfg), this.repo.storage, this.owner, {
      onFinish: (job, ok, summary) => {
        const run = this.scheduler?.state.get(job)?.lastRun;
        const seconds = run?.finishedAt ? (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000 : undefined;
        this.metrics.operationFinished(job, ok, { seconds, bytes: ok ? bytesOfRun(summary) : undefined });
        // What a job changed (a new backup, drill evidence) shows in /metrics now, not at the next interval.
        void this.monitor();
        log()[ok ? 'info' : 'error']({ job, ok, summary }, `job ${job} ${ok ? 'finished' : 'failed'}`);
      },
      onSkip: (job, why) => {
        this.metrics.operationSkipped(job);
        log().info({ job, skipped: why }, `job ${job} skipped: ${why}`);
      },
    }, { attempts: this.cfg.agent.retry.attempts, initialMs: this.cfg.agent.retry.initialSeconds * 1000, maxMs: this.cfg.agent.retry.maxSeconds * 1000 }, this.haRole?.gate);
    const token = this.cfg.agent.token ? resolveSecret('agent.token', this.cfg.agent.token) : undefined;
    const consoleData = (this.consoleData = new ConsoleData(this.cfg, () => this.repo!));
    this.app = buildHttp({ token, metrics: this.metrics, status: () => this.status(), publicPaths: CONSOLE_PUBLIC_PATHS, routes: (app) => registerConsole(app, { data: consoleData, status: () => this.status(), alerts: () => consoleAlerts(this.alerting?.firing() ?? []) }) });
    const [host, port] = this.cfg.agent.listen.split(':');
    const url = await this.app.listen({ host, port: Number(port) }).catch((err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use (another agent, or another service)' : err.code === 'EACCES' ? 'permission denied (a port below 1024?)' : err.message;
      throw new FsdrError('FSDR_AGENT_LISTEN', `agent.listen ${this.cfg.agent.listen}: ${why}`, { hint: 'choose a free address in agent.listen (fsdr.yaml), or stop what holds it (ss -ltnp)' });
    });

    this.alerting = startAlerting(this.cfg, this.metrics, this.opts.alertPendingScale);
    await this.monitor();
    await this.scheduler.catchUp(new Date());
    this.timers.push(setInterval(() => void this.scheduler!.tick(new Date()), this.opts.tickMs ?? 1000));
    this.timers.push(setInterval(() => void this.monitor(), this.opts.monitorIntervalMs ?? this.cfg.agent.monitorIntervalSeconds * 1000));
    if (this.cfg.archive.async && this.cfg.cluster?.pgdata) this.startArchiver(join(this.cfg.cluster.pgdata, 'pg_wal'));
    // Streaming archiving runs in the agent's process: pg_receivewal is its child (restarted with
    // backoff by streaming/receiver.ts), the shipper shares the exposure monitor's view of it.
    if (this.cfg.archive.streaming.enabled) {
      this.stream = await startStream(this.cfg);
    }
    log().info({ url, owner: this.owner }, 'agent started');
    return { url };
  }

  /**
   * One measurement at a time: the interval and a finished job both ask for one, and overlapping
   * runs would hand the unarchived-WAL clock its samples out of order (it would take the older
   * position for another server and start over). A request during a run gets one run after it.
   */
  private monitor(): Promise<void> {
    if (this.measuring) {
      this.remeasure ??= this.measuring.then(() => {
        this.remeasure = undefined;
        return this.monitor();
      });
      return this.remeasure;
    }
    this.measuring = this.measure().finally(() => { this.measuring = undefined; });
    return this.measuring;
  }

  private async measure(): Promise<void> {
    await this.haRole?.refresh();
    try {
      this.exposure = await measureExposure(this.cfg, this.repo!, new Date(), this.archiveClock, this.stream?.streamed.storedLsn);
      this.metrics.observe(this.exposure);
      await this.consoleData?.pitr().catch(() => undefined); // keeps /status's recovery windows current
      if (this.exposure.archiving?.error) this.metrics.monitorErrors.inc();
    } catch (err) {
      this.metrics.monitorErrors.inc();
      this.exposure = { ...(this.exposure ?? { replicas: [], objectives: [] }), checkedAt: new Date().toISOString(), error: describeError(err) };
    }
    await this.alerting?.evaluate();
  }

  /** The async WAL archiver: keep a pusher running so wal-push finds its segments already stored. */
  private startArchiver(pgWalDir: string): void {
    this.archiving = true;
    this.archiver = (async () => {
      const { runAsyncPusher } = await import('../commands/wal-push/async-pusher.js');
      const { spoolDir } = await import('../commands/wal-push/spool.js');
      const { PushPool } = await import('../commands/wal-push/push-pool.js');
      const spool = spoolDir(this.cfg.archive.spoolPath, this.cfg.source);
      const pool = new PushPool(this.cfg, this.cfg.archive.processes);
      while (this.archiving) {
        try {
          const r = await runAsyncPusher(this.repo!, { pgWalDir, spool, processes: this.cfg.archive.processes, idleMs: 2000, push: (p) => pool.push(p) });
          if (r === false) await new Promise((res) => setTimeout(res, 1000));
        } catch (err) {
          log().error({ err: describeError(err) }, 'async archiver failed; retrying');
          await new Promise((res) => setTimeout(res, 5000));
        }
      }
      await pool.close();
    })();
  }

  status(): unknown {
    return {
      owner: this.owner,
      startedAt: this.startedAt.toISOString(),
      repository: { name: 'primary', location: this.repo?.storage.description },
      ...(this.haRole ? { ha: { node: this.cfg.ha!.self, role: this.haRole.role, error: this.haRole.error } } : {}),
      jobs: [...(this.scheduler?.state.values() ?? [])],
      exposure: this.exposure,
      recoveryWindows: this.consoleData?.recoveryWindows,
      alerts: this.alerting?.firing() ?? [],
      ...(this.stream ? { streaming: streamingStatus(this.stream) } : {}),
    };
  }

  /** Idempotent: stop scheduling, let a running job finish (or abandon it after the timeout), close. */
  stop(): Promise<string[]> {
    this.stopping ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      const abandoned = (await this.scheduler?.stop(this.cfg.agent.stopTimeoutSeconds * 1000)) ?? [];
      this.archiving = false;
      await this.archiver;
      await this.stream?.stop();
      await (this.remeasure ?? this.measuring)?.catch(() => undefined); // the last measurement, and its notifications
      await this.alerting?.stop();
      await this.app?.close();
      await this.repo?.close();
      log().info({ abandoned }, 'agent stopped');
      return abandoned;
    })();
    return this.stopping;
  }
}
