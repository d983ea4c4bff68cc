// "Alerts now firing" for the console. The agent passes its alert evaluator's firing alerts
// (src/alerts, the shipped rules) through ConsoleDeps.alerts; registered without one, the console
// falls back to the checks judged here from /status: objectives missed, a hole that blocks
// recovery, failed jobs and drills, no backup, storage filling up, a monitor that cannot measure.
// Pure: status in, findings out.

export interface FiringAlert {
  name: string;
  severity: 'critical' | 'warning';
  summary: string;
  /** when it started being true, where the data says */
  since?: string;
}

export interface AlertsView {
  /** `agent-checks`: derived here from /status; `evaluator`: the agent's own alert evaluator */
  source: 'agent-checks' | 'evaluator';
  alerts: FiringAlert[];
}

// The parts of the agent's /status this reads, declared here: console/ sits below agent/ and
// imports nothing from it (agent/monitor.ts Exposure and agent/scheduler.ts JobState fit these).
export interface StatusLike {
  jobs?: Array<{ name: string; lastRun?: { finishedAt?: string; ok?: boolean; error?: string } }>;
  exposure?: {
    checkedAt: string;
    error?: string;
    lastBackupAt?: string;
    wal?: { gaps: unknown[]; firstMissing?: string };
    storage?: { freeBytes: number; totalBytes: number };
    drills?: Array<{ kind: string; lastId?: string; lastEndedAt?: string; lastOk?: boolean; error?: string }>;
    objectives: Array<{ scenario: string; objective: string; limitSeconds: number; exposureSeconds?: number; ok: boolean }>;
  };
}

const secs = (n: number) => (n < 120 ? `${n.toFixed(0)} s` : n < 7200 ? `${(n / 60).toFixed(0)} min` : `${(n / 3600).toFixed(1)} h`);

export function checksFiring(s: StatusLike): FiringAlert[] {
  const out: FiringAlert[] = [];
  const e = s.exposure;
  if (!e) return [{ name: 'FsdrNotMeasured', severity: 'warning', summary: 'the agent has not measured the repository yet' }];
  if (e.error) out.push({ name: 'FsdrMonitorFailing', severity: 'critical', summary: `the last measurement failed: ${e.error}`, since: e.checkedAt });
  for (const o of e.objectives) {
    if (o.ok) continue;
    const scenario = o.scenario.replace(/_/g, ' ');
    out.push({
      name: 'FsdrObjectiveMissed', severity: 'critical',
      summary: o.exposureSeconds === undefined
        ? `${scenario}: ${o.objective.toUpperCase()} exposure not measured (objective ${secs(o.limitSeconds)})`
        : `${scenario}: ${o.objective.toUpperCase()} exposure ${secs(o.exposureSeconds)} is over the objective ${secs(o.limitSeconds)}`,
    });
  }
  if (e.wal?.firstMissing) out.push({ name: 'FsdrRecoveryBlocked', severity: 'critical', summary: `WAL segment ${e.wal.firstMissing} is missing: recovery from the newest backup stops before it` });
  else if (e.wal?.gaps.length) out.push({ name: 'FsdrWalGap', severity: 'warning', summary: `${e.wal.gaps.length} hole(s) in the archived WAL (recoveries that cross them fail)` });
  if (!e.lastBackupAt) out.push({ name: 'FsdrNoBackup', severity: 'critical', summary: 'no complete base backup in the repository' });
  for (const j of s.jobs ?? []) {
    if (j.lastRun && j.lastRun.ok === false) out.push({ name: 'FsdrJobFailed', severity: 'critical', summary: `job ${j.name} failed: ${j.lastRun.error ?? 'no error recorded'}`, since: j.lastRun.finishedAt });
  }
  for (const d of e.drills ?? []) {
    if (d.error) out.push({ name: 'FsdrDrillUnreadable', severity: 'critical', summary: `${d.kind} drill evidence cannot be read: ${d.error}` });
    else if (d.lastOk === false) out.push({ name: 'FsdrDrillFailed', severity: 'critical', summary: `the newest ${d.kind} drill (${d.lastId}) failed`, since: d.lastEndedAt });
  }
  if (e.storage && e.storage.totalBytes > 0) {
    const used = 1 - e.storage.freeBytes / e.storage.totalBytes;
    if (used >= 0.8) out.push({ name: 'FsdrStorageFilling', severity: used >= 0.9 ? 'critical' : 'warning', summary: `the primary repository's filesystem is ${(used * 100).toFixed(0)} % full` });
  }
  return out;
}
