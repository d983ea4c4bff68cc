// The point-in-time recovery window: from the end of the oldest backup to the newest archived WAL,
// per timeline. A target outside it is refused before anything is written.
import type { BackupSummary } from '../../repository/manifest.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';

export interface RecoveryWindow {
  timeline: number;
  earliest: string;
  latest: string;
  backups: string[];
}

export function recoveryWindows(backups: BackupSummary[], wal: ArchivedWal[]): RecoveryWindow[] {
  const latestByTli = new Map<number, number>();
  for (const w of wal) {
    if (w.kind !== 'segment' && w.kind !== 'partial' && w.kind !== 'stream-partial') continue;
    latestByTli.set(w.timeline, Math.max(latestByTli.get(w.timeline) ?? 0, w.lastModified.getTime()));
  }
  const out: RecoveryWindow[] = [];
  for (const [tli, latest] of [...latestByTli].sort((a, b) => a[0] - b[0])) {
    // A backup of an earlier timeline can be rolled forward onto a later one (timeline history).
    const usable = backups.filter((b) => b.timeline <= tli);
    if (!usable.length) continue;
    const earliest = Math.min(...usable.map((b) => Date.parse(b.stopTime)));
    out.push({ timeline: tli, earliest: new Date(earliest).toISOString(), latest: new Date(Math.max(latest, earliest)).toISOString(), backups: usable.map((b) => b.id) });
  }
  return out;
}

export function describeWindows(ws: RecoveryWindow[]): string {
  if (!ws.length) return 'no recoverable window (no backup with archived WAL)';
  return ws.map((w) => `timeline ${w.timeline}: ${w.earliest} .. ${w.latest}`).join('; ');
}
