// The timeline tree of an archive and what a recovery along one timeline can reach. Pure logic over
// the archive's listing and its history files, so restore, verify, info and the agent agree on
// where the archive ends, where it has a hole, and when two timelines both continue (a fork that
// recovery_target_timeline = 'latest' would silently resolve by dropping one of them).
import { formatLsn, parseLsn } from '../postgres/lsn.js';
import { parseWalName, segmentFromNumber, segmentNumber } from '../postgres/wal-name.js';

export interface HistoryEntry {
  /** the timeline this one forked from */
  parent: number;
  /** where the parent ended and this timeline (or the next entry's) begins */
  switchLsn: bigint;
  reason: string;
}

/** PostgreSQL's NNNNNNNN.history: one "parentTLI<TAB>switchpoint<TAB>reason" line per ancestor. */
export function parseHistory(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [tli, lsn, ...reason] = t.split(/\s+/);
    if (!/^\d+$/.test(tli ?? '') || !lsn) throw new Error(`malformed timeline history line: ${t}`);
    out.push({ parent: Number(tli), switchLsn: parseLsn(lsn), reason: reason.join(' ') });
  }
  return out;
}

/** One stretch of a recovery path: segments [fromSeg, toSeg) are read from `timeline`. */
export interface PathStep {
  timeline: number;
  fromSeg: number;
  /** exclusive; undefined for the target timeline itself */
  toSeg?: number;
  switchLsn?: bigint;
}

/** The timelines recovery passes through to reach `target`, oldest first. */
export function timelinePath(target: number, histories: Map<number, HistoryEntry[]>, segSize: number): PathStep[] {
  // No history file: PostgreSQL then treats the timeline as having no parent, and so do we (a
  // repository initialised after a promotion never received the history of its first timeline).
  const h = histories.get(target) ?? [];
  const steps: PathStep[] = [];
  let from = 0;
  for (const e of h) {
    // The segment holding the switch point is read from the child timeline (PostgreSQL copies it there).
    const to = Number(e.switchLsn / BigInt(segSize));
    steps.push({ timeline: e.parent, fromSeg: from, toSeg: to, switchLsn: e.switchLsn });
    from = to;
  }
  steps.push({ timeline: target, fromSeg: from });
  return steps;
}

/** The newest timeline recovery_target_timeline = 'latest' would choose: probe history files upward. */
export function latestTimeline(from: number, histories: Map<number, HistoryEntry[]>): number {
  let t = from;
  while (histories.has(t + 1)) t++;
  return t;
}

export interface Coverage {
  timeline: number;
  path: PathStep[];
  /** the last segment of the path present in the archive, and the LSN where it begins */
  lastSegment?: string;
  lastSegmentStart?: bigint;
  /** the first segment missing between the backup's start and lastSegment: a hole */
  firstMissing?: string;
  /** what a recovery can replay up to when it stops at the hole: the start of firstMissing */
  reachableLsn?: bigint;
}

/**
 * The streamed partials (<segment>.stream.partial) that end their timeline's archive: past every
 * full segment of that timeline. Recovery replays such a segment to its valid end, and wal-fetch
 * serves it under the segment's name, so a trailing partial is the archive's end, not a hole. A
 * partial with a full segment at or after it is stale (the full one, or a hole before it, decides).
 * Returns the names of the segments they stand for.
 */
export function trailingStreamPartials(names: Iterable<string>, segSize: number): Set<string> {
  const maxFull = new Map<number, number>();
  const partials: Array<{ tli: number; n: number; segment: string }> = [];
  for (const name of names) {
    const w = parseWalName(name);
    if (w?.kind === 'segment') maxFull.set(w.timeline, Math.max(maxFull.get(w.timeline) ?? -1, segmentNumber(w, segSize)));
    else if (w?.kind === 'stream-partial') partials.push({ tli: w.timeline, n: segmentNumber(w, segSize), segment: name.slice(0, 24) });
  }
  const out = new Set<string>();
  for (const p of partials) if (p.n > (maxFull.get(p.tli) ?? -1)) out.add(p.segment);
  // Only the newest one per timeline: two partials past the last full segment leave a hole between.
  const newest = new Map<number, string>();
  for (const seg of out) {
    const t = parseWalName(seg)!.timeline;
    if (!newest.has(t) || seg > newest.get(t)!) newest.set(t, seg);
  }
  return new Set(newest.values());
}

