// The alert conditions the agent evaluates itself, for teams without Prometheus: each mirrors the
// rule of the same name, severity and `for` in deploy/prometheus/fsdr-alerts.yml (a unit test holds
// them together). Rules that need a range of history (predict_linear, increase) or can only be seen
// from outside (agent down) stay Prometheus-only: PROMETHEUS_ONLY names them.
import type { Sample, Samples } from './samples.js';

export interface RuleHit {
  labels: Record<string, string>;
  value: number;
}

export interface AlertRule {
  alert: string;
  severity: 'warning' | 'critical';
  forSeconds: number;
  match(s: Samples, nowSeconds: number): RuleHit[];
  summary(h: RuleHit): string;
  description(h: RuleHit): string;
}

/** Alerts of the YAML that the agent does not evaluate, and why. */
export const PROMETHEUS_ONLY: Record<string, string> = {
  FsdrRepositoryFillingUp: 'a linear forecast over a day of history',
  FsdrMonitorErrors: 'an increase over 10 minutes of history',
  FsdrFenceChanged: 'a change over an hour of history',
  FsdrAgentDown: 'only seen from outside the agent',
  FsdrAgentAbsent: 'only seen from outside the agent',
};

const dur = (s: number) => (s >= 86400 ? `${(s / 86400).toFixed(1)} d` : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${Math.round(s)} s`);
const pct = (r: number) => `${(r * 100).toFixed(0)} %`;
const hit = (x: Sample, value = x.value): RuleHit => ({ labels: x.labels, value });

/** The newest failure is newer than the newest success (or nothing ever succeeded): as in the YAML. */
function failingNow(s: Samples, failure: string, success: string, keep: (labels: Record<string, string>) => boolean): RuleHit[] {
  return s.get(failure).filter((f) => keep(f.labels)).filter((f) => {
    const ok = s.one(success, f.labels);
    return ok === undefined || f.value > ok;
  }).map((f) => hit(f));
}

const isBackup = (l: Record<string, string>) => l.operation === 'backup' || l.operation === 'dump';
const rpoLimit = (s: Samples, scenario: string) => s.one('fsdr_objective_limit_seconds', { scenario, objective: 'rpo' });

export const AGENT_RULES: AlertRule[] = [
  {
    alert: 'FsdrBackupFailed', severity: 'warning', forSeconds: 600,
    match: (s) => failingNow(s, 'fsdr_operation_last_failure_timestamp_seconds', 'fsdr_operation_last_success_timestamp_seconds', isBackup),
    summary: (h) => `fsdr ${h.labels.operation} is failing`,
    description: (h) => `The last ${h.labels.operation} run failed at ${new Date(h.value * 1000).toISOString()} and no run has succeeded since (agent log and /status jobs[] have the error).`,
  },
  {
    alert: 'FsdrOperationFailed', severity: 'warning', forSeconds: 1800,
    match: (s) => failingNow(s, 'fsdr_operation_last_failure_timestamp_seconds', 'fsdr_operation_last_success_timestamp_seconds', (l) => !isBackup(l)),
    summary: (h) => `fsdr ${h.labels.operation} is failing`,
    description: (h) => `The last ${h.labels.operation} run failed at ${new Date(h.value * 1000).toISOString()} and no run has succeeded since.`,
  },
  {
    alert: 'FsdrBackupTooOld', severity: 'warning', forSeconds: 900,
    match: (s, now) => s.get('fsdr_backup_last_success_timestamp_seconds').filter((x) => x.value > 0 && now - x.value > 93600).map((x) => hit(x, now - x.value)),
    summary: (h) => `Newest fsdr base backup is ${dur(h.value)} old`,
    description: (h) => `The newest complete base backup is ${dur(h.value)} old, more than the daily schedule allows (26 h).`,
  },
  {
    alert: 'FsdrNoBackup', severity: 'critical', forSeconds: 3600,
    match: (s) => s.get('fsdr_backup_last_success_timestamp_seconds').filter((x) => x.value === 0).map((x) => hit(x)),
    summary: () => 'No complete fsdr base backup',
    description: () => 'The repository holds no complete base backup: a restore is impossible. Run `fsdr backup` (or check why the backup job fails).',
  },
  {
    alert: 'FsdrWalArchiveFailing', severity: 'warning', forSeconds: 300,
    match: (s) => failingNow(s, 'fsdr_wal_archiver_last_failure_timestamp_seconds', 'fsdr_wal_archiver_last_success_timestamp_seconds', () => true),
    summary: () => 'fsdr WAL archiving is failing',
    description: (h) => `archive_command (fsdr wal-push) last failed at ${new Date(h.value * 1000).toISOString()} and has not succeeded since: WAL piles up in pg_wal and the RPO exposure grows. Check the PostgreSQL log and the repository.`,
  },
  {
    alert: 'FsdrWalArchiveBacklog', severity: 'warning', forSeconds: 300,
    match: (s) => s.get('fsdr_wal_ready_oldest_age_seconds').filter((x) => x.value > 300 && (s.one('fsdr_wal_ready_files') ?? 0) > 1).map((x) => hit(x)),
    summary: () => 'fsdr WAL archiving backlog',
    description: (h) => `The oldest WAL file waiting for archive_command was ready ${dur(h.value)} ago (fsdr_wal_ready_files has the count): archiving does not keep up.`,
  },
  {
    alert: 'FsdrWalArchiveStale', severity: 'warning', forSeconds: 60,
    match: (s) => {
      const limit = rpoLimit(s, 'database_corruption');
      return limit === undefined ? [] : s.get('fsdr_wal_rpo_exposure_seconds').filter((x) => x.value > 0.5 * limit).map((x) => hit(x));
    },
    summary: () => 'fsdr WAL archiving is stale',
    description: (h) => `The oldest WAL not yet archived was written ${dur(h.value)} ago, more than half the database-corruption RPO objective.`,
  },
  {
    alert: 'FsdrNoWalArchived', severity: 'critical', forSeconds: 3600,
    match: (s) => s.get('fsdr_wal_last_archived_timestamp_seconds').filter((x) => x.value === 0).map((x) => hit(x)),
    summary: () => 'No WAL archived in the fsdr repository',
    description: () => 'The repository holds no WAL segment: point-in-time recovery is impossible. Check archive_mode and archive_command.',
  },
  {
    alert: 'FsdrWalArchiveGap', severity: 'warning', forSeconds: 600,
    match: (s) => s.get('fsdr_wal_gaps').filter((x) => x.value > 0).map((x) => hit(x)),
    summary: (h) => `${h.value} hole(s) in the fsdr WAL archive`,
    description: (h) => `The WAL archive has ${h.value} hole(s) (\`fsdr info\` names them). Recoveries that must cross one stop there.`,
  },
  {
    alert: 'FsdrWalRecoveryBlocked', severity: 'critical', forSeconds: 300,
    match: (s) => s.get('fsdr_wal_recovery_blocked').filter((x) => x.value === 1).map((x) => hit(x)),
    summary: () => 'A WAL hole after the newest backup blocks recovery',
    description: () => 'A recovery from the newest backup stops at a missing segment before the newest archived WAL. Take a new backup now; `fsdr info` names the first missing segment.',
  },
  {
    alert: 'FsdrRpoAtRisk', severity: 'critical', forSeconds: 60,
    match: (s) => s.get('fsdr_objective_at_risk_ratio', { objective: 'rpo' }).filter((x) => x.value > 0.8).map((x) => hit(x)),
    summary: (h) => `fsdr ${h.labels.scenario} rpo exposure at ${pct(h.value)} of the objective`,
    description: (h) => `Measured rpo exposure for ${h.labels.scenario} is ${pct(h.value)} of its objective (over 80 %): data written now would be lost past the objective if the scenario happened.`,
  },
  {
    alert: 'FsdrRtoAtRisk', severity: 'warning', forSeconds: 3600,
    match: (s) => s.get('fsdr_objective_at_risk_ratio', { objective: 'rto' }).filter((x) => x.value > 1).map((x) => hit(x)),
    summary: (h) => `fsdr ${h.labels.scenario} estimated RTO at ${pct(h.value)} of the objective`,
    description: (h) => `The newest drill's restore took ${pct(h.value)} of the ${h.labels.scenario} RTO objective: a real recovery would take longer than promised.`,
  },
  {
    alert: 'FsdrReplicaLagOverObjective', severity: 'critical', forSeconds: 300,
    match: (s) => {
      const limit = rpoLimit(s, 'region_failure');
      return limit === undefined ? [] : s.get('fsdr_replication_lag_seconds').filter((x) => x.value > limit).map((x) => hit(x));
    },
    summary: (h) => `fsdr replica ${h.labels.replica} lags ${dur(h.value)}`,
    description: (h) => `The oldest primary object not yet on replica ${h.labels.replica} is ${dur(h.value)} old, over the region-failure RPO objective.`,
  },
  ...[['warning', 0.2, '80'], ['critical', 0.1, '90']].map(([severity, share, used]): AlertRule => ({
    alert: 'FsdrRepositoryStorageHigh', severity: severity as 'warning' | 'critical', forSeconds: 300,
    match: (s) => s.get('fsdr_repository_free_bytes').flatMap((f) => {
      const cap = s.one('fsdr_repository_capacity_bytes', { repository: f.labels.repository! });
      return cap && f.value / cap < (share as number) ? [hit(f, f.value / cap)] : [];
    }),
    summary: (h) => `fsdr repository ${h.labels.repository} has ${pct(h.value)} free`,
    description: (h) => `Repository ${h.labels.repository} is over ${used} % full (${pct(h.value)} free). Full storage fails wal-push and then PostgreSQL's pg_wal fills.`,
  })),
  {
    alert: 'FsdrDrillFailed', severity: 'warning', forSeconds: 300,
    match: (s) => s.get('fsdr_drill_last_result').filter((x) => x.value === 0).map((x) => hit(x)),
    summary: (h) => `The last fsdr ${h.labels.kind} drill failed`,
    description: (h) => `The newest ${h.labels.kind} drill failed (or its evidence is unreadable): the backups are not proven restorable. \`fsdr drill list\` shows the failed step.`,
  },
  {
    alert: 'FsdrDrillOverdue', severity: 'warning', forSeconds: 3600,
    match: (s) => [...s.get('fsdr_drill_age_seconds', { kind: 'verify' }).filter((x) => x.value > 8 * 86400), ...s.get('fsdr_drill_age_seconds', { kind: 'tabletop' }).filter((x) => x.value > 32 * 86400)].map((x) => hit(x)),
    summary: (h) => `fsdr ${h.labels.kind} drill overdue`,
    description: (h) => `The newest ${h.labels.kind} drill is ${dur(h.value)} old, longer than its schedule allows.`,
  },
  {
    alert: 'FsdrDrillMissing', severity: 'warning', forSeconds: 86400,
    match: (s) => (s.get('fsdr_drill_age_seconds', { kind: 'verify' }).length ? [] : [{ labels: {}, value: 1 }]),
    summary: () => 'No fsdr restore drill on record',
    description: () => 'The repository holds no verify drill evidence: nothing proves the backups restore. Run `fsdr drill verify` or enable schedule.drillVerify.',
  },
];
