// fsdr drill verify: the plan's weekly automated backup verification, as one run with evidence.
// Steps: verify (every object authenticated, holes, leftovers) → restore the latest backup and
// all its WAL into a throwaway instance on a free loopback port (archive_mode off) → pg_amcheck →
// row counts → the recovered point against the archive's end → stop and remove the copy. Every
// step is timed and recorded; the evidence goes into the repository whether the drill passed or
// not (a failed drill is exactly what must be on record).
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/load.js';
import { describeError, FsdrError } from '../../errors.js';
import { runAmcheck, judgeAmcheck } from '../../drills/amcheck.js';
import { judgeObjectives } from '../../drills/objectives.js';
import { judgeRecoveredPoint } from '../../drills/recovered-point.js';
import { countRows, judgeRowCounts } from '../../drills/row-counts.js';
import { DrillSteps, round } from '../../drills/steps.js';
import { findBinDir } from '../../postgres/binaries.js';
import { newClient } from '../../postgres/cluster.js';
import { stopInstance } from '../../postgres/instance.js';
import { serverUser } from '../../postgres/os-user.js';
import { newDrillId, type DrillEvidence } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';
import type { ArchivedWal } from '../../repository/wal-archive.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import { fsdrVersion } from '../../util/version.js';
import { connectionFor, runRestore, type RestoreResult } from '../restore/restore.js';
import { runVerify } from '../verify/verify.js';
import { databaseOf } from '../recover/recovered-stack.js';
import { goldenOnCopy } from './drill-golden.js';
import { runWriterPhase, type WriterPhase } from './writer-phase.js';

export interface DrillVerifyOptions {
  repository?: string;
  /** leave the restored copy running (and its directory) for inspection */
  keep?: boolean;
  workDir?: string;
}

export interface DrillVerifyResult {
  evidence: DrillEvidence;
  /** with --keep: where the copy is */
  kept?: { pgdata: string; port: number };
}

export async function runDrillVerify(cfg: Config, opts: DrillVerifyOptions = {}): Promise<DrillVerifyResult> {
  const repoName = opts.repository ?? 'primary';
  const repo = await Repository.open(cfg, repoName);
  try {
    const start = new Date();
    const id = newDrillId('verify', start);
    const steps = new DrillSteps();
    const checks: Record<string, unknown> = {};
    const evidence: DrillEvidence = {
      format: 1, kind: 'verify', id, startTime: start.toISOString(), endTime: '', host: hostname(), repository: repoName,
      fsdrVersion: fsdrVersion(), steps: steps.steps, checks, result: 'failed',
    };
    let kept: DrillVerifyResult['kept'];
    try {
      kept = await drillSteps(cfg, repo, steps, checks, evidence, opts);
    } catch (err) {
      // Only the orchestration itself can land here (every step catches its own): still on record.
      steps.failure ??= { step: 'drill', message: describeError(err) };
    }
    evidence.endTime = new Date().toISOString();
    evidence.result = steps.failure ? 'failed' : 'ok';
    if (steps.failure) evidence.failure = steps.failure;
    try {
      await repo.drills.write(evidence);
    } catch (err) {
      throw new FsdrError('FSDR_DRILL_EVIDENCE', `drill ${id} ${evidence.result === 'ok' ? 'passed' : `failed at step ${steps.failure!.step}`}, but its evidence could not be written: ${describeError(err)}`, {
        hint: 'a drill without evidence did not happen as far as the record goes: fix the repository and run it again',
      });
    }
    return { evidence, kept };
  } finally {
    await repo.close();
  }
}

async function drillSteps(cfg: Config, repo: Repository, steps: DrillSteps, checks: Record<string, unknown>, evidence: DrillEvidence, opts: DrillVerifyOptions): Promise<DrillVerifyResult['kept']> {
  await steps.run('verify', async () => {
    const r = await runVerify(cfg, { repository: repo.name });
    const detail = {
      backups: r.backups.length, dumps: r.dumps.length, objectsChecked: r.objectsChecked, bytesChecked: r.bytesChecked, walChecked: r.walChecked,
      faults: r.faults, leftovers: r.leftovers.map((l) => ({ kind: l.kind, name: l.name, objects: l.objects.length, bytes: l.bytes })),
      tampering: r.tampering?.summary,
    };
    checks.verify = detail;
    // Leftovers are debris of killed runs (never restorable, expire removes them): recorded, not failed.
    const f = r.faults[0];
    if (f) return { ok: false, detail, failure: { object: f.object, message: `${r.faults.length} fault(s); first: ${f.object}: ${f.problem}` } };
    if (r.tampering) return { ok: false, detail, failure: { message: `${r.tampering.summary} (${r.tampering.hint})` } };
    return { ok: true, detail };
  });

  // The writer commits to the source until the simulated disaster, right before the restore.
  const writer = await runWriterPhase(cfg);
  try {
    return await restoreAndCheck(cfg, repo, steps, checks, evidence, opts, writer);
  } finally {
    const dropError = await writer.drop();
    if (dropError) checks.writerCleanup = dropError;
    evidence.objectives = judgeObjectives('database_corruption', cfg.objectives.databaseCorruption,
      { rtoSeconds: evidence.rtoSeconds, rpoSeconds: evidence.rpoSeconds, rpoAtLeastSeconds: (checks.rpo as { atLeastSeconds?: number } | undefined)?.atLeastSeconds, rpoExposureSeconds: evidence.rpoExposureSeconds }, {
        rto: 'not measured: the restored copy did not pass pg_amcheck',
        rpo: writer.unavailable ?? 'not measured: the recovered point could not be compared with the writer\'s commits or the archive',
      });
  }
}

