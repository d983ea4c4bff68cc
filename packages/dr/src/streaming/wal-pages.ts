// How far a streamed partial segment holds WAL: pg_receivewal pads a new segment with zeros, so
// the written part is the run of pages from the start whose header carries this segment's own
// page addresses; in the last of them, the whole records (by their length) end where the stream
// ended (what the RPO exposure counts as stored). Pure.
import { parseWalSegmentHeader } from '../postgres/wal-header.js';

/** xlp_xlog_blcksz sits after xlp_seg_size in the long header. */
const BLCKSZ_OFFSET = 36;

export interface WrittenExtent {
  segmentStart: bigint;
  /** LSN of the start of the last page written (a lower bound of the received end) */
  lastPageLsn: bigint;
  pages: number;
  /** the end of the last whole record in the last page (records are not CRC-checked here: an estimate for the exposure, never for replay) */
  endLsn: bigint;
}

const LONG_PHD = 40;
const SHORT_PHD = 24;
const RECORD_HEADER = 24;
const maxAlign = (n: number) => (n + 7) & ~7;

/** Where the whole records in one page end: after the header and a continued record's rest, XLogRecords by xl_tot_len. */
function endInPage(b: Buffer, off: number, blck: number, first: boolean): number {
  const pageEnd = off + blck;
  const remLen = b.readUInt32LE(off + 16);
  let pos = off + (first ? LONG_PHD : SHORT_PHD);
  if (remLen > 0) {
    if (pos + remLen > pageEnd) return off; // a record continued past this page: nothing whole ends here
    pos = maxAlign(pos + remLen);
  }
  let end = pos;
  while (pos + 4 <= pageEnd) {
    const len = b.readUInt32LE(pos);
    if (len < RECORD_HEADER || pos + len > pageEnd) break;
    pos = maxAlign(pos + len);
    end = Math.min(pos, pageEnd);
  }
  return end;
}

export function writtenExtent(b: Buffer): WrittenExtent | undefined {
  const h = parseWalSegmentHeader(b);
  if (!h) return undefined;
  const blck = b.readUInt32LE(BLCKSZ_OFFSET);
  if (blck < 1024 || blck > 65536) return undefined;
  const magic = b.readUInt16LE(0);
  let pages = 1;
  for (let off = blck; off + 16 <= b.length; off += blck, pages++) {
    if (b.readUInt16LE(off) !== magic || b.readBigUInt64LE(off + 8) !== h.pageAddress + BigInt(off)) break;
  }
  const last = (pages - 1) * blck;
  return { segmentStart: h.pageAddress, lastPageLsn: h.pageAddress + BigInt(last), pages, endLsn: h.pageAddress + BigInt(endInPage(b, last, blck, pages === 1)) };
}
