// fsdr restore: provision a new PostgreSQL instance from the repository and roll it forward to a
// target. Everything that can be refused is refused before a byte is written (non-empty pgdata,
// target outside the window, wrong key, missing binaries); a failure while writing removes what
// was written, so a broken restore never leaves a startable data directory behind.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { findBinDir } from '../../postgres/binaries.js';
import { startInstance, waitForPromotion } from '../../postgres/instance.js';
import { serverUser } from '../../postgres/os-user.js';
import { Repository } from '../../repository/repository.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { Progress } from '../../util/progress.js';
import { recoveryWindows } from './recovery-window.js';
import { recoverySettings, writeRecoveryConfig } from './recovery-settings.js';
import { selectBackup, type RecoveryTarget } from './select-backup.js';
import { tablespaceDir, writeDataDirectory } from './write-files.js';

export interface RestoreOptions {
  pgdata: string;
  port: number;
  target: RecoveryTarget;
  backup?: string;
  start: boolean;
  archiveOff: boolean;
  set: Record<string, string>;
  processes: number;
  timeoutMs: number;
  repository?: string;
  quiet?: boolean;
  /** Read a versioned repository as it was at this time (after ransomware, say). */
  asOf?: Date;
}

export interface RestoreResult {
  backup: string;
  pgdata: string;
  port: number;
  target: RecoveryTarget;
  /** the time the repository was read as of, when --as-of was given */
  asOf?: string;
  started: boolean;
  recoveredTo?: { time: string | null; lsn: string; timeline: number };
  seconds: { files: number; recovery: number; total: number };
}

function checkEmpty(pgdata: string): void {
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
    throw new FsdrError('FSDR_PGDATA_NOT_EMPTY', `${pgdata} is not empty`, { hint: 'restore into a new, empty directory (fsdr never overwrites a data directory)' });
  }
}

function connectionFor(cfg: Config, port: number) {
  const base = cfg.cluster?.connection ? new URL(cfg.cluster.connection) : undefined;
  return {
    host: '127.0.0.1',
    port,
    user: base?.username ? decodeURIComponent(base.username) : 'postgres',
    password: base?.password ? decodeURIComponent(base.password) : undefined,
    database: 'postgres',
  };
}

export async function runRestore(cfg: Config, opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = Date.now();
  const pgdata = resolve(opts.pgdata);
  checkEmpty(pgdata);
  const repo = await Repository.open(cfg, opts.repository ?? 'primary', { asOf: opts.asOf });
  const source = { configPath: cfg.source, repository: opts.repository ?? 'primary', asOf: opts.asOf?.toISOString() };
  try {
    await repo.readInfo();
    const backups = await repo.backups.list();
    const wal: ArchivedWal[] = [];
    for await (const w of repo.wal.list()) wal.push(w);
    const windows = recoveryWindows(backups, wal);
    const manifest = selectBackup(backups, opts.target, windows, opts.backup);
    const binDir = findBinDir(manifest.pgVersion, cfg.cluster?.binDir);
    const user = serverUser();
    for (const t of manifest.tablespaces) checkEmpty(tablespaceDir(pgdata, t.oid));

    const created = !existsSync(pgdata);
    const progress = new Progress(`restore ${manifest.id}`, manifest.totals.bytes, opts.quiet);
    try {
      await mkdir(pgdata, { recursive: true, mode: 0o700 });
      await writeDataDirectory(source, manifest, pgdata, opts.processes, (n) => progress.add(n));
      progress.finish();
      await mkdir(join(pgdata, 'log'), { recursive: true, mode: 0o700 });
      const settings = recoverySettings(opts.target, { ...source, port: opts.port, socketDir: pgdata, archiveOff: opts.archiveOff, extra: opts.set });
      await writeRecoveryConfig(pgdata, settings, `fsdr restore of backup ${manifest.id} at ${new Date().toISOString()}`);
      if (user) {
        const dirs = [pgdata, ...manifest.tablespaces.map((t) => tablespaceDir(pgdata, t.oid))];
        const r = spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, ...dirs]);
        if (r.status !== 0) throw new FsdrError('FSDR_CHOWN', `cannot give ${pgdata} to user ${user.name}: ${r.stderr}`);
      }
    } catch (err) {
      // Nothing half-written stays behind.
      await rm(pgdata, { recursive: true, force: true }).catch(() => undefined);
      for (const t of manifest.tablespaces) await rm(tablespaceDir(pgdata, t.oid), { recursive: true, force: true }).catch(() => undefined);
      if (!created) await mkdir(pgdata, { recursive: true, mode: 0o700 }).catch(() => undefined);
      throw err;
    }
    const tFiles = Date.now();
    const result: RestoreResult = {
      backup: manifest.id, pgdata, port: opts.port, target: opts.target, asOf: source.asOf, started: false,
      seconds: { files: (tFiles - t0) / 1000, recovery: 0, total: 0 },
    };
    if (opts.start) {
      const logFile = join(pgdata, 'log', 'fsdr-restore.log');
      await startInstance(binDir, pgdata, logFile, user);
      const state = await waitForPromotion(connectionFor(cfg, opts.port), pgdata, logFile, opts.timeoutMs);
      result.started = true;
      result.recoveredTo = { time: state.replayedTo, lsn: state.lsn, timeline: state.timeline };
    }
    result.seconds.recovery = (Date.now() - tFiles) / 1000;
    result.seconds.total = (Date.now() - t0) / 1000;
    return result;
  } catch (err) {
    throw await repo.explain(err);
  } finally {
    await repo.close();
  }
}
