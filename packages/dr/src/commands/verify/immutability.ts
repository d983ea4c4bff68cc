// fsdr verify --immutability: every current object of a repository that asks for Object Lock must
// carry the configured mode with a retain-until at least `days` after it was written.
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { openStorage } from '../../storage/open-storage.js';

export interface ImmutabilityReport {
  repository: string;
  checked: number;
  insufficient: Array<{ key: string; mode?: string; retainUntil?: string; problem: string }>;
}

// Clock skew between the store and the writer; a lock short by less than this still counts.
const TOLERANCE_MS = 5 * 60_000;

export async function verifyImmutability(cfg: Config, name: string): Promise<ImmutabilityReport> {
  const rc = cfg.repositories[name];
  if (!rc) throw new FsdrError('FSDR_REPO_UNKNOWN', `no repository named ${name}`);
  if (rc.type !== 's3' || !rc.objectLock) {
    throw new FsdrError('FSDR_NO_OBJECT_LOCK', `repository ${name} is not an S3 repository with objectLock configured`, { hint: `set repositories.${name}.objectLock` });
  }
  const storage = await openStorage(rc, name);
  const want = rc.objectLock.mode.toUpperCase();
  const report: ImmutabilityReport = { repository: name, checked: 0, insufficient: [] };
  try {
    for await (const o of storage.list('')) {
      // Leases coordinate agents; they are not backup data and are written without a lock.
      if (o.key.startsWith('leases/')) continue;
      const h = await storage.head(o.key);
      if (!h) continue;
      report.checked++;
      const needed = h.lastModified.getTime() + rc.objectLock.days * 86_400_000 - TOLERANCE_MS;
      if (h.lockMode !== want) {
        report.insufficient.push({ key: o.key, mode: h.lockMode, retainUntil: h.retainUntil?.toISOString(), problem: h.lockMode ? `lock mode ${h.lockMode}, expected ${want}` : 'no Object Lock retention' });
      } else if (!h.retainUntil || h.retainUntil.getTime() < needed) {
        report.insufficient.push({ key: o.key, mode: h.lockMode, retainUntil: h.retainUntil?.toISOString(), problem: `retained until ${h.retainUntil?.toISOString()}, less than ${rc.objectLock.days} days after it was written` });
      }
    }
    return report;
  } finally {
    await storage.close();
  }
}
