// The timeline tree `fsdr info` shows: each timeline's parent and fork point, and which timelines
// still continue (hold WAL past every fork taken from them). Two that continue are two histories:
// a restore must be told which one to follow.
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { liveBranches, type HistoryEntry } from '../../repository/timelines.js';
import { formatLsn } from '../../postgres/lsn.js';

export interface TimelineNode {
  timeline: number;
  parent?: number;
  forkLsn?: string;
  continues: boolean;
}

export function timelineTree(histories: Map<number, HistoryEntry[]>, files: ArchivedWal[], segSize: number): TimelineNode[] {
  const present = new Set(files.filter((f) => f.kind === 'segment').map((f) => f.name));
  const tlis = new Set<number>([...histories.keys(), ...files.filter((f) => f.kind === 'segment').map((f) => f.timeline)]);
  // Roots: timelines without a history file (1, or the first one archived after a promotion).
  const roots = [...tlis].filter((t) => !histories.has(t));
  const live = new Set(roots.flatMap((r) => liveBranches(r, histories, present, segSize)).map((b) => b.timeline));
  return [...tlis].sort((a, b) => a - b).map((t) => {
    const last = histories.get(t)?.at(-1);
    return { timeline: t, parent: last?.parent, forkLsn: last ? formatLsn(last.switchLsn) : undefined, continues: live.has(t) };
  });
}
