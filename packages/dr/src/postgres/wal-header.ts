// Reads the long page header at the start of a WAL segment: it names the cluster (system
// identifier) that wrote it, which lets wal-push refuse a segment from another cluster, and the
// address of its first page, which lets wal-fetch refuse a segment stored under another's name.
// Layout (access/xlog_internal.h): XLogPageHeaderData is 24 bytes after alignment (magic u16,
// info u16, tli u32, pageaddr u64, rem_len u32, pad), then xlp_sysid u64, xlp_seg_size u32.
import { open } from 'node:fs/promises';
import { lsnToSegment, formatLsn } from './lsn.js';
import { segmentNumber, type WalName } from './wal-name.js';

export interface WalSegmentHeader {
  timeline: number;
  /** LSN of the page (xlp_pageaddr): for the first page, the segment's start */
  pageAddress: bigint;
  systemIdentifier: string;
  segmentSize: number;
}

export const WAL_HEADER_BYTES = 40;
const XLP_LONG_HEADER = 0x0002;

/** The long header from a segment's first bytes; undefined if they are not one. */
export function parseWalSegmentHeader(b: Buffer): WalSegmentHeader | undefined {
  if (b.length < WAL_HEADER_BYTES) return undefined;
  const info = b.readUInt16LE(2);
  if ((info & XLP_LONG_HEADER) === 0) return undefined;
  return {
    timeline: b.readUInt32LE(4),
    pageAddress: b.readBigUInt64LE(8),
    systemIdentifier: b.readBigUInt64LE(24).toString(),
    segmentSize: b.readUInt32LE(32),
  };
}

export async function readWalSegmentHeader(path: string): Promise<WalSegmentHeader | undefined> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(WAL_HEADER_BYTES);
    const { bytesRead } = await fh.read(b, 0, WAL_HEADER_BYTES, 0);
    return parseWalSegmentHeader(b.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export interface SegmentExpectation {
  /** the repository's segment size; the header's own when unknown */
  walSegmentSize?: number;
  systemIdentifier?: string;
}

/**
 * What is wrong with a segment's header for the name it was fetched as, or undefined when it fits.
 * PostgreSQL would read a segment with another segment's page address as the end of the WAL
 * ("unexpected pageaddr") and end recovery early, so this must be caught before it gets one.
 * The page's timeline may be lower than the name's: the first segment of a new timeline begins
 * with a copy of its parent's segment up to the fork (XLogInitNewTimeline), headers included.
 */
export function segmentHeaderProblem(w: WalName, h: WalSegmentHeader | undefined, expect: SegmentExpectation): string | undefined {
  if (!h) return 'no WAL segment (its first page has no long page header)';
  const size = expect.walSegmentSize ?? h.segmentSize;
  if (h.segmentSize !== size) return `a WAL segment of ${h.segmentSize} bytes (the repository's are ${size})`;
  if (expect.systemIdentifier && h.systemIdentifier !== expect.systemIdentifier) {
    return `WAL of cluster ${h.systemIdentifier} (the repository belongs to cluster ${expect.systemIdentifier})`;
  }
  const start = BigInt(segmentNumber(w, size)) * BigInt(size);
  if (h.pageAddress !== start || h.timeline > w.timeline) {
    return `the WAL of segment ${lsnToSegment(h.timeline, h.pageAddress, size)} (first page at ${formatLsn(h.pageAddress)} on timeline ${h.timeline}; ${w.name} starts at ${formatLsn(start)} on timeline ${w.timeline})`;
  }
  return undefined;
}
