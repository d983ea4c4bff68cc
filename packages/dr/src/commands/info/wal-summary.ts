// Summarises the archived WAL per timeline: first and last segment, count, bytes, and the gaps
// (ranges of segments missing between first and last), which break point-in-time recovery.
import { parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import { trailingStreamPartials } from '../../repository/timelines.js';
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
  /** streaming: the segment being written, uploaded as <segment>.stream.partial past `last` (the archive's end) */
  streamed?: { partial: string; uploadedAt: string };
}

export interface WalSummary {
  timelines: TimelineSummary[];
  historyFiles: string[];
}

export function summariseWal(files: Iterable<ArchivedWal>, walSegmentSize: number): WalSummary {
  const byTli = new Map<number, ArchivedWal[]>();
  const historyFiles: string[] = [];
  const partials = new Map<number, string[]>();
  const all = [...files];
  const streamed = new Map<string, ArchivedWal>();
  for (const f of all) if (f.kind === 'stream-partial') streamed.set(f.name.slice(0, 24), f);
  const trailing = trailingStreamPartials(all.map((f) => f.name), walSegmentSize);
  for (const f of all) {
    if (f.kind === 'history') historyFiles.push(f.name);
    else if (f.kind === 'partial') partials.set(f.timeline, [...(partials.get(f.timeline) ?? []), f.name]);
    else if (f.kind === 'segment') byTli.set(f.timeline, [...(byTli.get(f.timeline) ?? []), f]);
  }
  const timelines: TimelineSummary[] = [];
  // A timeline streamed into before its first segment completed has only its partial.
  for (const seg of trailing) {
    const tli = parseWalName(seg)!.timeline;
    if (!byTli.has(tli)) byTli.set(tli, []);
  }
  for (const [tli, segs] of [...byTli].sort((a, b) => a[0] - b[0])) {
    const tail = [...trailing].find((s) => parseWalName(s)!.timeline === tli);
    const sp = tail ? streamed.get(tail) : undefined;
    if (!segs.length) {
      timelines.push({ timeline: tli, first: tail!, last: tail!, segments: 0, storedBytes: 0, gaps: [], partial: partials.get(tli) ?? [], lastArchivedAt: sp!.lastModified.toISOString(), streamed: { partial: sp!.name, uploadedAt: sp!.lastModified.toISOString() } });
      continue;
    }
    const nums = segs.map((s) => segmentNumber(s, walSegmentSize)).sort((a, b) => a - b);
    const gaps: TimelineSummary['gaps'] = [];
    for (let i = 1; i < nums.length; i++) {
      if (nums[i]! > nums[i - 1]! + 1) {
        gaps.push({ from: segmentFromNumber(tli, nums[i - 1]! + 1, walSegmentSize), to: segmentFromNumber(tli, nums[i]! - 1, walSegmentSize) });
      }
    }
    if (tail) {
      const t = segmentNumber(parseWalName(tail)!, walSegmentSize);
      const lastFull = nums[nums.length - 1]!;
      if (t > lastFull + 1) gaps.push({ from: segmentFromNumber(tli, lastFull + 1, walSegmentSize), to: segmentFromNumber(tli, t - 1, walSegmentSize) });
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
      ...(sp ? { streamed: { partial: sp.name, uploadedAt: sp.lastModified.toISOString() } } : {}),
    });
  }
  return { timelines, historyFiles: historyFiles.sort() };
}
