// How far a streamed partial segment holds WAL: pg_receivewal pads a new segment with zeros, so
// the written part is the run of pages from the start whose header carries this segment's own
// page addresses. Page granularity; the start of the last such page is a lower bound on what the
// bytes hold (what the RPO exposure may count as stored). Pure.
import { parseWalSegmentHeader } from '../postgres/wal-header.js';

/** xlp_xlog_blcksz sits after xlp_seg_size in the long header. */
const BLCKSZ_OFFSET = 36;

export interface WrittenExtent {
  segmentStart: bigint;
  /** LSN of the start of the last page written (a lower bound of the received end) */
  lastPageLsn: bigint;
  pages: number;
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
  return { segmentStart: h.pageAddress, lastPageLsn: h.pageAddress + BigInt((pages - 1) * blck), pages };
}
