// Live RPO exposure: how long ago the oldest WAL not yet in the repository was written, from
// PostgreSQL's own view (archiver-status.ts), not from the age of the newest archived segment: a
// quiet database with nothing to archive is exposed 0 s, however long ago its last segment was.
//
// The estimate. The oldest unarchived byte P is the start of the oldest segment marked .ready, or,
// with no .ready segment, the start of the segment being written now (every completed segment is
// archived). The oldest WAL worth losing after P was written
//   - no later than the first monitor sample that saw a transaction in it (below; the clock keeps
//     the positions it saw, so exposure counts from when the agent first saw the WAL, within one
//     monitor interval of its real write), and
//   - with a .ready segment, no later than the moment it was marked .ready (it was complete then),
// and the exposure is now minus the earlier of the two.
// WAL is exposure only once it holds a transaction: an idle server still writes (the bgwriter logs
// running transactions 15 s after other WAL, a checkpoint every checkpoint_timeout) and PostgreSQL's
// archive_timeout does not switch such a segment out, so "WAL past P" alone would make an idle database's exposure grow without end. The clock also keeps
// the completed-transaction horizon of each sample; the exposure counts from the first sample past
// P whose horizon moved beyond the base's (the newest sample at or before P; at agent start, the
// first sample: a commit in the current segment from before the agent started counts once the
// next one happens, and archive_timeout ships it anyway). Without a horizon (older server views),
// any WAL past P counts.
// With streaming archiving (streaming/), P is the position the repository holds the stream to
// (the uploaded partial's last page, or the end of the newest segment streamed whole) when that is
// later: exposure is then the age of the oldest WAL not in the repository, partial included.
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
  /** insert positions seen (with the completed-transaction horizon), ascending by time (and so by position on a primary) */
  private samples: Array<{ at: number; lsn: bigint; xid?: bigint }> = [];

  /**
   * `streamedLsn`: with streaming archiving, the WAL position up to which the repository holds the
   * stream (full segments and the uploaded partial): WAL before it is not exposure, even where
   * archive_command has not taken its segment yet.
   */
  observe(s: ArchiverStatus, now: Date, streamedLsn?: bigint): UnarchivedWal | undefined {
    if (s.insertLsn === undefined) return undefined;
    const at = now.getTime();
    const seg = BigInt(s.walSegmentSize);
    const last = this.samples.at(-1);
    // A position behind the last one is another server (a restore, a failover): start over.
    if (last && s.insertLsn < last.lsn) this.samples = [];
    this.samples.push({ at, lsn: s.insertLsn, xid: s.completedXidHorizon });
    const readySegs = s.ready.filter((r) => parseWalName(r.name)?.kind === 'segment');
    const oldestReady = readySegs.reduce<typeof readySegs[number] | undefined>((a, r) => (!a || r.name.slice(8) < a.name.slice(8) ? r : a), undefined);
    let p = oldestReady
      ? BigInt(segmentNumber(parseWalName(oldestReady.name)!, s.walSegmentSize)) * seg
      : (s.insertLsn / seg) * seg;
    let margin = SEGMENT_HEADER_BYTES;
    // The oldest .ready segment bounds when its WAL was written, unless the stream stored it whole.
    let readyCounts = !!oldestReady;
    if (streamedLsn !== undefined && streamedLsn > p) {
      if (oldestReady && streamedLsn >= p + seg) readyCounts = false;
      p = streamedLsn;
      margin = 0n;
    }
    const past = (x: { lsn: bigint }) => x.lsn > p + margin;
    // Keep the newest sample at or before P (the base for the next P) and every one after it.
    const firstAfter = this.samples.findIndex(past);
    if (firstAfter > 1) this.samples = this.samples.slice(firstAfter - 1);
    if (this.samples.length > MAX_SAMPLES) this.samples = this.samples.slice(-MAX_SAMPLES);
    const oldestReadyAt = s.ready.length ? Math.min(...s.ready.map((r) => r.readyAt.getTime())) : undefined;
    const out: UnarchivedWal = {
      readyFiles: s.ready.length,
      oldestReadySeconds: oldestReadyAt === undefined ? 0 : Math.max(0, (at - oldestReadyAt) / 1000),
      bytes: 0,
      exposureSeconds: 0,
    };
    if (s.insertLsn <= p + margin && !readyCounts) return out;
    out.bytes = Number(s.insertLsn - p);
    // After the pruning above the first sample is the base: at or before P, or (none is) the oldest seen.
    const base = this.samples[0]!;
    const holds = (x: { lsn: bigint; xid?: bigint }) => past(x) && (base.xid === undefined || x.xid === undefined || x.xid > base.xid);
    // The base itself counts when it is past P without a horizon to compare (an older server view).
    const first = base.xid === undefined && past(base) ? base : this.samples.find((x) => x !== base && holds(x));
    // A .ready segment was complete, so written, by the time it was marked: whatever it holds, PostgreSQL wants it archived.
    const writtenBy = Math.min(first?.at ?? Infinity, readyCounts ? oldestReady!.readyAt.getTime() : Infinity);
    if (writtenBy === Infinity) return out;
    out.exposureSeconds = Math.max(0, (at - writtenBy) / 1000);
    return out;
  }
}
