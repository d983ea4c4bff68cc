// How far a standby is behind: against the newest WAL in its repository (what it can still
// replay) and against the primary's current position (what a failover now would lose). Pure.
import { parseWalName, segmentNumber } from '../postgres/wal-name.js';

export interface ArchivedSegment {
  name: string;
  lastModified: Date;
}

export interface RepositoryLag {
  /** The newest complete segment in the repository, on the highest timeline. */
  newestSegment?: string;
  newestAt?: string;
  /** WAL in the repository past the replay position (0 when the standby has replayed it all). */
  bytes: number;
  /** Age of the oldest archived segment the standby has not replayed yet (0 when none). */
  seconds: number;
}

/** `replayLsn` on `timeline`; segments of other timelines are compared on position alone. */
export function repositoryLag(replayLsn: bigint, segments: ArchivedSegment[], walSegmentSize: number, now: Date): RepositoryLag {
  const segs = segments
    .map((s) => ({ ...s, w: parseWalName(s.name) }))
    .filter((s) => s.w?.kind === 'segment')
    .map((s) => ({ ...s, start: BigInt(segmentNumber(s.w!, walSegmentSize)) * BigInt(walSegmentSize), tli: s.w!.timeline }))
    .sort((a, b) => (a.start === b.start ? a.tli - b.tli : a.start < b.start ? -1 : 1));
  const newest = segs[segs.length - 1];
  if (!newest) return { bytes: 0, seconds: 0 };
  const end = newest.start + BigInt(walSegmentSize);
  // A segment starting at or after the replay position has not been read yet (a standby replays
  // a fetched segment at once; after a switch record it waits at the next segment's start).
  const behind = segs.filter((s) => s.start >= replayLsn);
  const oldest = behind.sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime())[0];
  return {
    newestSegment: newest.name,
    newestAt: newest.lastModified.toISOString(),
    bytes: behind.length ? Number(end - replayLsn) : 0,
    seconds: oldest ? Math.max(0, (now.getTime() - oldest.lastModified.getTime()) / 1000) : 0,
  };
}
