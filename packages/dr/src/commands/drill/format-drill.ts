// Drill evidence as text for the terminal (the JSON is the evidence itself).
import { formatObjectives } from '../../drills/objectives.js';
import type { DrillEvidence } from '../../repository/drill-catalog.js';
import type { DrillSummary } from './drill-list.js';

const secs = (s?: number) => (s === undefined ? '-' : `${s.toFixed(1)}s`);

function stepLine(s: DrillEvidence['steps'][number]): string {
  const d = s.detail as Record<string, unknown> | undefined;
  const note = d && 'skipped' in d ? ` (skipped: ${String(d.skipped)})` : d && 'error' in d ? ` (${String(d.error)})` : '';
  return `  ${d && 'skipped' in d ? 'skip  ' : s.ok ? 'ok    ' : 'FAILED'} ${s.name.padEnd(16)} ${secs(s.seconds).padStart(8)}${note}`;
}

export function formatDrill(e: DrillEvidence): string {
  const rows = (e.checks.rowCounts as { tables?: Array<{ database: string; table: string; rows: number; method: string }> } | undefined)?.tables ?? [];
  const point = e.checks.recoveredPoint as { recovered?: { lsn: string; endOfRecovery?: string; time: string | null; timeline: number }; archiveEnd?: { lastSegment?: string } } | undefined;
  const rpo = e.checks.rpo as { commits: number; present: number; missing: number; lastCommitted: string; recoveredThrough?: string } | { skipped: string } | undefined;
  return [
    `drill ${e.id} (${e.kind}) on ${e.host}, repository ${e.repository}: ${e.result === 'ok' ? 'PASSED' : 'FAILED'}`,
    `  ${e.startTime} .. ${e.endTime}; fsdr ${e.fsdrVersion}${e.postgresVersion ? `, PostgreSQL ${e.postgresVersion}` : ''}`,
    ...(e.participants ? [`  participants: ${e.participants.length ? e.participants.join(', ') : 'none (prepared, not held)'}`] : []),
    ...e.steps.map(stepLine),
    ...(rows.length ? [`  rows: ${rows.map((t) => `${t.database}.${t.table}=${t.rows}${t.method === 'count' ? '' : '~'}`).join(', ')}`] : []),
    ...(point?.recovered ? [`  recovered to LSN ${point.recovered.endOfRecovery ?? point.recovered.lsn} (last commit ${point.recovered.time ?? 'none'}), new timeline ${point.recovered.timeline}; archive ends in ${point.archiveEnd?.lastSegment ?? '?'}`] : []),
    `  RTO (${e.kind === 'verify' ? 'restore to amcheck passed' : 'start to /ready with golden evaluations matching'}) ${secs(e.rtoSeconds)}, RPO (writer's last commit to the recovered point) ${secs(e.rpoSeconds)}, RPO exposure (archive age) ${secs(e.rpoExposureSeconds)}`,
    ...(rpo && 'commits' in rpo ? [`  writer: ${rpo.commits} commits acknowledged, ${rpo.present} in the copy, ${rpo.missing} lost; last ${rpo.lastCommitted}, recovered through ${rpo.recoveredThrough ?? 'none'}`] : []),
    ...(rpo && 'skipped' in rpo ? [`  RPO ${String(rpo.skipped)}`] : []),
    ...(e.objectives ? formatObjectives(e.objectives).map((l) => `  ${l}`) : []),
    ...(e.failure ? [`  failure: step ${e.failure.step}${e.failure.object ? `, ${e.failure.object}` : ''}: ${e.failure.message}`] : []),
  ].join('\n');
}

export function formatDrillList(list: DrillSummary[]): string {
  if (!list.length) return 'no drills yet (fsdr drill verify runs one)';
  return list.map((d) => `${d.id}  ${d.kind.padEnd(8)} ${d.result === 'ok' ? 'ok    ' : 'FAILED'} ${secs(d.seconds).padStart(8)}  ${d.participants ? `participants ${d.participants.join(',') || '(none yet)'}` : `RTO ${secs(d.rtoSeconds)}`}${d.failure ? `  ${d.failure.step}: ${d.failure.object ?? d.failure.message}` : ''}`).join('\n');
}
