// The only module that turns domain values into object keys (and back). Commands never build
// paths. See docs/repository-format.md for the layout as a whole.
import { parseWalName, type WalName } from '../postgres/wal-name.js';
import type { Storage } from '../storage/storage.js';

export const REPO_INFO_KEY = 'repo.json';
export const WAL_PREFIX = 'wal/';

/** wal/<timeline+log>/<segment> for segments; wal/<name> for timeline history files. */
export function walKey(w: WalName): string {
  if (w.kind === 'history') return `${WAL_PREFIX}${w.name}`;
  return `${WAL_PREFIX}${w.name.slice(0, 16)}/${w.name}`;
}

export function parseWalKey(key: string): WalName | undefined {
  if (!key.startsWith(WAL_PREFIX)) return undefined;
  const name = key.slice(key.lastIndexOf('/') + 1);
  const w = parseWalName(name);
  if (!w || walKey(w) !== key) return undefined;
  return w;
}

export const BACKUP_PREFIX = 'backups/';

export function backupManifestKey(id: string): string {
  return `${BACKUP_PREFIX}${id}/manifest.json`;
}

/**
 * A backup's summary: its manifest without the file list, and the manifest's SHA-256. Listings
 * read these (a few KiB) instead of every manifest (MiB each for an incremental of a large cluster).
 */
export function backupSummaryKey(id: string): string {
  return `${BACKUP_PREFIX}${id}/summary.json`;
}

export function backupBundleKey(id: string, index: number): string {
  return `${BACKUP_PREFIX}${id}/bundle-${String(index).padStart(5, '0')}`;
}

/**
 * The block digests of the mapped pieces one backup task (bundle `index`) listed, 16 bytes each,
 * back to back; manifest pieces point into it (ManifestFile.blockMap). Read by the next
 * incremental only: restore never needs it.
 */
export function backupBlockMapKey(id: string, index: number): string {
  return `${BACKUP_PREFIX}${id}/map-${String(index).padStart(5, '0')}`;
}

/** The backup id of a manifest key, or undefined for any other key. */
export function parseBackupManifestKey(key: string): string | undefined {
  const m = /^backups\/([^/]+)\/manifest\.json$/.exec(key);
  return m ? m[1] : undefined;
}

/** expire/<run>.json: the delete markers one `fsdr expire` run created (written once). */
export const EXPIRE_JOURNAL_PREFIX = 'expire/';

export function expireJournalKey(run: string): string {
  return `${EXPIRE_JOURNAL_PREFIX}${run}.json`;
}

/** In-progress backups: leases/backup-running/<id>, written before the prior manifest is read. */
export const BACKUP_RUNNING_PREFIX = 'leases/backup-running/';

export function backupRunningKey(id: string): string {
  return `${BACKUP_RUNNING_PREFIX}${id}`;
}

/** Whether any object exists under a prefix (an id already taken). */
export async function anyUnder(storage: Storage, prefix: string): Promise<boolean> {
  for await (const _ of storage.list(prefix)) return true;
  return false;
}

/** drills/<id>.json: one drill's evidence (written once). Golden captures sit deeper (drills/golden/…). */
export const DRILL_PREFIX = 'drills/';

export function drillEvidenceKey(id: string): string {
  return `${DRILL_PREFIX}${id}.json`;
}

/** The drill id of an evidence key, or undefined for any other key (including deeper ones). */
export function parseDrillEvidenceKey(key: string): string | undefined {
  const m = /^drills\/([^/]+)\.json$/.exec(key);
  return m ? m[1] : undefined;
}

/** drills/golden/<id>.json: one golden evaluation capture (written once). */
export const GOLDEN_PREFIX = `${DRILL_PREFIX}golden/`;

export function goldenCaptureKey(id: string): string {
  return `${GOLDEN_PREFIX}${id}.json`;
}

export function parseGoldenCaptureKey(key: string): string | undefined {
  const m = /^drills\/golden\/([^/]+)\.json$/.exec(key);
  return m ? m[1] : undefined;
}

// Fences: `fence/<epoch>` written once each; the highest epoch names the region that may write.
export const FENCE_PREFIX = 'fence/';

export function fenceKey(epoch: number): string {
  return `${FENCE_PREFIX}${String(epoch).padStart(10, '0')}`;
}

export function parseFenceKey(key: string): number | undefined {
  const m = /^fence\/(\d{10})$/.exec(key);
  return m ? Number(m[1]) : undefined;
}
