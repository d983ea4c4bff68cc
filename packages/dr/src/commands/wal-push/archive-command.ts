// The archive_command line for a config: bin/fsdr-archive.sh with this spool's status directory,
// falling back to the full `fsdr wal-push` of the same config. Creates nothing (it is often run by
// an operator, not the PostgreSQL user who must own the spool).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { Repository } from '../../repository/repository.js';
import { spoolDir } from './spool.js';
import { statusDirPath } from './status-record.js';

const BIN = fileURLToPath(new URL('../../../../bin/', import.meta.url));

/** Quoted for /bin/sh (PostgreSQL runs archive_command through it). */
function sh(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export interface ArchiveCommand {
  command: string;
  statusDir: string;
  /** The line for postgresql.conf (single quotes doubled). */
  setting: string;
}

export async function archiveCommandFor(cfg: Config): Promise<ArchiveCommand> {
  if (!cfg.archive.async) {
    throw new FsdrError('FSDR_ARCHIVE_NOT_ASYNC', 'the fast archive_command needs archive.async: true (the background pusher writes what it confirms)', {
      hint: 'set archive.async: true and archive.spoolPath in fsdr.yaml, run the agent (it keeps the pusher running), then run fsdr archive-command again',
    });
  }
  // The default spool is named after the config path: the same path the fallback is given.
  const source = resolve(cfg.source);
  const repo = await Repository.open(cfg);
  let dir: string;
  try {
    dir = statusDirPath(spoolDir(cfg.archive.spoolPath, source), repo.storage.description);
  } finally {
    await repo.close();
  }
  const argv = [resolve(BIN, 'fsdr-archive.sh'), dir, '%p', process.execPath, resolve(BIN, 'fsdr.js'), '--config', source, 'wal-push'];
  const command = argv.map((a) => (a === '%p' ? a : sh(a))).join(' ');
  return { command, statusDir: dir, setting: `archive_command = '${command.replace(/'/g, "''")}'` };
}
