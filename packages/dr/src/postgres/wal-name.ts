// WAL file names, parsed and formatted in one place. A segment is TTTTTTTTLLLLLLLLSSSSSSSS (timeline,
// log, segment within the log, fixed-width upper-case hex); beside segments PostgreSQL archives
// timeline history files, backup history files and, at promotion, .partial segments.
// fsdr's streaming adds <segment>.stream.partial: the segment pg_receivewal is writing, uploaded every
// few seconds (overwritten, unlike everything else). It never takes PostgreSQL's own <segment>.partial
// name, which a promoted standby archives through archive_command, create-only.
export type WalKind = 'segment' | 'partial' | 'stream-partial' | 'history' | 'backup-history';

export interface WalName {
  name: string;
  kind: WalKind;
  timeline: number;
  /** Segment number across logs (log * segmentsPerLog + seg); undefined for history files. */
  log?: number;
  seg?: number;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const PARTIAL = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/;
const STREAM_PARTIAL = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.stream\.partial$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;
const BACKUP = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$/;

export function parseWalName(name: string): WalName | undefined {
  let m = STREAM_PARTIAL.exec(name);
  if (m) return { name, kind: 'stream-partial', timeline: parseInt(m[1]!, 16), log: parseInt(m[2]!, 16), seg: parseInt(m[3]!, 16) };
  m = SEGMENT.exec(name) ?? PARTIAL.exec(name) ?? BACKUP.exec(name);
  if (m) {
    const kind: WalKind = name.endsWith('.partial') ? 'partial' : name.endsWith('.backup') ? 'backup-history' : 'segment';
    return { name, kind, timeline: parseInt(m[1]!, 16), log: parseInt(m[2]!, 16), seg: parseInt(m[3]!, 16) };
  }
  m = HISTORY.exec(name);
  if (m) return { name, kind: 'history', timeline: parseInt(m[1]!, 16) };
  return undefined;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

export function formatSegmentName(timeline: number, log: number, seg: number): string {
  return hex8(timeline) + hex8(log) + hex8(seg);
}

export function historyFileName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

export function segmentsPerLog(walSegmentSize: number): number {
  return 0x100000000 / walSegmentSize;
}

/** Position of a segment as one integer, for ordering and gap detection within a timeline. */
export function segmentNumber(w: WalName, walSegmentSize: number): number {
  return w.log! * segmentsPerLog(walSegmentSize) + w.seg!;
}

export function segmentFromNumber(timeline: number, n: number, walSegmentSize: number): string {
  const per = segmentsPerLog(walSegmentSize);
  return formatSegmentName(timeline, Math.floor(n / per), n % per);
}

/** The streamed partial of a segment: <segment>.stream.partial. */
export function streamPartialName(segment: string): string {
  return `${segment}.stream.partial`;
}