async function restoreAndCheck(cfg: Config, repo: Repository, steps: DrillSteps, checks: Record<string, unknown>, evidence: DrillEvidence, opts: DrillVerifyOptions, writer: WriterPhase): Promise<DrillVerifyResult['kept']> {
  const user = serverUser();
  let work: string | undefined;
  let restored: RestoreResult | undefined;
  const tRestore = performance.now();
  await steps.run('restore', async () => {
    work = await makeWorkDir(resolve(opts.workDir ?? cfg.drill.workDir ?? tmpdir()));
    // The server user must reach the data directory inside.
    if (user) await chown(work, user.uid, user.gid);
    const pgdata = join(work, 'pgdata');
    const port = await freeLoopbackPort();
    restored = await runRestore(cfg, {
      pgdata, port, target: { kind: 'latest' }, start: true, archive: false,
      // Isolated: loopback only, whatever the source listened on.
      set: { listen_addresses: '127.0.0.1' },
      processes: cfg.backup.processes, timeoutMs: cfg.drill.timeoutSeconds * 1000, repository: repo.name, quiet: true,
    });
    const detail = { backup: restored.backup, port, pgdata, recoveredTo: restored.recoveredTo, wal: restored.wal, seconds: restored.seconds };
    checks.restore = detail;
    return { ok: true, detail };
  });
  const restoredAt = new Date();
  if (!restored) {
    for (const s of ['rpo', 'amcheck', 'row-counts', 'recovered-point', 'golden']) steps.skip(s, 'the restore failed');
    // --keep keeps the restore's log for a look at why.
    if (work && !opts.keep) await rm(work, { recursive: true, force: true }).catch(() => undefined);
    return undefined;
  }
  const r = restored;
  const conn = connectionFor(cfg, r.port);
  const binDir = findBinDir(r.pgMajor, cfg.cluster?.binDir);
  const fsConn = { ...conn, database: databaseOf(cfg) };
  try {
    if (!writer.unavailable) {
      await steps.run('rpo', async () => {
        const out = await writer.measure(fsConn);
        checks.rpo = out.detail;
        if (out.rpoSeconds !== undefined) evidence.rpoSeconds = out.rpoSeconds;
        return out;
      });
    } else checks.rpo = { skipped: writer.unavailable };
    evidence.postgresVersion = await serverVersion(conn).catch(() => undefined);
    if (await steps.run('amcheck', async () => judgeAmcheck(await runAmcheck(binDir, conn, cfg.drill.timeoutSeconds * 1000)))) {
      evidence.rtoSeconds = round((performance.now() - tRestore) / 1000);
    }
    await steps.run('row-counts', async () => {
      const out = judgeRowCounts(await countRows(conn, cfg.drill.countTimeoutSeconds));
      checks.rowCounts = out.detail;
      return out;
    });
    await steps.run('recovered-point', async () => {
      const archive: ArchivedWal[] = [];
      for await (const w of repo.wal.list()) archive.push(w);
      const info = await repo.readInfo();
      const out = judgeRecoveredPoint(r.recoveredTo!, r.wal, archive, info.walSegmentSize, restoredAt);
      evidence.rpoExposureSeconds = out.rpoExposureSeconds;
      checks.recoveredPoint = out.detail;
      return out;
    });
    await steps.run('golden', async () => {
      const at = r.recoveredTo?.time ? new Date(r.recoveredTo.time) : restoredAt;
      const out = await goldenOnCopy(cfg, repo, fsConn, work!, at, cfg.drill.readyTimeoutSeconds * 1000);
      checks.golden = out.detail;
      return out;
    });
  } finally {
    await steps.run('cleanup', async () => {
      if (opts.keep) return { ok: true, detail: { kept: { pgdata: r.pgdata, port: r.port, logFile: r.logFile } } };
      await stopInstance(binDir, r.pgdata, user, 'fast').catch(() => stopInstance(binDir, r.pgdata, user, 'immediate'));
      await rm(work!, { recursive: true, force: true });
      return { ok: true, detail: { removed: work } };
    });
  }
  return opts.keep ? { pgdata: r.pgdata, port: r.port } : undefined;
}

async function serverVersion(conn: ReturnType<typeof connectionFor>): Promise<string> {
  const c = newClient(conn, 'fsdr drill');
  await c.connect();
  try {
    return (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function makeWorkDir(parent: string): Promise<string> {
  try {
    return await mkdtemp(join(parent, 'fsdr-drill-'));
  } catch (err) {
    throw new FsdrError('FSDR_DRILL_WORKDIR', `cannot make the drill's temporary directory in ${parent}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`, {
      hint: 'create it (room for the whole database, traversable by the server user) or set drill.workDir / --work-dir',
    });
  }
}
