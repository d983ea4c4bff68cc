// Every Prometheus series the agent exposes, defined in one place (prom-client, own registry).
// Names carry their unit (_seconds, _bytes, _timestamp_seconds, _total). No label is called `job`:
// Prometheus sets its own `job` at scrape and would rename ours to exported_job; scheduled jobs are
// labelled `operation`.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Exposure } from './monitor.js';
import type { JobName } from './jobs.js';

export interface OperationRun {
  seconds?: number;
  /** bytes the run wrote to the repositories (backup: stored bytes; replicate: bytes copied) */
  bytes?: number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [this.registry] });
  private readonly c = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [this.registry] });
  readonly walLastArchived = this.g('fsdr_wal_last_archived_timestamp_seconds', 'Time the newest WAL segment reached the primary repository');
  readonly walAge = this.g('fsdr_wal_archive_age_seconds', 'Age of the newest WAL a recovery from the primary repository reaches (grows on a quiet database too: see fsdr_wal_rpo_exposure_seconds)');
  readonly walArchivedSegments = this.g('fsdr_wal_archived_segments', 'WAL segments (and .partial segments) held by the primary repository');
  readonly walGaps = this.g('fsdr_wal_gaps', 'Holes in the archived WAL (any hole breaks recoveries that must cross it)');
  readonly walMissing = this.g('fsdr_wal_missing_segments', 'WAL segments missing inside the archive, per timeline', ['timeline']);
  readonly walRecoveryBlocked = this.g('fsdr_wal_recovery_blocked', '1 when a hole after the newest backup stops recovery short of the newest archived WAL');
  // From PostgreSQL (pg_stat_archiver, pg_wal/archive_status), with a cluster section.
  readonly archiverArchived = this.c('fsdr_wal_archiver_archived_total', 'WAL files PostgreSQL archived successfully (pg_stat_archiver.archived_count)');
  readonly archiverFailed = this.c('fsdr_wal_archiver_failures_total', 'Failed archive_command runs (pg_stat_archiver.failed_count)');
  readonly archiverLastSuccess = this.g('fsdr_wal_archiver_last_success_timestamp_seconds', 'Last successful archive_command (pg_stat_archiver.last_archived_time)');
  readonly archiverLastFailure = this.g('fsdr_wal_archiver_last_failure_timestamp_seconds', 'Last failed archive_command (pg_stat_archiver.last_failed_time)');
  readonly walReady = this.g('fsdr_wal_ready_files', 'WAL files marked .ready in pg_wal/archive_status, waiting for archive_command');
  readonly walReadyAge = this.g('fsdr_wal_ready_oldest_age_seconds', 'Age of the oldest .ready WAL file (0 with none)');
  readonly walUnarchivedBytes = this.g('fsdr_wal_unarchived_bytes', 'WAL written and not yet archived (insert position minus the oldest unarchived position)');
  readonly walRpoExposure = this.g('fsdr_wal_rpo_exposure_seconds', 'Age of the oldest WAL not yet archived: what a lost instance loses now (0 when all is archived)');
  readonly backupLast = this.g('fsdr_backup_last_success_timestamp_seconds', 'End time of the newest complete base backup');
  readonly backupAge = this.g('fsdr_backup_age_seconds', 'Age of the newest complete base backup');
  readonly firstRecoverable = this.g('fsdr_repository_first_recoverable_timestamp_seconds', 'Oldest point a restore from the repository can reach (end of its oldest backup)', ['repository']);
  readonly lastRecoverable = this.g('fsdr_repository_last_recoverable_timestamp_seconds', 'Newest point a recovery from the repository reaches (its newest archived WAL, or before a hole)', ['repository']);
  readonly replicationLag = this.g('fsdr_replication_lag_seconds', 'Age of the oldest primary object not yet on the replica (0 when in sync)', ['replica']);
  readonly replicationMissing = this.g('fsdr_replication_missing_objects', 'Objects of the primary not yet on the replica', ['replica']);
  readonly storedBytes = this.g('fsdr_repository_stored_bytes', 'Bytes of the objects the repository holds (not the size of its filesystem)', ['repository']);
  readonly storageFree = this.g('fsdr_repository_free_bytes', 'Room left: free space of a directory repository\'s filesystem, or quotaGiB minus stored bytes for a bucket', ['repository']);
  readonly storageCapacity = this.g('fsdr_repository_capacity_bytes', 'Size of a directory repository\'s filesystem, or the configured quotaGiB of a bucket', ['repository']);
  readonly fenceEpoch = this.g('fsdr_fence_epoch', 'Highest failover fence epoch in the repository (0: none); it changes when a failover or failback fences the old writer', ['repository']);
  readonly exposure = this.g('fsdr_objective_exposure_seconds', 'Live RPO exposure (objective="rpo") and estimated RTO from the newest drill (objective="rto"), per scenario', ['scenario', 'objective']);
  readonly objectiveLimit = this.g('fsdr_objective_limit_seconds', 'Configured objective per scenario', ['scenario', 'objective']);
  readonly objectiveRatio = this.g('fsdr_objective_at_risk_ratio', 'Share of the objective used now (exposure / objective; 1 = broken)', ['scenario', 'objective']);
  readonly drillLastSuccess = this.g('fsdr_drill_last_success_timestamp_seconds', 'End time of the newest passed drill, per drill kind (from its evidence)', ['kind']);
  readonly drillLastResult = this.g('fsdr_drill_last_result', 'Result of the newest drill per kind: 1 passed, 0 failed (or its evidence unreadable)', ['kind']);
  readonly drillAge = this.g('fsdr_drill_age_seconds', 'Age of the newest drill per kind, whatever its result', ['kind']);
  readonly drillRto = this.g('fsdr_drill_last_rto_seconds', 'RTO the newest drill of a kind measured (restore start to a checked instance)', ['kind']);
  readonly drillRpo = this.g('fsdr_drill_last_rpo_seconds', 'RPO exposure the newest drill of a kind measured (age of the newest WAL its restore reached)', ['kind']);
  readonly opLastSuccess = this.g('fsdr_operation_last_success_timestamp_seconds', 'Last successful run of a scheduled operation', ['operation']);
  // With the success time, says whether the newest run failed (a retry that succeeds clears it), which a
  // failure counter's increase cannot: its window ends while the operation is still failing.
  readonly opLastFailure = this.g('fsdr_operation_last_failure_timestamp_seconds', 'Last failed run (or retry) of a scheduled operation', ['operation']);
  readonly opDuration = this.g('fsdr_operation_last_duration_seconds', 'Duration of the last run of a scheduled operation, per outcome', ['operation', 'outcome']);
  readonly opBytes = this.g('fsdr_operation_last_success_bytes', 'Bytes the last successful run wrote to the repositories (backup, replicate)', ['operation']);
  readonly opRuns = this.c('fsdr_operation_runs_total', 'Scheduled operation runs by outcome', ['operation', 'outcome']);
  readonly haRole = this.g('fsdr_ha_role', 'Under Patroni (ha:): 1 for this node\'s role now (leader, replica, or unknown when its Patroni REST API does not answer), 0 for the others', ['role']);
  readonly monitorErrors = this.c('fsdr_monitor_errors_total', 'Failed exposure measurements (repository or cluster unreachable…)');
  private archiverSeen = { archived: 0, failed: 0 };

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
    if (e.walArchivedSegments !== undefined) this.walArchivedSegments.set(e.walArchivedSegments);
    this.observeArchiving(e);
    if (e.recoverable?.first) this.firstRecoverable.set({ repository: 'primary' }, sec(e.recoverable.first)!);
    if (e.recoverable?.last) this.lastRecoverable.set({ repository: 'primary' }, sec(e.recoverable.last)!);
    if (e.lastBackupAt) this.backupLast.set(sec(e.lastBackupAt)!);
    if (e.backupAgeSeconds !== undefined) this.backupAge.set(e.backupAgeSeconds);
    for (const r of e.replicas) {
      this.replicationLag.set({ replica: r.name }, r.lagSeconds);
      this.replicationMissing.set({ replica: r.name }, r.missingObjects);
    }
    for (const u of e.repositories ?? []) {
      this.storedBytes.set({ repository: u.repository }, u.storedBytes);
      if (u.freeBytes !== undefined) this.storageFree.set({ repository: u.repository }, u.freeBytes);
      if (u.capacityBytes !== undefined) this.storageCapacity.set({ repository: u.repository }, u.capacityBytes);
    }
    for (const f of e.fences ?? []) this.fenceEpoch.set({ repository: f.repository }, f.epoch);
    for (const d of e.drills ?? []) {
      if (d.error) {
        this.drillLastResult.set({ kind: d.kind }, 0);
        continue;
      }
      this.drillLastResult.set({ kind: d.kind }, d.lastOk ? 1 : 0);
      if (d.lastSuccessAt) this.drillLastSuccess.set({ kind: d.kind }, sec(d.lastSuccessAt)!);
      if (d.ageSeconds !== undefined) this.drillAge.set({ kind: d.kind }, d.ageSeconds);
      if (d.rtoSeconds !== undefined) this.drillRto.set({ kind: d.kind }, d.rtoSeconds);
      if (d.rpoSeconds !== undefined) this.drillRpo.set({ kind: d.kind }, d.rpoSeconds);
    }
    for (const o of e.objectives) {
      const labels = { scenario: o.scenario, objective: o.objective };
      this.objectiveLimit.set(labels, o.limitSeconds);
      if (o.exposureSeconds !== undefined) this.exposure.set(labels, o.exposureSeconds);
      if (o.ratio !== undefined) this.objectiveRatio.set(labels, o.ratio);
    }
  }

  private observeArchiving(e: Exposure): void {
    const a = e.archiving;
    if (!a || a.error) return;
    // PostgreSQL's counters restart with the server (or pg_stat_reset_shared): so does ours.
    const toCounter = (c: Counter, now: number | undefined, key: 'archived' | 'failed') => {
      if (now === undefined) return;
      if (now < this.archiverSeen[key]) { c.reset(); this.archiverSeen[key] = 0; }
      c.inc(now - this.archiverSeen[key]);
      this.archiverSeen[key] = now;
    };
    toCounter(this.archiverArchived, a.archivedCount, 'archived');
    toCounter(this.archiverFailed, a.failedCount, 'failed');
    if (a.lastArchivedAt) this.archiverLastSuccess.set(Date.parse(a.lastArchivedAt) / 1000);
    if (a.lastFailedAt) this.archiverLastFailure.set(Date.parse(a.lastFailedAt) / 1000);
    if (a.unarchived) {
      this.walReady.set(a.unarchived.readyFiles);
      this.walReadyAge.set(a.unarchived.oldestReadySeconds);
      this.walUnarchivedBytes.set(a.unarchived.bytes);
      this.walRpoExposure.set(a.unarchived.exposureSeconds);
    }
  }

  /** A run that stood down (a fenced region, a Patroni replica): counted, but neither a success nor a failure. */
  operationSkipped(operation: JobName): void {
    this.opRuns.inc({ operation, outcome: 'skipped' });
  }

  setHaRole(role: 'leader' | 'replica' | 'unknown'): void {
    for (const r of ['leader', 'replica', 'unknown'] as const) this.haRole.set({ role: r }, r === role ? 1 : 0);
  }

  operationFinished(operation: JobName, ok: boolean, run: OperationRun = {}): void {
    const outcome = ok ? 'success' : 'failure';
    this.opRuns.inc({ operation, outcome });
    (ok ? this.opLastSuccess : this.opLastFailure).set({ operation }, Date.now() / 1000);
    if (run.seconds !== undefined) this.opDuration.set({ operation, outcome }, run.seconds);
    if (ok && run.bytes !== undefined) this.opBytes.set({ operation }, run.bytes);
  }
}

/** What a successful run wrote, from its summary (jobs.ts): the backup's stored bytes, the bytes replicated. */
export function bytesOfRun(summary: unknown): number | undefined {
  if (Array.isArray(summary)) {
    const b = summary.map((r) => (r as { bytes?: unknown }).bytes).filter((x): x is number => typeof x === 'number');
    return b.length ? b.reduce((a, x) => a + x, 0) : undefined;
  }
  const s = summary as { storedBytes?: unknown } | undefined;
  return typeof s?.storedBytes === 'number' ? s.storedBytes : undefined;
}
