// Tampering seen through object versions. fsdr writes every key once and deletes only through
// retention (journalled markers), so on a versioned bucket a key with a second version, or a
// delete marker fsdr did not make, is someone else's write: with the repository's own
// credentials ransomware can do exactly that (overwrite, delete) but cannot remove locked
// versions. The first such write gives a time to read the repository --as-of.
import { describeError, RepositoryError } from '../errors.js';
import { parseWalKey } from './layout.js';
import type { ObjectVersionInfo, VersionedStorage } from '../storage/storage.js';
import { markerId } from './expire-journal.js';

export interface ForeignDelete {
  key: string;
  markerVersionId: string;
  at: string;
  /** the newest version under the marker (what deleting the marker brings back) */
  hiddenVersionId: string;
}

export interface VersionScan {
  objects: number;
  /** current version is a delete marker retention did not create, over an older version */
  foreignDeletes: ForeignDelete[];
  /** keys with more than one version; `at` is when the first rewrite happened */
  overwritten: Array<{ key: string; at: string }>;
  /** just before the first foreign write: what to pass to --as-of */
  lastGoodTime?: string;
  /** the expire journal could not be read (then every marker counts as foreign) */
  journalProblem?: string;
}

// Coordination objects (leases) are not written once; they do not count.
const IGNORED = /^leases\//;

export async function scanVersions(storage: VersionedStorage, journal: () => Promise<Set<string>>, prefix = ''): Promise<VersionScan> {
  let own = new Set<string>();
  let journalProblem: string | undefined;
  try {
    own = await journal();
  } catch (err) {
    journalProblem = describeError(err);
  }
  const byKey = new Map<string, ObjectVersionInfo[]>();
  for await (const v of storage.listVersions(prefix)) {
    if (IGNORED.test(v.key)) continue;
    byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  }
  const scan: VersionScan = { objects: byKey.size, foreignDeletes: [], overwritten: [], journalProblem };
  let first = Infinity;
  for (const [key, versions] of byKey) {
    const data = versions.filter((v) => !v.isDeleteMarker).sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime());
    // A streamed partial segment is the one object fsdr replaces (wal-archive.ts putStreamPartial).
    if (data.length > 1 && parseWalKey(key)?.kind !== 'stream-partial') {
      scan.overwritten.push({ key, at: data[1]!.lastModified.toISOString() });
      first = Math.min(first, data[1]!.lastModified.getTime());
    }
    // ... and removes once its segment is stored whole.
    if (parseWalKey(key)?.kind === 'stream-partial') continue;
    for (const m of versions.filter((v) => v.isDeleteMarker && !own.has(markerId(key, v.versionId)))) {
      first = Math.min(first, m.lastModified.getTime());
      if (m.isLatest && data.length) scan.foreignDeletes.push({ key, markerVersionId: m.versionId, at: m.lastModified.toISOString(), hiddenVersionId: data[data.length - 1]!.versionId });
    }
  }
  if (first !== Infinity) scan.lastGoodTime = new Date(first - 1).toISOString();
  return scan;
}

export function suspicious(scan: VersionScan): boolean {
  return scan.foreignDeletes.length > 0 || scan.overwritten.length > 0;
}

/** How to bring back a version hidden by a delete marker: delete the marker. */
export function undeleteHint(description: string, d: ForeignDelete): string {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(description);
  if (!m) return `remove delete marker ${d.markerVersionId} of ${d.key}`;
  const full = m[2] ? `${m[2]}/${d.key}` : d.key;
  return `aws s3api delete-object --bucket ${m[1]} --key ${full} --version-id ${d.markerVersionId}`;
}

export function describeScan(scan: VersionScan): string {
  const parts = [];
  if (scan.overwritten.length) parts.push(`${scan.overwritten.length} overwritten`);
  if (scan.foreignDeletes.length) parts.push(`${scan.foreignDeletes.length} deleted outside retention`);
  return `${parts.join(' and ')} of ${scan.objects} objects, but their older versions exist`;
}

export function tamperedError(repo: string, description: string, problem: string, scan: VersionScan): RepositoryError {
  return new RepositoryError('FSDR_REPO_TAMPERED',
    `repository ${repo} (${description}): ${problem}; ${describeScan(scan)}: this looks like tampering or ransomware (fsdr writes every object once)`, {
      hint: `this is no new repository (a new repo.json would hide the attack); read it as it was before: --as-of ${scan.lastGoodTime ?? '<time before the attack>'} (e.g. fsdr verify --as-of …, fsdr restore --latest --as-of …)`,
    });
}
