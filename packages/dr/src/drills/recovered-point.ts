// Where the restored copy ended up, against the end of the archive: the LSN at which recovery
// ended must lie in (or after) the last archived segment of the timeline it followed, and the
// age of that segment when the restore ended is the RPO exposure the drill measured: what a real
// recovery at that moment would have lost at most.
import { parseLsn } from '../postgres/lsn.js';
import { parseWalName, segmentNumber } from '../postgres/wal-name.js';
import type { ArchivedWal } from '../repository/wal-archive.js';
import { round, type StepOutcome } from './steps.js';

export interface Reached {
  /** the copy's position after promotion, on its new timeline */
  lsn: string;
  /** where recovery ended (the switch point to the new timeline) */
  endOfRecovery?: string;
  /** commit time of the last transaction replayed */
  time: string | null;
  timeline: number;
}

export interface Followed {
  timeline: number;
  lastSegment?: string;
  firstMissing?: string;
}

export function judgeRecoveredPoint(reached: Reached, followed: Followed, archive: ArchivedWal[], walSegmentSize: number, restoredAt: Date): StepOutcome & { rpoExposureSeconds?: number } {
  const segments = archive.filter((w) => w.kind === 'segment' || w.kind === 'partial' || w.kind === 'stream-partial');
  const newest = segments.reduce<ArchivedWal | undefined>((a, w) => (!a || w.lastModified > a.lastModified ? w : a), undefined);
  // With streaming the archive may end in the segment's streamed partial.
  const last = segments.find((w) => w.name === followed.lastSegment) ?? segments.find((w) => w.kind === 'stream-partial' && w.name.slice(0, 24) === followed.lastSegment);
  const rpoExposureSeconds = last ? round(Math.max(0, restoredAt.getTime() - last.lastModified.getTime()) / 1000) : undefined;
  const detail = {
    recovered: reached,
    archiveEnd: {
      timeline: followed.timeline,
      lastSegment: followed.lastSegment,
      lastSegmentArchivedAt: last?.lastModified.toISOString(),
      newestArchived: newest ? { name: newest.name, archivedAt: newest.lastModified.toISOString() } : undefined,
    },
    rpoExposureSeconds,
  };
  const fail = (message: string): StepOutcome & { rpoExposureSeconds?: number } => ({ ok: false, detail, rpoExposureSeconds, failure: { object: followed.lastSegment ? `wal ${followed.lastSegment}` : `wal timeline ${followed.timeline}`, message } });
  if (followed.firstMissing) return fail(`the archive of timeline ${followed.timeline} has a hole at ${followed.firstMissing}: recovery cannot reach its end`);
  if (!followed.lastSegment || !last) return fail(`no archived WAL segment on timeline ${followed.timeline} to recover to`);
  const end = parseLsn(reached.endOfRecovery ?? reached.lsn);
  const lastStart = BigInt(segmentNumber(parseWalName(followed.lastSegment)!, walSegmentSize)) * BigInt(walSegmentSize);
  if (end < lastStart) {
    return fail(`recovery ended at ${reached.endOfRecovery ?? reached.lsn}, before the last archived segment ${followed.lastSegment} of timeline ${followed.timeline}`);
  }
  return { ok: true, detail, rpoExposureSeconds };
}
