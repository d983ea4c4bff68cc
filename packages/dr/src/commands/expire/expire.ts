// fsdr expire: apply retention. Backups and dumps past the policy go (manifest first, so a backup
// stops being restorable before its data goes), with the WAL no kept backup needs. On a versioned,
// locked bucket a delete leaves a delete marker, recorded in the expire journal; versions under
// fsdr's own markers are purged once their lock lapses (still locked: reported as pending, not a
// failure). Markers someone else made are never purged: over an object retention keeps they are
// an alarm (a deleted kept backup is an attack or a mistake, recoverable by removing the marker).
import type { Config } from '../../config/load.js';
import { parseWalName, segmentNumber } from '../../postgres/wal-name.js';
import { planRetention, type RetentionPlan } from '../../retention/plan.js';
import { BACKUP_PREFIX, backupManifestKey } from '../../repository/layout.js';
import { DUMP_PREFIX, dumpManifestKey } from '../../repository/dump-catalog.js';
import { markerId } from '../../repository/expire-journal.js';
import { Repository } from '../../repository/repository.js';
import { isVersioned, type DeleteMarkerInfo } from '../../storage/storage.js';
import { findLeftovers, removable, removeLeftovers, type Leftover } from '../../repository/leftovers.js';
import { findForeignDeletes, judgeForeignDeletes, type ForeignDeleteReport } from './foreign-deletes.js';
import { purgeOwn, type PurgeResult } from './purge.js';
import { runningBackups } from './running-backups.js';
import { assertMayWrite } from '../../failover/fence.js';

export type { ForeignDeleteReport } from './foreign-deletes.js';

export interface ExpireResult extends RetentionPlan, PurgeResult {
  dryRun: boolean;
  deletedObjects: number;
  /** Delete markers fsdr did not create (never purged); `alarm` over objects retention keeps. */
  foreignDeletes: ForeignDeleteReport[];
  alarms: number;
  /** Nothing expired this run because an incremental backup is running (it may reuse backups). */
  deferredBy?: string[];
  /** debris of killed runs old enough that no writer owns it: removed (or, with --dry-run, would be) */
  leftoversRemoved: Leftover[];
  /** debris too young to remove: a writer may still be at work */
  leftoversKept: Leftover[];
}

async function keysUnder(repo: Repository, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of repo.storage.list(prefix)) keys.push(o.key);
  return keys;
}

export async function runExpire(cfg: Config, opts: { dryRun: boolean; now?: Date; repository?: string }): Promise<ExpireResult> {
  if (!opts.dryRun) await assertMayWrite(cfg, 'expire');
  const now = opts.now ?? new Date();
  const repo = await Repository.open(cfg, opts.repository ?? 'primary');
  try {
    const info = await repo.readInfo();
    // Read first: a tampered journal must stop expire before it deletes anything.
    const own = isVersioned(repo.storage) ? await repo.expireJournal.markers() : new Set<string>();
    const foreign = await findForeignDeletes(repo, own);
    const manifests = [...(await repo.backups.list()), ...foreign.hiddenManifests].sort((a, b) => (a.id < b.id ? -1 : 1));
    const dumps = await Promise.all((await repo.dumps.ids()).map((id) => repo.dumps.read(id)));
    const wal = [];
    for await (const w of repo.wal.list()) wal.push({ key: w.key, kind: w.kind, segment: w.kind === 'history' ? undefined : segmentNumber(w, info.walSegmentSize) });
    // An incremental backup reads the newest manifests and reuses their bundles: while one runs
    // (its lease is younger than a day), expire keeps every backup.
    const running = await runningBackups(repo.storage);
    const plan = planRetention(
      { days: cfg.retention.days, minBackups: running.length ? Number.MAX_SAFE_INTEGER : cfg.retention.minBackups, dumpDays: cfg.retention.dumpDays ?? cfg.retention.days },
      now,
      manifests.map((m) => ({ id: m.id, stopTime: m.stopTime, references: m.references, startSegment: segmentNumber(parseWalName(m.startWal)!, m.walSegmentSize) })),
      dumps.map((d) => ({ id: d.id, stopTime: d.stopTime })),
      wal,
    );
    const foreignDeletes = judgeForeignDeletes(repo, foreign, plan, info.walSegmentSize);
    const leftovers = await findLeftovers(repo.storage);
    const result: ExpireResult = {
      ...plan, dryRun: opts.dryRun, deletedObjects: 0, purgedVersions: 0, pendingLocked: [],
      foreignDeletes, alarms: foreignDeletes.filter((f) => f.alarm).length, deferredBy: running.length ? running : undefined,
      leftoversRemoved: leftovers.filter((l) => removable(l, now)), leftoversKept: leftovers.filter((l) => !removable(l, now)),
    };
    if (opts.dryRun) return result;
    // Checked again just before deleting: an incremental that started since planning may already
    // have read a manifest this plan expires (it re-checks its bundles before its own manifest).
    const late = running.length ? [] : await runningBackups(repo.storage);
    if (late.length) {
      const keepBackups = [...plan.keepBackups, ...plan.expireBackups].sort();
      return { ...result, deferredBy: late, keepBackups, expireBackups: [], keepDumps: [...plan.keepDumps, ...plan.expireDumps].sort(), expireDumps: [], expireWal: [] };
    }
    await removeLeftovers(repo.storage, result.leftoversRemoved);

    const markers: DeleteMarkerInfo[] = [];
    const del = async (keys: string[]) => {
      if (!keys.length) return;
      if (isVersioned(repo.storage)) markers.push(...(await repo.storage.deleteMarking(keys)));
      else await repo.storage.delete(keys);
    };
    const doomed: string[] = [];
    // A backup someone else deleted part of is left alone, even past retention.
    const backups = plan.expireBackups.filter((id) => !foreign.touchedBackups.has(id));
    for (const id of backups) {
      await del([backupManifestKey(id)]);
      doomed.push(...(await keysUnder(repo, `${BACKUP_PREFIX}${id}/`)));
    }
    for (const id of plan.expireDumps) {
      await del([dumpManifestKey(id)]);
      doomed.push(...(await keysUnder(repo, `${DUMP_PREFIX}${id}/`)));
    }
    doomed.push(...plan.expireWal);
    await del(doomed);
    result.deletedObjects = doomed.length + backups.length + plan.expireDumps.length;
    // Journalled before any purge: a crash in between leaves markers that look foreign (kept,
    // never purged), which errs on the side of keeping data.
    await repo.expireJournal.record(markers);
    for (const m of markers) own.add(markerId(m.key, m.versionId));
    if (isVersioned(repo.storage)) await purgeOwn(repo.storage, own, result);
    return result;
  } catch (err) {
    throw await repo.explain(err);
  } finally {
    await repo.close();
  }
}
