// Summarises the archived WAL per timeline: first and last segment, count, bytes, and the gaps
// (ranges of segments missing between first and last), which break point-in-time recovery.
import { segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';

export interface TimelineSummary {
  timeline: number;
  first: string;
  last: string;
  segments: number;
  storedBytes: number;
  gaps: Array<{ from: string; to: string }>;
  partial: string[];
  lastArchivedAt: string;
}

export interface WalSummary {
  timelines: TimelineSummary[];
  historyFiles: string[];
}

export function summariseWal(files: Iterable<ArchivedWal>, walSegmentSize: number): WalSummary {
  const byTli = new Map<number, ArchivedWal[]>();
  const historyFiles: string[] = [];
  const partials = new Map<number, string[]>();
  for (const f of files) {
    if (f.kind === 'history') historyFiles.push(f.name);
    else if (f.kind === 'partial') partials.set(f.timeline, [...(partials.get(f.timeline) ?? []), f.name]);
    else if (f.kind === 'segment') byTli.set(f.timeline, [...(byTli.get(f.timeline) ?? []), f]);
  }
  const timelines: TimelineSummary[] = [];
  for (const [tli, segs] of [...byTli].sort((a, b) => a[0] - b[0])) {
    const nums = segs.map((s) => segmentNumber(s, walSegmentSize)).sort((a, b) => a - b);
    const gaps: TimelineSummary['gaps'] = [];
    for (let i = 1; i < nums.length; i++) {
      if (nums[i]! > nums[i - 1]! + 1) {
        gaps.push({ from: segmentFromNumber(tli, nums[i - 1]! + 1, walSegmentSize), to: segmentFromNumber(tli, nums[i]! - 1, walSegmentSize) });
      }
    }
    timelines.push({
      timeline: tli,
      first: segmentFromNumber(tli, nums[0]!, walSegmentSize),
      last: segmentFromNumber(tli, nums[nums.length - 1]!, walSegmentSize),
      segments: nums.length,
      storedBytes: segs.reduce((a, s) => a + s.storedSize, 0),
      gaps,
      partial: partials.get(tli) ?? [],
      lastArchivedAt: new Date(Math.max(...segs.map((s) => s.lastModified.getTime()))).toISOString(),
    });
  }
  return { timelines, historyFiles: historyFiles.sort() };
}
