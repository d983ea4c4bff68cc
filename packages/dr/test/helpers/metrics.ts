// The real AgentMetrics fed a representative measurement (every series set), for tests that check
// names against what the agent exports: the alert rules, the Grafana dashboard, the agent's own alerts.
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { Exposure } from '../../src/agent/monitor.js';
import { JOB_NAMES } from '../../src/agent/jobs.js';
import { objectiveRows } from '../../src/monitoring/objectives.js';

export function representativeExposure(now = new Date()): Exposure {
  const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
  const e: Exposure = {
    checkedAt: now.toISOString(),
    lastWalArchivedAt: ago(30), walAgeSeconds: 30, walArchivedSegments: 40,
    lastBackupAt: ago(3600), backupAgeSeconds: 3600,
    wal: { gaps: [{ timeline: 1, from: '000000010000000000000003', to: '000000010000000000000004', segments: 2 }], firstMissing: '000000010000000000000003', recoverableUntil: new Date(ago(600)) },
    recoverable: { first: ago(7 * 86400), last: ago(600) },
    archiving: { archivedCount: 40, failedCount: 2, lastArchivedAt: ago(30), lastFailedAt: ago(900), lastFailedWal: '000000010000000000000005', unarchived: { readyFiles: 0, oldestReadySeconds: 0, bytes: 0, exposureSeconds: 0 } },
    replicas: [{ name: 'standby', missingObjects: 3, lagSeconds: 120 }],
    storage: { freeBytes: 1e9, totalBytes: 4e9 },
    repositories: [{ repository: 'primary', storedBytes: 2e8, capacityBytes: 4e9, freeBytes: 1e9 }, { repository: 'standby', storedBytes: 1.9e8, capacityBytes: 1e10, freeBytes: 9.81e9 }],
    fences: [{ repository: 'primary', epoch: 2, region: 'eu-west' }, { repository: 'standby', epoch: 2, region: 'eu-west' }],
    drills: [
      { kind: 'verify', lastId: 'd1', lastEndedAt: ago(86400), lastOk: true, lastSuccessAt: ago(86400), ageSeconds: 86400, rtoSeconds: 95, rpoSeconds: 40, lastOkRtoSeconds: 95 },
      { kind: 'tabletop', lastId: 'd2', lastEndedAt: ago(7 * 86400), lastOk: true, lastSuccessAt: ago(7 * 86400), ageSeconds: 7 * 86400 },
    ],
    estimatedRtoSeconds: 95,
    objectives: [],
  };
  e.objectives = objectiveRows({ databaseCorruption: { rpoSeconds: 300, rtoSeconds: 1800 }, instanceFailure: { rpoSeconds: 300, rtoSeconds: 900 }, regionFailure: { rpoSeconds: 3600, rtoSeconds: 14400 } }, { ...e, wal: {} });
  return e;
}

export function representativeMetrics(): AgentMetrics {
  const m = new AgentMetrics();
  m.observe(representativeExposure());
  for (const job of JOB_NAMES) { m.operationFinished(job, false, { seconds: 3 }); m.operationFinished(job, true, { seconds: 42, bytes: 1e6 }); }
  m.setHaRole('leader');
  m.monitorErrors.inc();
  return m;
}

/** Names of the series the agent exports with at least one value. */
export async function exportedNames(m = representativeMetrics()): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    if (!metric.values.length) continue;
    const labels = new Set<string>();
    for (const v of metric.values) for (const l of Object.keys(v.labels)) labels.add(l);
    out.set(metric.name, labels);
  }
  return out;
}
