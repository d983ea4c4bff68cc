// fsdr drill restore: the plan's quarterly restore drill. It is recover in isolation (the same
// steps, through runRecover): restore into a temporary data directory under drill.workDir (or the
// system temp directory) on a free loopback port with archiving off, start the server on a free
// port, /health and /ready, golden evaluations, the integration checks, never a traffic switch;
// then everything it started is stopped and removed unless --keep. Evidence of kind 'restore'
// with each step's seconds, the measured RTO and the objectives of the database-restore scenario.
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/load.js';
import { describeError, FsdrError } from '../../errors.js';
import { serverUser } from '../../postgres/os-user.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import type { DrillStep } from '../../repository/drill-catalog.js';
import type { RecoveryTarget } from '../restore/select-backup.js';
import { runRecover, type RecoverReport } from '../recover/recover.js';
import { runWriterPhase } from './writer-phase.js';

export interface DrillRestoreOptions {
  repository?: string;
  target?: RecoveryTarget;
  keep?: boolean;
  workDir?: string;
  readyTimeoutMs?: number;
  onStep?: (s: DrillStep) => void;
}

export async function runDrillRestore(cfg: Config, opts: DrillRestoreOptions = {}): Promise<RecoverReport> {
  const parent = resolve(opts.workDir ?? cfg.drill.workDir ?? tmpdir());
  let work: string;
  try {
    work = await mkdtemp(join(parent, 'fsdr-drill-restore-'));
  } catch (err) {
    throw new FsdrError('FSDR_DRILL_WORKDIR', `cannot make the drill's temporary directory in ${parent}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`, {
      hint: 'create it (room for the whole database, traversable by the server user) or set drill.workDir / --work-dir',
    });
  }
  const user = serverUser();
  try {
    if (user) await chown(work, user.uid, user.gid);
    // The writer commits to the source until the simulated disaster; the restore starts right after.
    const writer = await runWriterPhase(cfg);
    return await runRecover(cfg, {
      // Free ports for both, whatever production's stack.start.env.PORT says: nothing shared.
      pgdata: join(work, 'pgdata'), port: await freeLoopbackPort(), serverPort: await freeLoopbackPort(), target: opts.target ?? { kind: 'latest' }, repository: opts.repository,
      switchTraffic: false, drill: true, keep: opts.keep,
      timeoutMs: cfg.drill.timeoutSeconds * 1000, readyTimeoutMs: opts.readyTimeoutMs ?? 120_000, onStep: opts.onStep,
      rpo: writer,
    });
  } finally {
    // The instance and server are stopped by the drill's cleanup step; what is left is the directory.
    if (!opts.keep) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}
