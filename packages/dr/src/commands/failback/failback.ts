// `fsdr failback`: run on the node of the fenced old primary. Brings it onto the new primary's
// timeline as the standby: with pg_rewind when that loses nothing (checksums or wal_log_hints, a
// clean shutdown, and no transaction committed here after the fork: failover/rewind.ts), else as
// a fresh restore from its own repository (first brought level with the new primary's), the old
// data directory moved aside, never deleted (what it committed after the fork is there to
// inspect). With --switchover, a planned switchover back follows.
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import { selfRegion } from '../../config/regions.js';
import { describeError, FsdrError } from '../../errors.js';
import { fenceState } from '../../failover/fence.js';
import { checkRewind, rewind, type RewindCheck } from '../../failover/rewind.js';
import { makeStandby } from '../../failover/standby-files.js';
import { findBinDir } from '../../postgres/binaries.js';
import { connect } from '../../postgres/cluster.js';
import { lastFatal, postmasterAlive, stopInstance } from '../../postgres/instance.js';
import { serverUser } from '../../postgres/os-user.js';
import { switchAndArchive } from '../../postgres/switch-archive.js';
import { replicate, type ReplicationResult } from '../../replication/replicator.js';
import { openStorage } from '../../storage/open-storage.js';
import { runFailover, type FailoverReport } from '../failover/failover.js';
import { commentOut, confValue, restoreCommand } from '../restore/recovery-settings.js';
import { restoreLogFile } from '../restore/restore.js';
import { needRegions, ownArchiveCommand, standbyStart, standbyStatus, startStandbyInstance, type StandbyStartResult } from '../standby/standby.js';

export interface FailbackOptions {
  confirm: boolean;
  switchover: boolean;
  processes: number;
  timeoutMs: number;
  readyTimeoutMs: number;
  catchUpTimeoutMs: number;
}

export interface FailbackResult {
  region: string;
  writer: string;
  confirmed: boolean;
  /** Where the old data directory goes (or went); unset when it was rewound in place. */
  aside?: string;
  /** how the old directory was brought onto the new timeline, and why */
  method?: 'rewind' | 'restore';
  rewind?: RewindCheck & { seconds?: number };
  replicated?: ReplicationResult;
  standby?: StandbyStartResult;
  switchover?: FailoverReport;
}

