// What the archive can actually recover to, for the monitor: holes per timeline, and the newest
// point a recovery from the newest backup reaches along the timeline 'latest' would follow. A hole
// after that backup caps recovery before it, so the RPO exposure is measured from there, not from
// the newest segment (which a recovery would never reach).
import type { BackupSummary } from '../repository/manifest.js';
import { coverage, latestTimeline, type HistoryEntry } from '../repository/timelines.js';
import type { ArchivedWal } from '../repository/wal-archive.js';
import { parseWalName, segmentFromNumber, segmentNumber } from '../postgres/wal-name.js';
import { summariseWal } from '../commands/info/wal-summary.js';

export interface WalHoles {
  gaps: Array<{ timeline: number; from: string; to: string; segments: number }>;
  /** the first segment a recovery from the newest backup would miss */
  firstMissing?: string;
  /** when the last segment that recovery can replay was archived */
  recoverableUntil?: Date;
}

export function walHoles(files: ArchivedWal[], histories: Map<number, HistoryEntry[]>, newest: BackupSummary | undefined, segSize: number): WalHoles {
  const gaps = summariseWal(files, segSize).timelines.flatMap((t) => t.gaps.map((g) => ({
    timeline: t.timeline, from: g.from, to: g.to,
    segments: segmentNumber(parseWalName(g.to)!, segSize) - segmentNumber(parseWalName(g.from)!, segSize) + 1,
  })));
  const out: WalHoles = { gaps };
  if (!newest) return out;
  const present = new Set(files.filter((f) => f.kind === 'segment').map((f) => f.name));
  const startSeg = segmentNumber(parseWalName(newest.startWal)!, segSize);
  const c = coverage(startSeg, latestTimeline(newest.timeline, histories), histories, present, segSize);
  if (!c.firstMissing) return out;
  out.firstMissing = c.firstMissing;
  const lastGood = Number(c.reachableLsn! / BigInt(segSize)) - 1;
  const byName = new Map(files.map((f) => [f.name, f]));
  const tli = c.path.find((s) => lastGood >= s.fromSeg && (s.toSeg === undefined || lastGood < s.toSeg))?.timeline ?? c.timeline;
  const seg = byName.get(segmentFromNumber(tli, lastGood, segSize));
  // The hole sits right at the backup's start: nothing past the backup's own end is recoverable.
  out.recoverableUntil = seg?.lastModified ?? new Date(newest.stopTime);
  return out;
}
