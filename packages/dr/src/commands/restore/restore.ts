// fsdr restore: provision a new PostgreSQL instance from the repository and roll it forward to a
// target. Everything that can be refused is refused before a byte is written (non-empty pgdata,
// target outside the window, wrong key, missing binaries); a failure while writing removes what
// was written, so a broken restore never leaves a startable data directory behind.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { findBinDir } from '../../postgres/binaries.js';
import { RecoveryEndedEarlyError, startInstance, stopInstance, waitForPromotion } from '../../postgres/instance.js';
import { formatLsn } from '../../postgres/lsn.js';
import { serverUser } from '../../postgres/os-user.js';
import { Repository } from '../../repository/repository.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { Progress } from '../../util/progress.js';
import { EarlyFlush } from '../../util/early-flush.js';
import { log } from '../../util/log.js';
import { collectNow, favourMemory } from '../../util/young-gc.js';
import { prefetchFirstSegments, stopPrefetcher } from './prefetch-first.js';
import { recoverySettings, retireRecoveryConfig, writeRecoveryConfig, type FastIn } from './recovery-settings.js';
import type { RecoveryTarget } from './select-backup.js';
import { readChosenBackup } from './choose-backup.js';
import { planWal, recoveryEnd, RecoveryShortError, type TimelineChoice, type WalPlan } from './wal-plan.js';
import { checkBundlesPresent, startExtractPool, tablespaceDir, tablespaceRoot, writeDataDirectory } from './write-files.js';
import { BundleSpool } from './bundle-spool.js';

export interface RestoreOptions {
  pgdata: string;
  port: number;
  target: RecoveryTarget;
  backup?: string;
  start: boolean;
  /** keep archive_mode from the source: only for the instance that becomes the primary */
  archive: boolean;
  timeline?: TimelineChoice;
  /** --latest: accept recovering only up to a hole in the archive */
  acceptGap?: boolean;
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
  /** PostgreSQL major version of the backup (and so of the restored instance) */
  pgMajor: number;
  pgdata: string;
  port: number;
  target: RecoveryTarget;
  /** the time the repository was read as of, when --as-of was given */
  asOf?: string;
  started: boolean;
  recoveredTo?: { time: string | null; lsn: string; timeline: number; endOfRecovery?: string };
  wal: { timeline: number; lastSegment?: string; firstMissing?: string };
  logFile: string;
  seconds: { files: number; recovery: number; total: number };
}

function checkEmpty(pgdata: string): void {
  if (existsSync(pgdata) && readdirSync(pgdata).length > 0) {
    throw new FsdrError('FSDR_PGDATA_NOT_EMPTY', `${pgdata} is not empty`, { hint: 'restore into a new, empty directory (fsdr never overwrites a data directory)' });
  }
}

/** How fsdr connects to a restored instance on loopback: the cluster connection's user and password. */
export function connectionFor(cfg: Config, port: number) {
  const base = cfg.cluster?.connection ? new URL(cfg.cluster.connection) : undefined;
  return {
    host: '127.0.0.1',
    port,
    user: base?.username ? decodeURIComponent(base.username) : 'postgres',
    password: base?.password ? decodeURIComponent(base.password) : undefined,
    database: 'postgres',
  };
}

/** Where a restore keeps the chosen manifest's pieces by bundle while it writes (removed at the end). */
export function pieceSpoolFile(pgdata: string): string {
  return `${pgdata}.fsdr-pieces`;
}

/** fsdr's own log of the restored instance: beside the data directory, never inside what a backup holds. */
export function restoreLogFile(pgdata: string): string {
  return `${pgdata}.fsdr-restore.log`;
}

/**
 * With archive.async, the prefetcher's archive-in directory, emptied: what an earlier recovery
 * left there (another target, another --as-of) must not be handed to this one. Recreated by the
 * prefetcher, as the server user, on the first fetch.
 */
async function freshPrefetchDir(cfg: Config): Promise<FastIn | undefined> {
  if (!cfg.archive.async) return undefined;
  const { spoolDir } = await import('../wal-push/spool.js');
  const dir = join(spoolDir(cfg.archive.spoolPath, cfg.source), 'archive-in');
  await rm(dir, { recursive: true, force: true });
  return { dir, waitSeconds: cfg.archive.timeoutSeconds };
}

async function removeRestored(pgdata: string, manifest: { tablespaces: Array<{ oid: string }> }, created: boolean): Promise<void> {
  await rm(pgdata, { recursive: true, force: true }).catch(() => undefined);
  for (const t of manifest.tablespaces) await rm(tablespaceDir(pgdata, t.oid), { recursive: true, force: true }).catch(() => undefined);
  if (manifest.tablespaces.length) await rmdir(tablespaceRoot(pgdata)).catch(() => undefined);
  if (!created) await mkdir(pgdata, { recursive: true, mode: 0o700 }).catch(() => undefined);
}

