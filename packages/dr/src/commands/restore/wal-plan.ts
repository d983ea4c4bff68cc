// What a restore must reach before it may say "restored": the timeline it follows and where the
// archive along that timeline ends. Decided before a byte is written (a hole, an ambiguous fork
// and a backup off the chosen history are refused here) and checked after promotion against the
// switch point PostgreSQL wrote into the new timeline's history file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsdrError } from '../../errors.js';
import { formatLsn, parseLsn } from '../../postgres/lsn.js';
import { historyFileName, parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import type { BackupSummary } from '../../repository/manifest.js';
import { coverage, latestTimeline, trailingStreamPartials, liveBranches, parseHistory, timelinePath, type Coverage, type HistoryEntry } from '../../repository/timelines.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import type { RecoveryTarget } from './select-backup.js';

export type TimelineChoice = number | 'latest' | 'current';

export interface WalPlan {
  timeline: number;
  /** recovery_target_timeline as PostgreSQL reads it */
  setting: string;
  coverage: Coverage;
  /** recovery must end at or after this LSN (the start of the last segment it has to replay) */
  mustReach?: bigint;
}

export class WalGapError extends FsdrError {
  constructor(c: Coverage, segSize: number) {
    const before = segmentFromNumber(c.timeline, Number(c.reachableLsn! / BigInt(segSize)) - 1, segSize);
    super('FSDR_WAL_GAP', `the archive has a hole: WAL segment ${c.firstMissing} is missing, so recovery along timeline ${c.timeline} would stop at LSN ${formatLsn(c.reachableLsn!)} (end of ${before}) although the archive continues to ${c.lastSegment}`, {
      hint: 'copy the segment back from a replica (fsdr restore --repo <replica>) or pg_wal of the source; to recover only up to the hole, pass --accept-gap',
    });
  }
}

function describeBranches(bs: ReturnType<typeof liveBranches>): string {
  return bs.map((b) => `timeline ${b.timeline}${b.forkedFrom ? ` (forked from ${b.forkedFrom.timeline} at ${b.forkedFrom.lsn})` : ''} to ${b.lastSegment ?? 'its history file'}`).join('; ');
}

export function planWal(m: BackupSummary, target: RecoveryTarget, choice: TimelineChoice | undefined, wal: ArchivedWal[], histories: Map<number, HistoryEntry[]>, acceptGap: boolean): WalPlan {
  const segSize = m.walSegmentSize;
  // A streamed partial past the last full segment is replayed to its valid end (wal-fetch serves it).
  const present = new Set([...wal.filter((w) => w.kind === 'segment').map((w) => w.name), ...trailingStreamPartials(wal.map((w) => w.name), segSize)]);
  const branches = liveBranches(m.timeline, histories, present, segSize);
  if (choice === undefined && target.kind !== 'immediate' && branches.length > 1) {
    throw new FsdrError('FSDR_TIMELINE_AMBIGUOUS', `more than one timeline continues after backup ${m.id}: ${describeBranches(branches)}`, {
      hint: `choose one with --target-timeline ${branches.map((b) => b.timeline).join(' or ')} (a copy restored with archiving on may have written one of them)`,
    });
  }
  const timeline = choice === undefined || choice === 'latest' ? latestTimeline(m.timeline, histories) : choice === 'current' ? m.timeline : choice;
  if (timeline !== 1 && timeline !== m.timeline && !histories.has(timeline)) {
    throw new FsdrError('FSDR_TIMELINE_UNKNOWN', `timeline ${timeline} has no history file in the repository`, { hint: `archived timelines: ${[...new Set([1, ...histories.keys()])].sort((a, b) => a - b).join(', ')}` });
  }
  const startSeg = segmentNumber(parseWalName(m.startWal)!, segSize);
  const step = timelinePath(timeline, histories, segSize).find((s) => startSeg >= s.fromSeg && (s.toSeg === undefined || startSeg < s.toSeg));
  if (step?.timeline !== m.timeline) {
    throw new FsdrError('FSDR_TIMELINE_NOT_CHILD', `backup ${m.id} (timeline ${m.timeline}, ${m.startLsn}) is not in the history of timeline ${timeline}`, {
      hint: 'choose a backup taken on that timeline or before its fork (fsdr info shows the timeline tree)',
    });
  }
  const c = coverage(startSeg, timeline, histories, present, segSize);
  const setting = choice === undefined ? 'latest' : String(choice === 'current' ? m.timeline : choice === 'latest' ? 'latest' : choice);
  const plan: WalPlan = { timeline, setting, coverage: c };
  const wantsAll = target.kind === 'latest';
  if (c.firstMissing) {
    const beyond = target.kind === 'lsn' && parseLsn(target.value) >= c.reachableLsn!;
    if ((wantsAll && !acceptGap) || beyond) throw new WalGapError(c, segSize);
    if (wantsAll) plan.mustReach = c.reachableLsn! - BigInt(segSize);
  } else if (wantsAll) {
    plan.mustReach = c.lastSegmentStart;
  }
  return plan;
}

/** Where recovery ended: the switch point PostgreSQL recorded in the new timeline's history file. */
export async function recoveryEnd(pgdata: string, newTimeline: number): Promise<bigint | undefined> {
  try {
    const h = parseHistory(await readFile(join(pgdata, 'pg_wal', historyFileName(newTimeline)), 'utf8'));
    return h[h.length - 1]?.switchLsn;
  } catch {
    return undefined;
  }
}

export class RecoveryShortError extends FsdrError {
  constructor(reached: bigint, plan: WalPlan, segSize: number, cause: string) {
    const seg = segmentFromNumber(plan.timeline, Number(reached / BigInt(segSize)), segSize);
    super('FSDR_RECOVERY_SHORT', `recovery stopped at LSN ${formatLsn(reached)} (segment ${seg}) but the archive of timeline ${plan.timeline} continues to ${plan.coverage.lastSegment}${cause ? `: ${cause}` : ''}`, {
      hint: `the archived object of ${seg} or the next segment may be damaged or swapped: run fsdr verify, restore from a replica with --repo, or accept this point with --target-lsn ${formatLsn(reached)}`,
    });
  }
}
