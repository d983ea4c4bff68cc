// `fsdr failback`: run on the node of the fenced old primary. Re-seeds it from the new primary's
// data as a fresh restore (its own repository, first brought level with the new primary's): the
// old data directory is moved aside, never deleted (what it committed after the fork is there to
// inspect). It becomes the standby; with --switchover, a planned switchover back follows.
// pg_rewind (wal_log_hints or checksums; `fsdr check` reports them) would copy less: not used yet.
import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import { selfRegion } from '../../config/regions.js';
import { FsdrError } from '../../errors.js';
import { fenceState } from '../../failover/fence.js';
import { findBinDir } from '../../postgres/binaries.js';
import { stopInstance } from '../../postgres/instance.js';
import { serverUser } from '../../postgres/os-user.js';
import { replicate, type ReplicationResult } from '../../replication/replicator.js';
import { openStorage } from '../../storage/open-storage.js';
import { runFailover, type FailoverReport } from '../failover/failover.js';
import { needRegions, standbyStart, standbyStatus, type StandbyStartResult } from '../standby/standby.js';

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
  /** Where the old data directory goes (or went). */
  aside: string;
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
  if (existsSync(join(pgdata, 'PG_VERSION'))) {
    if (existsSync(join(pgdata, 'postmaster.pid'))) {
      const v = Number((await readFile(join(pgdata, 'PG_VERSION'), 'utf8')).trim());
      await stopInstance(findBinDir(v, cfg.cluster?.binDir), pgdata, serverUser(), 'fast');
    }
    await rename(pgdata, out.aside);
  }
  // This region's repository gets what the new primary's holds (its replication does the same).
  const src = await openStorage(cfg.repositories[st.writer]!, st.writer);
  const dst = await openStorage(cfg.repositories.primary, 'primary');
  try {
    out.replicated = await replicate(src, dst, 'primary');
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
  out.standby = await standbyStart(cfg, { processes: o.processes, timeoutMs: o.timeoutMs });
  const deadline = Date.now() + o.catchUpTimeoutMs;
  while ((await standbyStatus(cfg)).repository.bytes > 0) {
    if (Date.now() > deadline) throw new FsdrError('FSDR_FAILBACK_CATCH_UP', `the new standby of ${self} did not replay its repository within ${o.catchUpTimeoutMs / 1000}s`, { hint: `see ${out.standby.logFile}` });
    await new Promise((x) => setTimeout(x, 500));
  }
  if (o.switchover) out.switchover = await runFailover(cfg, { to: self, confirm: true, planned: true, readyTimeoutMs: o.readyTimeoutMs, catchUpTimeoutMs: o.catchUpTimeoutMs });
  return out;
}