export async function runRestore(cfg: Config, opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = Date.now();
  favourMemory();
  const pgdata = resolve(opts.pgdata);
  checkEmpty(pgdata);
  const repoName = opts.repository ?? 'primary';
  const repo = await Repository.open(cfg, repoName, { asOf: opts.asOf });
  const asOf = opts.asOf?.toISOString();
  const pool = startExtractPool({ config: cfg, repository: repoName, asOf }, opts.processes);
  let spool: BundleSpool | undefined;
  try {
    await repo.readInfo();
    const { manifests: backups, unreadable } = await repo.backups.listReadable();
    const named = unreadable.find((u) => u.id === opts.backup);
    if (named) throw named.error;
    // Nothing readable at all is damage (or tampering), not an empty repository: say what failed.
    if (!backups.length && unreadable.length) throw unreadable[unreadable.length - 1]!.error;
    // A damaged manifest is passed over (the WAL still carries its changes), never silently.
    for (const u of unreadable) log().warn({ backup: u.id, err: u.error.message }, `backup ${u.id} is unreadable and was not considered: ${u.error.message}`);
    const wal: ArchivedWal[] = [];
    for await (const w of repo.wal.list()) wal.push(w);
    // The chosen backup's file list is read now: the listing kept summaries only.
    // The chosen manifest's pieces go, bundle by bundle, to a spool beside the data directory.
    const { manifest, files } = await readChosenBackup(repo, backups, wal, opts.target, () => new BundleSpool(pieceSpoolFile(pgdata)), opts.backup);
    spool = files;
    // What reading it made (a parsed object per piece, its text) is dead: free it before the workers fill up.
    collectNow();
    const plan = planWal(manifest, opts.target, opts.timeline, wal, await repo.wal.histories(wal), !!opts.acceptGap);
    const binDir = findBinDir(manifest.pgVersion, cfg.cluster?.binDir);
    const user = serverUser();
    for (const t of manifest.tablespaces) checkEmpty(tablespaceDir(pgdata, t.oid));
    await checkBundlesPresent(repo.storage, manifest, files);
    log().debug({ backup: manifest.id, ms: Date.now() - t0 }, 'restore: backup chosen, its bundles present');

    const created = !existsSync(pgdata);
    const logFile = restoreLogFile(pgdata);
    const progress = new Progress(`restore ${manifest.id}`, manifest.totals.bytes, opts.quiet);
    // The server user must own (and so traverse) the tablespace root too, not only each tablespace.
    const dirs = [pgdata, ...(manifest.tablespaces.length ? [tablespaceRoot(pgdata)] : [])];
    let fastIn: FastIn | undefined;
    const flush = new EarlyFlush(dirs);
    let prefetching: Promise<number | undefined> | undefined;
    try {
      await mkdir(pgdata, { recursive: true, mode: 0o700 });
      // PostgreSQL refuses a data directory other than 0700 (or 0750 with group access), whoever made it.
      const rootMode = manifest.directories.find((d) => d.path === '.')?.mode;
      await chmod(pgdata, rootMode !== undefined && (rootMode & 0o050) === 0o050 ? 0o750 : 0o700);
      await writeDataDirectory(pool, manifest, files, pgdata, (n) => {
        progress.add(n);
        flush.add(n);
      });
      progress.finish();
      log().debug({ backup: manifest.id, ms: Date.now() - t0 }, 'restore: files written');
      fastIn = await freshPrefetchDir(cfg);
      const settings = recoverySettings(opts.target, { configPath: cfg.source, repository: repoName, asOf, fastIn, port: opts.port, socketDir: pgdata, archive: opts.archive, timeline: plan.setting, extra: opts.set });
      await writeRecoveryConfig(pgdata, settings, `fsdr restore of backup ${manifest.id} at ${new Date().toISOString()}`);
      await writeFile(logFile, '', { mode: 0o600 });
      if (user) {
        const r = spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, ...dirs]);
        if (r.status !== 0) throw new FsdrError('FSDR_CHOWN', `cannot give ${pgdata} to user ${user.name}: ${r.stderr}`);
        await chown(logFile, user.uid, user.gid);
      }
      // archive.async: the prefetcher starts (a Node start, the repository opened) while the
      // files are flushed, and has the first segments decoded when PostgreSQL asks for them.
      if (opts.start && fastIn && !asOf) prefetching = prefetchFirstSegments(cfg, fastIn, manifest, repoName, pgdata, user);
      await flush.finish();
      log().debug({ backup: manifest.id, ms: Date.now() - t0 }, 'restore: files flushed');
    } catch (err) {
      // Nothing half-written stays behind.
      if (prefetching) stopPrefetcher(await prefetching);
      await removeRestored(pgdata, manifest, created);
      throw err;
    }
    const tFiles = Date.now();
    const result: RestoreResult = {
      backup: manifest.id, pgMajor: manifest.pgVersion, pgdata, port: opts.port, target: opts.target, asOf, started: false, logFile,
      wal: { timeline: plan.timeline, lastSegment: plan.coverage.lastSegment, firstMissing: plan.coverage.firstMissing },
      seconds: { files: (tFiles - t0) / 1000, recovery: 0, total: 0 },
    };
    if (opts.start) {
      const prefetcher = prefetching && (await prefetching);
      try {
        await startInstance(binDir, pgdata, logFile, user);
        const state = await waitForPromotion(connectionFor(cfg, opts.port), pgdata, logFile, opts.timeoutMs);
        const end = await checkReached(pgdata, state.timeline, plan, manifest.walSegmentSize, logFile);
        checkXidCommitted(opts.target, logFile);
        await retireRecoveryConfig(pgdata);
        result.started = true;
        result.recoveredTo = { time: state.replayedTo, lsn: state.lsn, timeline: state.timeline, endOfRecovery: end === undefined ? undefined : formatLsn(end) };
      } catch (err) {
        // An instance that did not recover what it had to is not a restore: stop it and remove it.
        await stopInstance(binDir, pgdata, user, 'immediate').catch(() => undefined);
        stopPrefetcher(prefetcher);
        await removeRestored(pgdata, manifest, created);
        throw explainEarlyEnd(err, plan, opts.target);
      }
    }
    result.seconds.recovery = (Date.now() - tFiles) / 1000;
    result.seconds.total = (Date.now() - t0) / 1000;
    return result;
  } catch (err) {
    throw await repo.explain(err);
  } finally {
    await pool.close();
    spool?.close();
    await repo.close();
  }
}

