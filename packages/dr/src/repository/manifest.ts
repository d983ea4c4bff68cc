// A backup's manifest: everything restore needs to rebuild the data directory and to know that
// nothing is missing or corrupt. It is written LAST, encrypted and authenticated by the codec, so
// a backup without one (a crash half-way) is never taken for a restorable backup.

export const MANIFEST_FORMAT = 1;

/**
 * One piece of a file. A file larger than a bundle is split into pieces (each in its own bundle,
 * so several workers can copy one large relation at once); every other file is one piece.
 */
export interface ManifestFile {
  /** path relative to the data directory ('base/5/1259', 'pg_tblspc/16384/PG_15_.../1') */
  path: string;
  /** bytes of this piece */
  size: number;
  /** where the piece starts in the file (absent: 0, the whole file) */
  fileOffset?: number;
  mode: number;
  mtimeMs: number;
  /** sha256 of this piece */
  sha256: string;
  /** the backup whose bundle holds the bytes (this one, or an earlier one for incremental) */
  backup: string;
  bundle: number;
  offset: number;
  /**
   * Block-mapped pieces (large relation files, see block-map.ts): one digest per block of the
   * manifest's blockSize, concatenated, base64. Such a piece starts on a block boundary; in an
   * incremental, a file's pieces are runs of blocks, each stored by this backup or by an earlier one.
   */
  blocks?: string;
  /**
   * Where a block-mapped piece's digests are, in manifests written since they left the manifest
   * (which then grew by 21 bytes per block: 2.7 MiB per GiB of relations): the block map object of
   * task `bundle` of backup `backup` (layout.backupBlockMapKey), from digest `first`, one digest per
   * block of the manifest's blockSize. An unchanged piece keeps pointing at the map it was listed in.
   */
  blockMap?: { backup: string; bundle: number; first: number };
}

export interface ManifestBundle {
  index: number;
  size: number;
  storedSize: number;
  sha256: string;
}

export interface BackupManifest {
  format: number;
  id: string;
  type: 'full' | 'incr';
  /** the backup an incremental was taken against */
  prior?: string;
  /** every backup whose bundles this one reads (itself included) */
  references: string[];
  systemIdentifier: string;
  pgVersion: number;
  pgVersionNum: number;
  walSegmentSize: number;
  timeline: number;
  startLsn: string;
  stopLsn: string;
  startWal: string;
  stopWal: string;
  startTime: string;
  stopTime: string;
  label: string;
  backupLabel: string;
  tablespaceMap: string;
  directories: Array<{ path: string; mode: number }>;
  /** tablespace links: pg_tblspc/<oid> -> original location */
  tablespaces: Array<{ oid: string; location: string }>;
  files: ManifestFile[];
  bundles: ManifestBundle[];
  /** bytes per block of the block-mapped pieces (absent: no file is block-mapped) */
  blockSize?: number;
  totals: {
    files: number;
    bytes: number;
    storedBytes: number;
    newBytes: number;
    /** block-mapped files, and of their bytes how many this backup stored (the rest it references) */
    blockFiles?: number;
    blockNewBytes?: number;
  };
}

/** Ids sort by time: 20261127T030000Z-F (full) / -I (incremental). */
export function newBackupId(type: 'full' | 'incr', at = new Date()): string {
  const ts = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${ts}-${type === 'full' ? 'F' : 'I'}`;
}

export const BACKUP_ID = /^\d{8}T\d{6}Z-[FI]$/;

/**
 * An id (one-second resolution) no earlier run has used: a second dump or backup started within
 * the same second waits for the next one instead of colliding with the first's objects.
 */
export async function freshId(make: (at: Date) => string, used: (id: string) => Promise<boolean>): Promise<string> {
  for (;;) {
    const id = make(new Date());
    if (!(await used(id))) return id;
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
  }
}

/**
 * A manifest without its file list: what choosing a backup, windows and reports need. A manifest
 * of a large cluster is mostly its files (and their block maps), so listings keep only this and
 * hold one manifest's file list at a time, not every backup's.
 */
export type BackupSummary = Omit<BackupManifest, 'files'> & {
  /** SHA-256 of the manifest's JSON, when read from a summary object: the manifest must match it. */
  manifestSha256?: string;
};
