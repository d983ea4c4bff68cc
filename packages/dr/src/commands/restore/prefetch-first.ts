// archive.async: restore starts the prefetcher itself, right before the instance, from the
// backup's first segment. Left to the first restore_command call, the first segments each cost a
// full `fsdr wal-fetch` (a Node start, the repository opened) while the prefetcher was still
// starting: measured three such misses per recovery, most of the gap to a local-directory replay.
import type { Config } from '../../config/load.js';
import type { OsUser } from '../../postgres/os-user.js';
import { parseWalName, segmentFromNumber, segmentNumber } from '../../postgres/wal-name.js';
import type { BackupSummary } from '../../repository/manifest.js';
import { launchPrefetcher, prefetcherServing } from '../wal-fetch/launch-prefetcher.js';
import { spoolDir } from '../wal-push/spool.js';
import type { FastIn } from './recovery-settings.js';

/** How long restore waits for the prefetcher to take the spool before starting the instance anyway. */
const SERVING_WAIT_MS = 5_000;

/**
 * Launches the prefetcher for the recovery of `m` into `pgdata` and waits until it answers from the
 * spool (so a restore_command call never races its start). Returns its pid, or undefined when it
 * did not come up: recovery then works as without it (wal-fetch starts one on its first miss).
 */
export async function prefetchFirstSegments(cfg: Config, fastIn: FastIn, m: BackupSummary, repoName: string, pgdata: string, user: OsUser | undefined): Promise<number | undefined> {
  const start = parseWalName(m.startWal);
  if (!start || start.kind !== 'segment') return undefined;
  // The prefetcher fetches what follows `from`: the segment before the backup's first.
  const n = segmentNumber(start, m.walSegmentSize);
  if (n === 0) return undefined;
  const from = segmentFromNumber(start.timeline, n - 1, m.walSegmentSize);
  const pid = launchPrefetcher({ cfg, spool: spoolDir(cfg.archive.spoolPath, cfg.source), from, repoName, pgdata, awaitStart: true, user });
  if (pid === undefined) return undefined;
  return (await prefetcherServing(fastIn.dir, pid, SERVING_WAIT_MS)) ? pid : undefined;
}

/** The instance did not recover: the prefetcher has nothing left to do. */
export function stopPrefetcher(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch { /* already gone */ }
}
