// The recovery objectives against what the agent measures, per scenario: the live RPO exposure (the
// oldest unarchived WAL, or the recoverable point when a hole caps recovery; replica lag for a
// region), the estimated RTO (the newest drill's measured restore), the objective, and the share of
// the objective used (the "at risk" ratio the alerts and the dashboard read).
import type { FileConfig } from '../config/schema.js';

export interface ObjectiveExposure {
  scenario: 'database_corruption' | 'instance_failure' | 'region_failure';
  objective: 'rpo' | 'rto';
  limitSeconds: number;
  exposureSeconds?: number;
  /** exposure / limit: 1 means the objective is broken now */
  ratio?: number;
  ok: boolean;
}

export interface MeasuredForObjectives {
  walAgeSeconds?: number;
  wal?: { firstMissing?: string };
  archiving?: { unarchived?: { exposureSeconds: number } };
  replicas: Array<{ lagSeconds: number }>;
  estimatedRtoSeconds?: number;
  /** the newest passed `fsdr drill instance`'s RTO (Patroni failover): instance failure's own */
  instanceRtoSeconds?: number;
}

/** Newest passed drill that measured an RTO: a restore or recover drill measures the whole stack, verify the database. */
export function estimatedRto(drills: Array<{ kind: string; lastSuccessAt?: string; lastOkRtoSeconds?: number }> = []): number | undefined {
  // An instance drill times a Patroni failover, not a restore: it speaks for instance failure only.
  const measured = drills.filter((d) => d.kind !== 'tabletop' && d.kind !== 'instance' && d.lastSuccessAt && d.lastOkRtoSeconds !== undefined);
  measured.sort((a, b) => Date.parse(b.lastSuccessAt!) - Date.parse(a.lastSuccessAt!));
  return measured[0]?.lastOkRtoSeconds;
}

/**
 * Local RPO exposure: a hole before the newest archived WAL caps what recovery reaches, so then
 * it is the age of the recoverable point; otherwise the age of the oldest unarchived WAL. Without
 * a cluster to ask, the age of the newest archived WAL (an upper bound: it grows on a quiet database).
 */
export function localRpoExposure(e: MeasuredForObjectives): number | undefined {
  const unarchived = e.archiving?.unarchived?.exposureSeconds;
  if (e.wal?.firstMissing) return Math.max(e.walAgeSeconds ?? 0, unarchived ?? 0);
  return unarchived ?? e.walAgeSeconds;
}

export function objectiveRows(o: FileConfig['objectives'], e: MeasuredForObjectives): ObjectiveExposure[] {
  const local = localRpoExposure(e);
  const lag = e.replicas.length ? Math.max(...e.replicas.map((r) => r.lagSeconds)) : undefined;
  // A region lost takes the primary repository's unreplicated objects and the unarchived WAL with it.
  const region = lag === undefined ? undefined : Math.max(lag, local ?? 0);
  const row = (scenario: ObjectiveExposure['scenario'], objective: 'rpo' | 'rto', limitSeconds: number, exposureSeconds: number | undefined): ObjectiveExposure => ({
    scenario, objective, limitSeconds, exposureSeconds,
    ratio: exposureSeconds === undefined ? undefined : exposureSeconds / limitSeconds,
    ok: exposureSeconds !== undefined && exposureSeconds < limitSeconds,
  });
  const rto = e.estimatedRtoSeconds;
  return [
    row('database_corruption', 'rpo', o.databaseCorruption.rpoSeconds, local),
    row('instance_failure', 'rpo', o.instanceFailure.rpoSeconds, local),
    row('region_failure', 'rpo', o.regionFailure.rpoSeconds, region),
    row('database_corruption', 'rto', o.databaseCorruption.rtoSeconds, rto),
    row('instance_failure', 'rto', o.instanceFailure.rtoSeconds, e.instanceRtoSeconds ?? rto),
    row('region_failure', 'rto', o.regionFailure.rtoSeconds, rto),
  ];
}
