// The backup a restore starts from, read in full (its pieces packed). It is chosen among the listed summaries; when
// the chosen one's manifest proves damaged (or not the one summarised), it is passed over, loudly,
// for the next one the target allows: the WAL still carries its changes. A backup asked for by
// name is never swapped for another.
import { IntegrityError } from '../../errors.js';
import type { BackupSummary } from '../../repository/manifest.js';
import type { PackedManifest } from '../../repository/backup-catalog.js';
import type { Repository } from '../../repository/repository.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { log } from '../../util/log.js';
import { recoveryWindows } from './recovery-window.js';
import { selectBackup, type RecoveryTarget } from './select-backup.js';

export async function readChosenBackup(repo: Repository, listed: BackupSummary[], wal: ArchivedWal[], target: RecoveryTarget, requested?: string): Promise<PackedManifest> {
  let backups = listed;
  for (;;) {
    const chosen = selectBackup(backups, target, recoveryWindows(backups, wal), requested);
    try {
      return await repo.backups.readListed(chosen);
    } catch (err) {
      if (!(err instanceof IntegrityError) || requested) throw err;
      log().warn({ backup: chosen.id, err: err.message }, `backup ${chosen.id} is unreadable and was not considered: ${err.message}`);
      backups = backups.filter((b) => b !== chosen);
      if (!backups.length) throw err;
    }
  }
}