export async function runFailback(cfg: Config, o: FailbackOptions): Promise<FailbackResult> {
  const r = needRegions(cfg);
  const self = selfRegion(r);
  const st = (await fenceState(cfg))!;
  if (st.writer === self) throw new FsdrError('FSDR_NOT_FENCED', `region ${self} is the writer (fence ${st.top ? `epoch ${st.top.epoch}` : 'none'}): nothing to fail back`, { hint: 'run fsdr failback on the node of the region that lost a failover', exitCode: 2 });
  const pgdata = cfg.cluster!.pgdata;
  const out: FailbackResult = { region: self, writer: st.writer, confirmed: o.confirm, aside: `${pgdata}.fenced-${new Date().toISOString().replace(/[-:.]/g, '')}` };
  if (!o.confirm) return out;
  const user = serverUser();
  const source = r.members[st.writer]!.cluster.connection;
  let binDir: string | undefined;
  if (existsSync(join(pgdata, 'PG_VERSION'))) {
    binDir = findBinDir(Number((await readFile(join(pgdata, 'PG_VERSION'), 'utf8')).trim()), cfg.cluster?.binDir);
    if (existsSync(join(pgdata, 'postmaster.pid'))) await stopInstance(binDir, pgdata, user, 'fast');
    out.rewind = await checkRewind(binDir, pgdata, source, restoreCommand(cfg.source, 'primary'), user);
    if (!out.rewind.usable) await rename(pgdata, out.aside!);
    else delete out.aside;
  }
  if (out.rewind?.usable) {
    try {
      out.rewind.seconds = (await rewind(binDir!, pgdata, source, restoreCommand(cfg.source, 'primary'), user)).seconds;
    } catch (err) {
      // A rewind that failed part-way leaves a directory nobody should start: kept aside, named so.
      out.aside = `${pgdata}.rewind-failed-${new Date().toISOString().replace(/[-:.]/g, '')}`;
      await rename(pgdata, out.aside);
      out.rewind = { ...out.rewind, usable: false, why: `${describeError(err)}: fresh restore` };
    }
  }
  out.method = out.rewind?.usable ? 'rewind' : 'restore';
  if (out.method === 'rewind') {
    // The rewound directory is consistent only once it replayed to the point pg_rewind copied at
    // (in the new primary's current segment): that segment is closed and archived, then copied here.
    const c = await connect(source, 'fsdr failback');
    const sw = await switchAndArchive(c, o.catchUpTimeoutMs).finally(() => c.end().catch(() => undefined));
    if (!sw.archived) throw new FsdrError('FSDR_FAILBACK_ARCHIVE', `the new primary did not archive ${sw.segment} within ${o.catchUpTimeoutMs / 1000}s; the rewound standby cannot become consistent without it`, { hint: `check archiving on ${st.writer} (fsdr check there), then run fsdr failback --confirm again` });
  }
  // This region's repository gets what the new primary's holds (its replication does the same).
  const src = await openStorage(cfg.repositories[st.writer]!, st.writer);
  const dst = await openStorage(cfg.repositories.primary, 'primary');
  try {
    out.replicated = await replicate(src, dst, 'primary');
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
  if (out.method === 'rewind') {
    await configureRewoundStandby(cfg, pgdata);
    const t0 = Date.now();
    await startStandbyInstance(cfg, binDir!, pgdata, restoreLogFile(pgdata), o.timeoutMs);
    out.standby = { region: self, backup: '(pg_rewind)', pgdata, port: Number(new URL(cfg.cluster!.connection).port || 5432), logFile: restoreLogFile(pgdata), seconds: (Date.now() - t0) / 1000 };
  } else {
    out.standby = await standbyStart(cfg, { processes: o.processes, timeoutMs: o.timeoutMs });
  }
  const deadline = Date.now() + o.catchUpTimeoutMs;
  for (;;) {
    // A refused connection is retried while the postmaster lives (it restarts its children after
    // one of them crashed); a postmaster that is gone ends the wait with the server's own words.
    const st = await standbyStatus(cfg).catch((err: unknown) => {
      if (!postmasterAlive(pgdata)) throw new FsdrError('FSDR_STANDBY_EXITED', `the new standby of ${self} exited while catching up: ${lastFatal(existsSync(out.standby!.logFile) ? readFileSync(out.standby!.logFile, 'utf8') : '')}`, { hint: `see ${out.standby!.logFile}` });
      return { error: describeError(err) };
    });
    if ('repository' in st && st.repository.bytes === 0) break;
    if (Date.now() > deadline) throw new FsdrError('FSDR_FAILBACK_CATCH_UP', `the new standby of ${self} did not replay its repository within ${o.catchUpTimeoutMs / 1000}s${'error' in st ? ` (last: ${st.error})` : ''}`, { hint: `see ${out.standby.logFile}` });
    await new Promise((x) => setTimeout(x, 500));
  }
  if (o.switchover) out.switchover = await runFailover(cfg, { to: self, confirm: true, planned: true, readyTimeoutMs: o.readyTimeoutMs, catchUpTimeoutMs: o.catchUpTimeoutMs });
  return out;
}

/**
 * The rewound directory keeps this node's own configuration; it becomes the standby of its own
 * repository. The fence's read-only default is retired: after the switchover back it writes.
 */
async function configureRewoundStandby(cfg: Config, pgdata: string): Promise<void> {
  const file = join(pgdata, 'postgresql.auto.conf');
  const text = await readFile(file, 'utf8').catch(() => '');
  const kept = commentOut(text, (k) => k === 'default_transaction_read_only' || /^(restore_command|recovery_target\w*|primary_conninfo)$/.test(k), 'fsdr failback: rewound');
  const settings = { restore_command: restoreCommand(cfg.source, 'primary'), recovery_target_timeline: 'latest', archive_command: ownArchiveCommand(cfg), hot_standby: 'on' };
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`);
  await writeFile(file, `${kept.replace(/\n*$/, '\n')}\n# fsdr failback: the standby of this region's repository after pg_rewind\n${lines.join('\n')}\n`);
  await makeStandby(pgdata);
}
