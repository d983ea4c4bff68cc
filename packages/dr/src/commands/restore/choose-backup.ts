// The backup a restore starts from, read in full (its pieces into a sink: the restore's spool). It is chosen among the listed summaries; when
// the chosen one's manifest proves damaged (or not the one summarised), it is passed over, loudly,
// for the next one the target allows: the WAL still carries its changes. A backup asked for by
// name is never swapped for another.
import { IntegrityError } from '../../errors.js';
import type { BackupSummary } from '../../repository/manifest.js';
import type { PieceSink } from '../../repository/backup-catalog.js';
import type { BackupManifest } from '../../repository/manifest.js';
import type { Repository } from '../../repository/repository.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { log } from '../../util/log.js';
import { recoveryWindows } from './recovery-window.js';
import { selectBackup, type RecoveryTarget } from './select-backup.js';

export async function readChosenBackup<S extends PieceSink & { close(): void }>(repo: Repository, listed: BackupSummary[], wal: ArchivedWal[], target: RecoveryTarget, sink: () => S, requested?: string): Promise<{ manifest: Omit<BackupManifest, 'files'>; files: S }> {
  let backups = listed;
  for (;;) {
    const chosen = selectBackup(backups, target, recoveryWindows(backups, wal), requested);
    // A fresh sink per manifest tried: what a damaged one left in it is thrown away with it.
    const files = sink();
    try {
      return await repo.backups.readListed(chosen, files);
    } catch (err) {
      files.close();
      if (!(err instanceof IntegrityError) || requested) throw err;
      log().warn({ backup: chosen.id, err: err.message }, `backup ${chosen.id} is unreadable and was not considered: ${err.message}`);
      backups = backups.filter((b) => b !== chosen);
      if (!backups.length) throw err;
    }
  }
}
