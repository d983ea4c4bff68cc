// Log sequence numbers ("16/B374D848"): parse, format, compare, and the WAL segment holding one.
import { formatSegmentName, segmentsPerLog } from './wal-name.js';

export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`invalid LSN ${text}`);
  return (BigInt(parseInt(m[1]!, 16)) << 32n) | BigInt(parseInt(m[2]!, 16));
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function isLsn(text: string): boolean {
  return /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(text.trim());
}

/** The segment file that holds `lsn` on `timeline`. */
export function lsnToSegment(timeline: number, lsn: bigint, walSegmentSize: number): string {
  const segNo = lsn / BigInt(walSegmentSize);
  const per = BigInt(segmentsPerLog(walSegmentSize));
  return formatSegmentName(timeline, Number(segNo / per), Number(segNo % per));
}
