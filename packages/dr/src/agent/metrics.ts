// Every Prometheus series the agent exposes, defined in one place (prom-client, own registry).
import { Counter, Gauge, Registry } from 'prom-client';
import type { Exposure } from './monitor.js';
import type { JobName } from './jobs.js';

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [this.registry] });
  readonly walLastArchived = this.g('fsdr_wal_last_archived_timestamp_seconds', 'Time the newest WAL segment reached the primary repository');
  readonly walAge = this.g('fsdr_wal_archive_age_seconds', 'Age of the newest archived WAL segment (RPO exposure for corruption and instance failure)');
  readonly walGaps = this.g('fsdr_wal_gaps', 'Holes in the archived WAL (any hole breaks recoveries that must cross it)');
  readonly walMissing = this.g('fsdr_wal_missing_segments', 'WAL segments missing inside the archive, per timeline', ['timeline']);
  readonly walRecoveryBlocked = this.g('fsdr_wal_recovery_blocked', '1 when a hole after the newest backup stops recovery short of the newest archived WAL');
  readonly backupLast = this.g('fsdr_backup_last_success_timestamp_seconds', 'End time of the newest complete base backup');
  readonly backupAge = this.g('fsdr_backup_age_seconds', 'Age of the newest complete base backup');
  readonly replicationLag = this.g('fsdr_replication_lag_seconds', 'Age of the oldest primary object not yet on the replica (0 when in sync)', ['replica']);
  readonly replicationMissing = this.g('fsdr_replication_missing_objects', 'Objects of the primary not yet on the replica', ['replica']);
  readonly storageFree = this.g('fsdr_repository_free_bytes', 'Free bytes on the filesystem of a directory repository', ['repository']);
  readonly storageTotal = this.g('fsdr_repository_size_bytes', 'Size of the filesystem of a directory repository', ['repository']);
  readonly exposure = this.g('fsdr_objective_exposure_seconds', 'Measured exposure per scenario and objective', ['scenario', 'objective']);
  readonly objectiveLimit = this.g('fsdr_objective_limit_seconds', 'Configured objective per scenario', ['scenario', 'objective']);
  readonly drillLastSuccess = this.g('fsdr_drill_last_success_timestamp_seconds', 'End time of the newest passed drill, per drill kind (from its evidence)', ['kind']);
  readonly drillLastResult = this.g('fsdr_drill_last_result', 'Result of the newest drill per kind: 1 passed, 0 failed (or its evidence unreadable)', ['kind']);
  readonly drillAge = this.g('fsdr_drill_age_seconds', 'Age of the newest drill per kind, whatever its result', ['kind']);
  readonly jobLastSuccess = this.g('fsdr_job_last_success_timestamp_seconds', 'Last successful run of a scheduled job', ['job']);
  // With the success time, says whether the newest run failed (a retry that succeeds clears it), which a
  // failure counter's increase cannot: its window ends while the job is still failing.
  readonly jobLastFailure = this.g('fsdr_job_last_failure_timestamp_seconds', 'Last failed run (or retry) of a scheduled job', ['job']);
  readonly jobRuns = new Counter({ name: 'fsdr_job_runs_total', help: 'Scheduled job runs by outcome', labelNames: ['job', 'outcome'], registers: [this.registry] });
  readonly monitorErrors = new Counter({ name: 'fsdr_monitor_errors_total', help: 'Failed exposure measurements (repository unreachable…)', registers: [this.registry] });

  observe(e: Exposure): void {
    const sec = (iso?: string) => (iso ? Date.parse(iso) / 1000 : undefined);
    if (e.lastWalArchivedAt) this.walLastArchived.set(sec(e.lastWalArchivedAt)!);
    if (e.walAgeSeconds !== undefined) this.walAge.set(e.walAgeSeconds);
    if (e.wal) {
      this.walGaps.set(e.wal.gaps.length);
      this.walMissing.reset();
      for (const g of e.wal.gaps) this.walMissing.inc({ timeline: String(g.timeline) }, g.segments);
      this.walRecoveryBlocked.set(e.wal.firstMissing ? 1 : 0);
    }
    if (e.lastBackupAt) this.backupLast.set(sec(e.lastBackupAt)!);
    if (e.backupAgeSeconds !== undefined) this.backupAge.set(e.backupAgeSeconds);
    for (const r of e.replicas) {
      this.replicationLag.set({ replica: r.name }, r.lagSeconds);
      this.replicationMissing.set({ replica: r.name }, r.missingObjects);
    }
    if (e.storage) {
      this.storageFree.set({ repository: 'primary' }, e.storage.freeBytes);
      this.storageTotal.set({ repository: 'primary' }, e.storage.totalBytes);
    }
    for (const d of e.drills ?? []) {
      if (d.error) {
        this.drillLastResult.set({ kind: d.kind }, 0);
        continue;
      }
      this.drillLastResult.set({ kind: d.kind }, d.lastOk ? 1 : 0);
      if (d.lastSuccessAt) this.drillLastSuccess.set({ kind: d.kind }, sec(d.lastSuccessAt)!);
      if (d.ageSeconds !== undefined) this.drillAge.set({ kind: d.kind }, d.ageSeconds);
    }
    for (const o of e.objectives) {
      this.objectiveLimit.set({ scenario: o.scenario, objective: o.objective }, o.limitSeconds);
      if (o.exposureSeconds !== undefined) this.exposure.set({ scenario: o.scenario, objective: o.objective }, o.exposureSeconds);
    }
  }

  jobFinished(job: JobName, ok: boolean): void {
    this.jobRuns.inc({ job, outcome: ok ? 'success' : 'failure' });
    (ok ? this.jobLastSuccess : this.jobLastFailure).set({ job }, Date.now() / 1000);
  }
}
