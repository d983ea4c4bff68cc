// Whether retention still keeps an object someone else deleted (a delete marker fsdr expire did
// not create). Such a delete over a kept object is an alarm: it is an attack or a mistake, and
// becomes a real loss if anything purges the hidden version once its lock lapses.
import type { RetentionPlan } from './plan.js';

export interface DeletedObjectFacts {
  key: string;
  /** set when the key belongs to a backup or a dump */
  backup?: string;
  dump?: string;
  wal?: { kind: string; segment?: number };
}

export function keptByRetention(plan: RetentionPlan, f: DeletedObjectFacts): boolean {
  if (f.backup !== undefined) return !plan.expireBackups.includes(f.backup);
  if (f.dump !== undefined) return !plan.expireDumps.includes(f.dump);
  if (f.wal) {
    if (f.wal.kind === 'history' || f.wal.segment === undefined || plan.walKeepFrom === undefined) return true;
    return f.wal.segment >= plan.walKeepFrom;
  }
  // repo.json, the expire journal, anything else: never retention's to drop.
  return true;
}
