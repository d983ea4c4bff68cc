// Delete markers fsdr expire did not make (versioned buckets). They are never purged; over an
// object retention keeps they are an alarm. A backup whose manifest was deleted so is judged
// from the hidden version, so its WAL stays and its deletion is an alarm while the policy keeps it.
import { segmentNumber } from '../../postgres/wal-name.js';
import { keptByRetention } from '../../retention/foreign.js';
import type { RetentionPlan } from '../../retention/plan.js';
import { parseBackupManifestKey, parseWalKey } from '../../repository/layout.js';
import type { BackupManifest } from '../../repository/manifest.js';
import type { Repository } from '../../repository/repository.js';
import { scanVersions, undeleteHint, type ForeignDelete } from '../../repository/tampering.js';
import { isVersioned } from '../../storage/storage.js';

export interface ForeignDeleteReport extends ForeignDelete {
  /** retention keeps this object: someone deleted what must stay */
  alarm: boolean;
  hint: string;
}

export interface ForeignDeletes {
  deletes: ForeignDelete[];
  /** manifests read from under foreign markers */
  hiddenManifests: BackupManifest[];
  /** backups with a foreign-deleted object: expire leaves them alone */
  touchedBackups: Set<string>;
  unreadable: Set<string>;
}

export function ownerOf(key: string): { backup?: string; dump?: string } {
  const b = /^backups\/([^/]+)\//.exec(key);
  if (b) return { backup: b[1] };
  const d = /^dumps\/([^/]+)\//.exec(key);
  return d ? { dump: d[1] } : {};
}

export async function findForeignDeletes(repo: Repository, own: Set<string>): Promise<ForeignDeletes> {
  const out: ForeignDeletes = { deletes: [], hiddenManifests: [], touchedBackups: new Set(), unreadable: new Set() };
  if (!isVersioned(repo.storage)) return out;
  out.deletes = (await scanVersions(repo.storage, async () => own)).foreignDeletes;
  for (const f of out.deletes) {
    const backup = ownerOf(f.key).backup;
    if (backup) out.touchedBackups.add(backup);
    const id = parseBackupManifestKey(f.key);
    if (!id) continue;
    try {
      out.hiddenManifests.push(await repo.backups.read(id, f.hiddenVersionId));
    } catch {
      out.unreadable.add(id);
    }
  }
  return out;
}

export function judgeForeignDeletes(repo: Repository, found: ForeignDeletes, plan: RetentionPlan, walSegmentSize: number): ForeignDeleteReport[] {
  return found.deletes.map((f) => {
    const owner = ownerOf(f.key);
    const w = parseWalKey(f.key);
    const wal = w && { kind: w.kind, segment: w.kind === 'history' ? undefined : segmentNumber(w, walSegmentSize) };
    const alarm = (owner.backup !== undefined && found.unreadable.has(owner.backup)) || keptByRetention(plan, { key: f.key, ...owner, wal });
    return { ...f, alarm, hint: alarm ? `restore it: ${undeleteHint(repo.storage.description, f)}` : 'past retention anyway; left as it is (not purged: fsdr did not delete it)' };
  });
}