/**
 * Walks the path from the backup's first segment to the newest archived segment on it, naming
 * the first missing one. `present` holds archived segment names (full segments only: PostgreSQL
 * never replays a .partial).
 */
export function coverage(startSeg: number, target: number, histories: Map<number, HistoryEntry[]>, present: Set<string>, segSize: number): Coverage {
  const path = timelinePath(target, histories, segSize);
  const tliFor = (n: number) => path.find((s) => n >= s.fromSeg && (s.toSeg === undefined || n < s.toSeg))!.timeline;
  let last = -1;
  for (const [tli, n] of segments(present, segSize)) {
    const s = path.find((p) => p.timeline === tli && n >= p.fromSeg && (p.toSeg === undefined || n < p.toSeg));
    if (s && n >= startSeg) last = Math.max(last, n);
  }
  const c: Coverage = { timeline: target, path };
  if (last < 0) return c;
  c.lastSegment = segmentFromNumber(tliFor(last), last, segSize);
  c.lastSegmentStart = BigInt(last) * BigInt(segSize);
  for (let n = startSeg; n <= last; n++) {
    const name = segmentFromNumber(tliFor(n), n, segSize);
    if (!present.has(name)) {
      c.firstMissing = name;
      c.reachableLsn = BigInt(n) * BigInt(segSize);
      break;
    }
  }
  return c;
}

function* segments(present: Set<string>, segSize: number): Iterable<[number, number]> {
  for (const name of present) {
    const w = parseWalName(name);
    if (w?.kind === 'segment') yield [w.timeline, segmentNumber(w, segSize)];
  }
}

export interface Branch {
  timeline: number;
  /** where it forked from its parent (undefined for timeline 1) */
  forkedFrom?: { timeline: number; lsn: string };
  lastSegment?: string;
}

/**
 * Timelines that hold WAL beyond every fork taken from them: each is a history of its own that
 * continues, so 'latest' would have to pick one. Only timelines descending from `root` count.
 */
export function liveBranches(root: number, histories: Map<number, HistoryEntry[]>, present: Set<string>, segSize: number): Branch[] {
  const maxSeg = new Map<number, number>();
  for (const [tli, n] of segments(present, segSize)) maxSeg.set(tli, Math.max(maxSeg.get(tli) ?? -1, n));
  const tlis = new Set<number>([root, ...histories.keys(), ...maxSeg.keys()]);
  const ancestry = (t: number) => (t === 1 ? [] : (histories.get(t) ?? []).map((e) => e.parent));
  const descendants = [...tlis].filter((t) => t === root || ancestry(t).includes(root));
  const out: Branch[] = [];
  for (const t of descendants) {
    // The first segment wholly past the earliest fork from t: WAL on t there is t's own future. A
    // switch point on a segment boundary (the usual case after pg_switch_wal) makes that segment
    // the boundary itself; a switch inside a segment leaves that segment shared.
    const forks = descendants.flatMap((c) => (histories.get(c) ?? []).filter((e) => e.parent === t).map((e) => firstSegmentPast(e.switchLsn, segSize)));
    const own = maxSeg.get(t);
    const live = forks.length === 0 ? true : own !== undefined && own >= Math.min(...forks);
    if (!live) continue;
    const h = histories.get(t);
    const fork = h?.[h.length - 1];
    out.push({
      timeline: t,
      forkedFrom: fork ? { timeline: fork.parent, lsn: formatLsn(fork.switchLsn) } : undefined,
      lastSegment: own !== undefined ? segmentFromNumber(t, own, segSize) : undefined,
    });
  }
  return out.sort((a, b) => a.timeline - b.timeline);
}

function firstSegmentPast(lsn: bigint, segSize: number): number {
  const seg = BigInt(segSize);
  return Number(lsn % seg === 0n ? lsn / seg : lsn / seg + 1n);
}
