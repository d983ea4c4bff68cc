// Retention as a pure plan: which backups and dumps expire, and which WAL no kept backup needs.
// Kept: backups that ended within `days`, the newest `minBackups` whatever their age, and every
// backup a kept incremental reads from. WAL is kept from the start of the oldest kept backup, so
// the point-in-time window has no hole.
export interface RetentionPolicy {
  days: number;
  minBackups: number;
  dumpDays: number;
}

export interface BackupFacts {
  id: string;
  stopTime: string;
  references: string[];
  /** segment number (within its timeline) of the backup's first WAL segment */
  startSegment: number;
}

export interface WalFacts {
  key: string;
  kind: 'segment' | 'partial' | 'stream-partial' | 'history' | 'backup-history';
  segment?: number;
}

export interface RetentionPlan {
  cutoff: string;
  keepBackups: string[];
  expireBackups: string[];
  keepDumps: string[];
  expireDumps: string[];
  /** WAL older than this segment number is expired (undefined: no backup kept, WAL untouched) */
  walKeepFrom?: number;
  expireWal: string[];
}

const DAY = 86_400_000;

export function planRetention(policy: RetentionPolicy, now: Date, backups: BackupFacts[], dumps: Array<{ id: string; stopTime: string }>, wal: WalFacts[]): RetentionPlan {
  const cutoff = now.getTime() - policy.days * DAY;
  const sorted = [...backups].sort((a, b) => (a.id < b.id ? -1 : 1));
  const keep = new Set<string>();
  for (const b of sorted) if (Date.parse(b.stopTime) >= cutoff) keep.add(b.id);
  for (const b of sorted.slice(-policy.minBackups)) keep.add(b.id);
  // An incremental is only restorable with the backups it reads from.
  let grew = true;
  while (grew) {
    grew = false;
    for (const b of sorted) {
      if (!keep.has(b.id)) continue;
      for (const r of b.references) {
        if (!keep.has(r) && sorted.some((x) => x.id === r)) {
          keep.add(r);
          grew = true;
        }
      }
    }
  }
  const dumpCutoff = now.getTime() - policy.dumpDays * DAY;
  const dumpsSorted = [...dumps].sort((a, b) => (a.id < b.id ? -1 : 1));
  const keepDumps = new Set(dumpsSorted.filter((d) => Date.parse(d.stopTime) >= dumpCutoff).map((d) => d.id));
  if (dumpsSorted.length && !keepDumps.size) keepDumps.add(dumpsSorted[dumpsSorted.length - 1]!.id);

  const kept = sorted.filter((b) => keep.has(b.id));
  const walKeepFrom = kept.length ? Math.min(...kept.map((b) => b.startSegment)) : undefined;
  const expireWal = walKeepFrom === undefined ? [] : wal.filter((w) => w.kind !== 'history' && w.segment !== undefined && w.segment < walKeepFrom).map((w) => w.key);
  return {
    cutoff: new Date(cutoff).toISOString(),
    keepBackups: kept.map((b) => b.id),
    expireBackups: sorted.filter((b) => !keep.has(b.id)).map((b) => b.id),
    keepDumps: dumpsSorted.filter((d) => keepDumps.has(d.id)).map((d) => d.id),
    expireDumps: dumpsSorted.filter((d) => !keepDumps.has(d.id)).map((d) => d.id),
    walKeepFrom,
    expireWal,
  };
}
