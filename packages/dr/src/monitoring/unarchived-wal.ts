// Live RPO exposure: how long ago the oldest WAL not yet in the repository was written, from
// PostgreSQL's own view (archiver-status.ts), not from the age of the newest archived segment: a
// quiet database with nothing to archive is exposed 0 s, however long ago its last segment was.
//
// The estimate. The oldest unarchived byte P is the start of the oldest segment marked .ready, or,
// with no .ready segment, the start of the segment being written now (every completed segment is
// archived). Nothing is unarchived when the insert position is at most a segment's long page header
// past P (the segment was just switched to, nothing written in it). Otherwise P was written
//   - no later than the first monitor sample whose insert position was past P (the clock keeps the
//     positions it saw, so exposure counts from when the agent first saw the WAL, within one
//     monitor interval of its real write), and
//   - no later than the moment its segment was marked .ready (it was complete then),
// and the exposure is now minus the earlier of the two. At agent start with WAL already unarchived
// in the current segment only the first bound exists, so the exposure starts at 0 and grows.
import type { ArchiverStatus } from '../postgres/archiver-status.js';
import { parseWalName, segmentNumber } from '../postgres/wal-name.js';

/** SizeOfXLogLongPHD: the header at the start of every segment, all a freshly switched-to segment holds. */
const SEGMENT_HEADER_BYTES = 40n;
const MAX_SAMPLES = 10_000;

export interface UnarchivedWal {
  /** segments (and .history/.partial/.backup files) waiting for archive_command */
  readyFiles: number;
  /** age of the oldest .ready file (0 with none) */
  oldestReadySeconds: number;
  /** WAL bytes written and not yet archived */
  bytes: number;
  /** age of the oldest unarchived WAL (0 when nothing is unarchived) */
  exposureSeconds: number;
}

export class UnarchivedWalClock {
  /** insert positions seen, ascending by time (and so by position on a primary) */
  private samples: Array<{ at: number; lsn: bigint }> = [];

  observe(s: ArchiverStatus, now: Date): UnarchivedWal | undefined {
    if (s.insertLsn === undefined) return undefined;
    const at = now.getTime();
    const seg = BigInt(s.walSegmentSize);
    const last = this.samples.at(-1);
    // A position behind the last one is another server (a restore, a failover): start over.
    if (last && s.insertLsn < last.lsn) this.samples = [];
    this.samples.push({ at, lsn: s.insertLsn });
    const readySegs = s.ready.filter((r) => parseWalName(r.name)?.kind === 'segment');
    const oldestReady = readySegs.reduce<typeof readySegs[number] | undefined>((a, r) => (!a || r.name.slice(8) < a.name.slice(8) ? r : a), undefined);
    const p = oldestReady
      ? BigInt(segmentNumber(parseWalName(oldestReady.name)!, s.walSegmentSize)) * seg
      : (s.insertLsn / seg) * seg;
    // Keep the newest sample at or before P (history for the next P) and every one after it.
    const firstAfter = this.samples.findIndex((x) => x.lsn > p + SEGMENT_HEADER_BYTES);
    if (firstAfter > 1) this.samples = this.samples.slice(firstAfter - 1);
    if (this.samples.length > MAX_SAMPLES) this.samples = this.samples.slice(-MAX_SAMPLES);
    const oldestReadyAt = s.ready.length ? Math.min(...s.ready.map((r) => r.readyAt.getTime())) : undefined;
    const out: UnarchivedWal = {
      readyFiles: s.ready.length,
      oldestReadySeconds: oldestReadyAt === undefined ? 0 : Math.max(0, (at - oldestReadyAt) / 1000),
      bytes: 0,
      exposureSeconds: 0,
    };
    if (s.insertLsn <= p + SEGMENT_HEADER_BYTES && !oldestReady) return out;
    out.bytes = Number(s.insertLsn - p);
    const seen = this.samples.find((x) => x.lsn > p + SEGMENT_HEADER_BYTES)?.at ?? at;
    const writtenBy = Math.min(seen, oldestReady ? oldestReady.readyAt.getTime() : Infinity);
    out.exposureSeconds = Math.max(0, (at - writtenBy) / 1000);
    return out;
  }
}
