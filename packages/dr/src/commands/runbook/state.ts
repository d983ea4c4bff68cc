// What the runbook and the tabletop say is at risk now: each repository's PITR window, WAL age,
// holes and replica lag (from info), and the newest drill of each kind (from evidence). A
// repository that cannot be read is recorded as such: at 3 AM the runbook must still come out.
import type { Config } from '../../config/load.js';
import { describeError } from '../../errors.js';
import { DRILL_KINDS } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';
import type { DrillState, RepositoryState, RunbookState } from '../../runbook/procedures.js';
import { repositoryLocation } from '../../runbook/procedures.js';
import { repositoryInfo } from '../info/info.js';

export async function readState(cfg: Config, now = new Date()): Promise<RunbookState> {
  const repositories: RepositoryState[] = [];
  for (const name of Object.keys(cfg.repositories)) {
    const location = repositoryLocation(cfg, name);
    try {
      const r = await repositoryInfo(cfg, name);
      const newestWal = Math.max(0, ...r.wal.timelines.map((t) => Date.parse(t.lastArchivedAt)));
      repositories.push({
        name, location,
        pitr: r.recoveryWindows.map((w) => ({ timeline: w.timeline, earliest: w.earliest, latest: w.latest })),
        backups: r.backups.length, newestBackup: r.backups.at(-1)?.id,
        walAgeSeconds: newestWal ? Math.max(0, (now.getTime() - newestWal) / 1000) : undefined,
        holes: r.wal.timelines.reduce((n, t) => n + t.gaps.length, 0),
        unreadableBackups: r.unreadableBackups.length,
        lagSeconds: r.replication?.lagSeconds,
      });
    } catch (err) {
      repositories.push({ name, location, error: describeError(err) });
    }
  }
  return { at: now.toISOString(), repositories, drills: await drillState(cfg) };
}

async function drillState(cfg: Config): Promise<DrillState[]> {
  let repo: Repository | undefined;
  try {
    repo = await Repository.open(cfg, 'primary');
    // An uninitialised or unauthentic repository has no drills "on record": say nothing rather than that.
    await repo.readInfo();
    const out: DrillState[] = [];
    for (const kind of DRILL_KINDS) {
      const { last } = await repo.drills.latest(kind);
      out.push(last
        ? { kind, lastId: last.id, lastResult: last.result, lastEndedAt: last.endTime, failure: last.failure && `${last.failure.step}: ${last.failure.object ?? last.failure.message}` }
        : { kind });
    }
    return out;
  } catch {
    // The repository's own entry already says why it could not be read.
    return [];
  } finally {
    await repo?.close();
  }
}
