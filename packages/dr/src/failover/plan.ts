// What a failover to a region would do, decided before anything changes: the next fence epoch,
// how far the standby's repository reaches (so what is lost if the primary is truly gone), whether
// the primary still answers, and a warning when the loss exceeds the RPO objective. Pure.
import type { RepositoryLag } from './lag.js';
import type { SeenFence } from './fence.js';

export interface FailoverPlanInput {
  from: string;
  to: string;
  top?: SeenFence;
  unreachable: string[];
  standby: { inRecovery: boolean; replayLsn: string; timeline: number; replayedAt: string | null };
  repository: RepositoryLag;
  primary: { reachable: boolean; lsn?: string; bytes?: number; error?: string };
  /** Age of the oldest object of the primary's repository the standby's lacks (when readable). */
  replicaLagSeconds?: number;
  rpoObjectiveSeconds: number;
  planned: boolean;
  now: Date;
}

export interface FailoverPlan extends FailoverPlanInput {
  nextEpoch: number;
  /** The newest WAL the standby can recover to: commits after it are lost if the primary is gone. */
  newestRecoverable?: string;
  /** Upper bound of the data lost (seconds of commits) if the primary never comes back. */
  lossUpToSeconds: number;
  warnings: string[];
}

export function planFailover(i: FailoverPlanInput): FailoverPlan {
  const warnings: string[] = [];
  const newest = i.repository.newestAt;
  // With the primary's repository readable, the replica's lag says what the standby lacks; else
  // only the age of its newest WAL bounds it (an idle primary makes that an overestimate).
  const loss = i.replicaLagSeconds ?? (newest ? Math.max(0, (i.now.getTime() - new Date(newest).getTime()) / 1000) : Infinity);
  if (!i.standby.inRecovery) warnings.push(`the cluster of ${i.to} is not a standby (not in recovery): nothing to promote`);
  if (loss > i.rpoObjectiveSeconds) warnings.push(`the standby repository of ${i.to} is behind by ${Number.isFinite(loss) ? `${Math.round(loss)} s` : 'an unknown time (no WAL)'}, more than the RPO objective of ${i.rpoObjectiveSeconds} s`);
  if (i.primary.reachable && !i.planned) warnings.push(`the primary ${i.from} still answers (at ${i.primary.lsn}): an unplanned failover fences it and loses what it has not archived; consider --planned`);
  if (!i.primary.reachable && i.planned) warnings.push(`--planned needs the primary ${i.from}, which does not answer (${i.primary.error})`);
  if (i.unreachable.length) warnings.push(`fences not readable in: ${i.unreachable.join(', ')} (the fence is written there when it answers)`);
  return { ...i, nextEpoch: (i.top?.epoch ?? 0) + 1, newestRecoverable: newest, lossUpToSeconds: Number.isFinite(loss) ? Math.round(loss * 10) / 10 : -1, warnings };
}
