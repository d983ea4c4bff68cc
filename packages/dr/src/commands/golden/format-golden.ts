// Text output of fsdr golden capture|list|show.
import type { GoldenSummary } from './golden.js';

export function formatGolden(s: GoldenSummary): string {
  const lines = [
    `golden capture ${s.id}`,
    `  captured ${s.capturedAt} through ${s.server}`,
    `  cluster  ${s.lsn ? `LSN ${s.lsn} on timeline ${s.timeline} (read right after the capture)` : 'not configured (no LSN recorded)'}`,
    `  ${s.flags} flags × ${s.contexts} contexts, fingerprint ${s.fingerprint}`,
  ];
  for (const [env, e] of Object.entries(s.envs)) {
    lines.push(`  ${env}: version ${e.version}, ${e.flags} flags${e.skipped.length ? ` (${e.skipped.length} skipped near expiry: ${e.skipped.join(', ')})` : ''}, ${e.rulesetSha256 ? `ruleset sha256 ${e.rulesetSha256.slice(0, 16)}…` : 'no ruleset endpoint (recorded through the public API only)'}`);
  }
  return lines.join('\n');
}

export function formatGoldenList(list: GoldenSummary[]): string {
  if (!list.length) return 'no golden captures (fsdr golden capture records one)';
  return list.map((s) => `${s.id}  ${s.capturedAt}  ${s.lsn ?? '-'}  ${Object.entries(s.envs).map(([env, e]) => `${env}@${e.version}`).join(' ')}  ${s.fingerprint.slice(0, 16)}`).join('\n');
}
