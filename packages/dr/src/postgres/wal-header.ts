// Reads the long page header at the start of a WAL segment: it names the cluster (system
// identifier) that wrote it, which lets wal-push refuse a segment from another cluster.
// Layout (access/xlog_internal.h): XLogPageHeaderData is 24 bytes after alignment (magic u16,
// info u16, tli u32, pageaddr u64, rem_len u32, pad), then xlp_sysid u64, xlp_seg_size u32.
import { open } from 'node:fs/promises';

export interface WalSegmentHeader {
  timeline: number;
  systemIdentifier: string;
  segmentSize: number;
}

const XLP_LONG_HEADER = 0x0002;

export async function readWalSegmentHeader(path: string): Promise<WalSegmentHeader | undefined> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(40);
    const { bytesRead } = await fh.read(b, 0, 40, 0);
    if (bytesRead < 40) return undefined;
    const info = b.readUInt16LE(2);
    if ((info & XLP_LONG_HEADER) === 0) return undefined;
    return {
      timeline: b.readUInt32LE(4),
      systemIdentifier: b.readBigUInt64LE(24).toString(),
      segmentSize: b.readUInt32LE(32),
    };
  } finally {
    await fh.close();
  }
}
