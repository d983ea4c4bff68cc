// The failover plan and result as text for the operator deciding.
import type { FailoverReport } from './failover.js';

export function formatPlan(r: FailoverReport): string {
  const p = r.plan;
  const lines = [
    `failover ${p.from} → ${p.to}${p.planned ? ' (planned switchover)' : ''}: fence epoch ${p.nextEpoch}${p.top ? ` (now ${p.top.epoch}: ${p.top.region})` : ''}`,
    `standby: ${p.standby.inRecovery ? 'replaying' : 'NOT in recovery'} on timeline ${p.standby.timeline} at ${p.standby.replayLsn}; repository newest WAL ${p.repository.newestSegment ?? '(none)'} at ${p.newestRecoverable ?? '-'}`,
    `if ${p.from} is gone: commits after ${p.newestRecoverable ?? '(nothing archived)'} are lost (up to ${p.lossUpToSeconds < 0 ? 'unknown' : `${p.lossUpToSeconds} s`}; RPO objective ${p.rpoObjectiveSeconds} s)`,
    `primary ${p.from}: ${p.primary.reachable ? `answers (at ${p.primary.lsn}, ${p.primary.bytes} bytes ahead of the standby)` : `does not answer (${p.primary.error})`}`,
    ...p.warnings.map((w) => `WARNING: ${w}`),
  ];
  if (!r.confirmed) lines.push('nothing changed: add --confirm to carry it out');
  else lines.push(`failover ${r.id}: ${r.result}${r.failure ? ` at ${r.failure.step}: ${r.failure.message}` : ''}${r.dns ? `; DNS ${r.dns.name} → ${r.dns.new.values.join(', ')} (TTL ${r.dns.new.ttl})` : ''}`);
  return lines.join('\n');
}