/** Recovery to the end of the archive must have replayed into its last segment; say so when it did not. */
async function checkReached(pgdata: string, newTimeline: number, plan: WalPlan, segSize: number, logFile: string): Promise<bigint | undefined> {
  const end = await recoveryEnd(pgdata, newTimeline);
  if (plan.mustReach === undefined) return end;
  if (end === undefined || end < plan.mustReach) {
    throw new RecoveryShortError(end ?? 0n, plan, segSize, lastLogComplaint(logFile));
  }
  return end;
}

function lastLogComplaint(logFile: string): string {
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
  const lines = log.split('\n').filter((l) => /^fsdr: |invalid record|unexpected pageaddr|incorrect resource manager|invalid magic|contrecord/.test(l.replace(/^.*?(LOG|WARNING|FATAL):\s*/, '')));
  return (lines.pop() ?? '').replace(/^.*?(LOG|WARNING|FATAL):\s*/, '');
}

/**
 * recovery_target_xid stops at the transaction's end, commit or abort alike: an aborted target
 * "succeeds" without any of its changes. That is never what was asked for: say so.
 */
function checkXidCommitted(target: RecoveryTarget, logFile: string): void {
  if (target.kind !== 'xid') return;
  let log = '';
  try {
    log = readFileSync(logFile, 'utf8');
  } catch {
    return;
  }
  if (new RegExp(`recovery stopping after abort of transaction ${target.value}\\b`).test(log)) {
    throw new FsdrError('FSDR_TARGET_XID_ABORTED', `transaction ${target.value} aborted: recovery stopped after its abort, so none of its changes are in the restored data`, {
      hint: 'choose the transaction that committed the change (pg_waldump shows COMMIT records), or a --target-time / --target-lsn',
    });
  }
}

/** Recovery ran out of WAL before the target: say which target, and what to do about it. */
function explainEarlyEnd(err: unknown, plan: WalPlan, target: RecoveryTarget): unknown {
  if (!(err instanceof RecoveryEndedEarlyError)) return err;
  const c = plan.coverage;
  if (c.firstMissing) {
    return new FsdrError('FSDR_WAL_GAP', `recovery stopped at a hole in the archive before reaching the target: WAL segment ${c.firstMissing} is missing (timeline ${c.timeline})`, {
      hint: 'copy the segment back from a replica or the source, or choose a target before the hole (fsdr info shows the gaps)',
    });
  }
  const end = `the archive of timeline ${c.timeline} (last segment ${c.lastSegment ?? 'none'})`;
  const detail = err.detail ? `: ${err.detail}` : '';
  if (target.kind === 'name') {
    return new FsdrError('FSDR_TARGET_NAME_NOT_FOUND', `restore point '${target.value}' is not in ${end}${detail}`, {
      hint: "check the name (pg_create_restore_point) and that it was created on this timeline after the backup; fsdr restore --latest recovers everything instead",
    });
  }
  if (target.kind === 'xid') {
    return new FsdrError('FSDR_TARGET_XID_NOT_FOUND', `transaction ${target.value} does not end anywhere in ${end}${detail}`, {
      hint: 'the transaction may still be running, may belong to another cluster or timeline, or its commit is not archived yet (pg_switch_wal on the source)',
    });
  }
  return new FsdrError('FSDR_TARGET_NOT_REACHED', `${end} ends before the recovery target${detail}`, {
    hint: 'the WAL up to the target is not archived yet (pg_switch_wal on the source, then retry), or choose an earlier target; fsdr info shows what is archived',
  });
}
