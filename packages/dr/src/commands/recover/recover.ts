// fsdr recover: the plan's "database restore" and "full stack recovery" as one run. Steps, each
// timed: restore to the target on a new instance → start the server on it (stack.start) → wait
// for health and readiness → golden evaluations against the newest capture at or before the
// target (audited changes after the capture are reported, anything else fails) → the built-in
// integration checks → only then the DNS switch. A failed check stops before traffic moves and
// leaves the stack for inspection; a server that never becomes ready is cleaned up unless --keep.
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { MISSING_FLAGS, type GoldenRecord } from '@featuresignals/server';
import type pg from 'pg';
import type { Config } from '../../config/load.js';
import { resolveSecret } from '../../config/secret-ref.js';
import { ConfigError, describeError, FsdrError } from '../../errors.js';
import { providerName } from '../../dns/open-dns-provider.js';
import type { DnsChange } from '../../dns/provider.js';
import { judgeObjectives } from '../../drills/objectives.js';
import { DrillSteps, round, type StepOutcome } from '../../drills/steps.js';
import { findBinDir } from '../../postgres/binaries.js';
import { stopInstance } from '../../postgres/instance.js';
import { HOLD_ARCHIVING } from '../../postgres/archive-hold.js';
import { serverUser } from '../../postgres/os-user.js';
import { newDrillId, type DrillEvidence, type DrillStep } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';
import type { ConnectionSwitch } from '../../stack/connection-file.js';
import { runIntegrationCommand } from '../../stack/integration-command.js';
import { runIntegrationChecks } from '../../stack/integration-check.js';
import { waitReady } from '../../stack/readiness.js';
import { redactDatabaseUrl, startServer, type StartedServer } from '../../stack/start-server.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import { fsdrVersion } from '../../util/version.js';
import { connectionFor, restoreLogFile, runRestore, type RestoreResult } from '../restore/restore.js';
import type { RecoveryTarget } from '../restore/select-backup.js';
import { goldenCheck } from './golden-step.js';
import { databaseOf, goldenTime, pgUrl, removeCommand, serverLogFile } from './recovered-stack.js';
import { switchKind, switchStep } from './switch-step.js';

export interface RecoverOptions {
  pgdata: string;
  port?: number;
  serverPort?: number;
  target: RecoveryTarget;
  backup?: string;
  timeline?: number | 'latest' | 'current';
  acceptGap?: boolean;
  repository?: string;
  set?: Record<string, string>;
  /** false: check the recovered stack but move no traffic (and the instance never archives) */
  switchTraffic: boolean;
  dns?: { name?: string; provider?: string; address?: string };
  keep?: boolean;
  timeoutMs: number;
  readyTimeoutMs: number;
  /** each step as it ends (the CLI prints it) */
  onStep?: (s: DrillStep) => void;
  /**
   * The restore drill (fsdr drill restore): recover in isolation, never switching traffic, then
   * remove everything it started (a 'cleanup' step) unless keep; evidence of kind 'restore'.
   */
  drill?: boolean;
  /** the drill writer's RPO step over the restored copy, run right after the restore */
  rpo?: {
    measure(copy: pg.ClientConfig): Promise<StepOutcome & { rpoSeconds?: number; rpoAtLeastSeconds?: number }>;
    unavailable?: string;
    /** removes the writer's schema from the source; a problem is returned, for the evidence */
    drop(): Promise<string | undefined>;
  };
}

export interface RecoverReport extends DrillEvidence {
  kind: 'recover' | 'restore';
  /** the running stack, when it was left in place (success, a failed check, or --keep) */
  stack?: { pgdata: string; port: number; serverPid: number; serverUrl: string; serverLog: string; postgresLog: string };
  /** how to remove a stack left for inspection */
  removeWith?: string;
  dns?: DnsChange;
  /** the connection file rewritten by the switch (stack.switch), old and new content redacted */
  connection?: ConnectionSwitch;
}

export async function runRecover(cfg: Config, opts: RecoverOptions): Promise<RecoverReport> {
  const stack = cfg.stack;
  if (!stack) throw new ConfigError('stack', 'required for fsdr recover (the server start command, url and keys)');
  if (!stack.start) throw new ConfigError('stack.start', 'required for fsdr recover: how to start the FeatureSignals server on the restored database');
  // Everything the switch needs is checked before anything is restored.
  if (opts.switchTraffic) {
    const how = switchKind(cfg, opts);
    if (!how) throw new FsdrError('FSDR_USAGE', 'recover switches traffic by DNS or a connection file: give --dns-name NAME (and --dns-provider P), configure stack.switch, or give --no-switch', { exitCode: 2 });
    if (how === 'dns') providerName(cfg, opts.dns?.provider);
  }
  const keys = Object.fromEntries(Object.entries(stack.keys).map(([env, ref]) => [env, resolveSecret(`stack.keys.${env}`, ref)]));
  const repoName = opts.repository ?? 'primary';
  const repo = await Repository.open(cfg, repoName);
  if (opts.drill && opts.switchTraffic) throw new FsdrError('FSDR_USAGE', 'a restore drill never switches traffic', { exitCode: 2 });
  const kind = opts.drill ? 'restore' : 'recover';
  const start = new Date();
  const steps = new DrillSteps();
  const report: RecoverReport = {
    format: 1, kind, id: newDrillId(kind, start), startTime: start.toISOString(), endTime: '', host: hostname(), repository: repoName,
    fsdrVersion: fsdrVersion(), steps: steps.steps, checks: { target: opts.target, switchTraffic: opts.switchTraffic }, result: 'failed',
  };
  const step = async (name: string, fn: () => Promise<{ ok: boolean; detail: unknown; failure?: { message: string } }>) => {
    const ok = await steps.run(name, fn);
    opts.onStep?.(steps.steps[steps.steps.length - 1]!);
    return ok;
  };
  try {
    await repo.readInfo();
    await recoverSteps(cfg, opts, keys, repo, report, step);
  } catch (err) {
    steps.failure ??= { step: 'recover', message: describeError(err) };
  }
  report.endTime = new Date().toISOString();
  report.result = steps.failure ? 'failed' : 'ok';
  if (steps.failure) report.failure = steps.failure;
  if (opts.drill) {
    // The scenario a restore drill rehearses is the plan's database restore (corruption).
    report.objectives = judgeObjectives('database_corruption', cfg.objectives.databaseCorruption,
      { rtoSeconds: report.rtoSeconds, rpoSeconds: report.rpoSeconds, rpoAtLeastSeconds: (report.checks.rpo as { atLeastSeconds?: number } | undefined)?.atLeastSeconds }, {
        rto: 'not measured: the drill did not reach /ready with golden evaluations matching',
        rpo: opts.rpo?.unavailable ?? 'not measured: the restored copy could not be read for the drill writer\'s commits',
      });
  }
  const dropError = await opts.rpo?.drop();
  if (dropError) report.checks.writerCleanup = dropError;
  // Evidence is best effort here: the recovery's outcome matters more than its record.
  await repo.drills.write(report).catch((err: unknown) => { report.checks.evidenceError = describeError(err); });
  await repo.close();
  return report;
}

type Step = (name: string, fn: () => Promise<{ ok: boolean; detail: unknown; failure?: { message: string } }>) => Promise<boolean>;

async function recoverSteps(cfg: Config, opts: RecoverOptions, keys: Record<string, string>, repo: Repository, report: RecoverReport, step: Step): Promise<void> {
  const stack = cfg.stack!;
  const t0 = performance.now();
  const pgdata = resolve(opts.pgdata);
  let restored: RestoreResult | undefined;
  const ok = await step('restore', async () => {
    const port = opts.port ?? (await freeLoopbackPort());
    restored = await runRestore(cfg, {
      pgdata, port, target: opts.target, backup: opts.backup, timeline: opts.timeline, acceptGap: opts.acceptGap, start: true,
      // The recovered instance archives only once it is the primary (traffic moved to it): with
      // a switch ahead, archive_mode stays on but the command is held until the switch is done.
      archive: opts.switchTraffic,
      set: { ...(opts.switchTraffic ? HOLD_ARCHIVING : { listen_addresses: '127.0.0.1' }), ...opts.set },
      processes: cfg.backup.processes, timeoutMs: opts.timeoutMs, repository: repo.name, quiet: true,
    });
    return { ok: true, detail: { backup: restored.backup, port, pgdata, recoveredTo: restored.recoveredTo, archive: opts.switchTraffic, seconds: restored.seconds } };
  });
  const rest = ['start-server', 'ready', 'golden', 'integration', 'switch'];
  const skipAll = (from: string, why: string) => { for (const s of rest.slice(rest.indexOf(from))) report.steps.push({ name: s, ok: false, seconds: 0, detail: { skipped: why } }); };
  if (!ok || !restored) {
    skipAll('start-server', 'the restore failed');
    // A failed restore stops what it started itself; the drill still removes what it wrote.
    if (opts.drill) {
      await step('cleanup', async () => {
        if (opts.keep) return { ok: true, detail: { kept: { pgdata } } };
        await rm(pgdata, { recursive: true, force: true });
        return { ok: true, detail: { pgdata } };
      });
    }
    return;
  }
  const r = restored;
  const user = serverUser();
  const binDir = findBinDir(r.pgMajor, cfg.cluster?.binDir);
  const conn = { ...connectionFor(cfg, r.port), database: databaseOf(cfg) };
  if (opts.rpo?.unavailable) report.checks.rpo = { skipped: opts.rpo.unavailable };
  else if (opts.rpo) {
    await step('rpo', async () => {
      const out = await opts.rpo!.measure(conn);
      report.checks.rpo = out.detail;
      if (out.rpoSeconds !== undefined) report.rpoSeconds = out.rpoSeconds;
      return out;
    });
  }
  const databaseUrl = pgUrl(conn);
  let server: StartedServer | undefined;
  let serverUrl = '';
  const cleanUp = async (): Promise<void> => {
    await server?.stop();
    await stopInstance(binDir, r.pgdata, user, 'fast').catch(() => stopInstance(binDir, r.pgdata, user, 'immediate')).catch(() => undefined);
    await rm(r.pgdata, { recursive: true, force: true });
    for (const f of [restoreLogFile(r.pgdata), serverLogFile(r.pgdata)]) await rm(f, { force: true });
    report.checks.cleanedUp = { pgdata: r.pgdata, serverPid: server?.pid };
  };
  const leave = () => {
    report.stack = { pgdata: r.pgdata, port: r.port, serverPid: server?.pid ?? -1, serverUrl, serverLog: serverLogFile(r.pgdata), postgresLog: r.logFile };
  };

  const started = await step('start-server', async () => {
    const configured = Number(stack.start!.env.PORT);
    const serverPort = opts.serverPort ?? (Number.isInteger(configured) && configured > 0 ? configured : await freeLoopbackPort());
    // A drill checks only the server it started: checkUrl may name production's.
    const checkUrl = opts.drill ? undefined : stack.start!.checkUrl;
    serverUrl = checkUrl?.replace(/\/+$/, '') ?? `http://127.0.0.1:${serverPort}`;
    server = startServer(stack.start!, databaseUrl, serverPort, serverLogFile(r.pgdata));
    return { ok: true, detail: { pid: server.pid, port: serverPort, url: serverUrl, command: server.command, databaseUrl: redactDatabaseUrl(databaseUrl), log: server.logFile } };
  });
  const ready = started && await step('ready', async () => {
    const res = await waitReady(server!, serverUrl, { health: stack.healthPath, ready: stack.readyPath }, opts.readyTimeoutMs);
    return { ok: true, detail: res };
  });
  // The drill's last step: everything it started is removed (unless --keep), passed or failed.
  const drillCleanup = async (): Promise<void> => {
    await step('cleanup', async () => {
      if (opts.keep) {
        leave();
        report.removeWith = removeCommand(report.stack!, binDir, user?.name);
        return { ok: true, detail: { kept: report.stack, removeWith: report.removeWith } };
      }
      await cleanUp();
      delete report.stack;
      delete report.removeWith;
      return { ok: true, detail: report.checks.cleanedUp };
    });
  };
  if (!ready) {
    // Nothing was proved about this stack: it is removed, unless asked to keep it for a look.
    skipAll('golden', 'the server never became ready');
    if (opts.drill) return drillCleanup();
    if (opts.keep) { leave(); report.removeWith = removeCommand(report.stack!, binDir, user?.name); } else await cleanUp();
    return;
  }

  let record: GoldenRecord | undefined;
  const golden = await step('golden', async () => {
    const out = await goldenCheck(repo, keys, serverUrl, conn, goldenTime(opts.target, r));
    report.checks.golden = out.detail;
    record = out.record;
    return out;
  });
  if (golden) report.rtoSeconds = round((performance.now() - t0) / 1000);
  const integration = golden && await step('integration', async () => {
    const rec = record!;
    const envKeys = Object.fromEntries(Object.keys(rec.envs).map((env) => [env, keys[env]!]));
    const res = await runIntegrationChecks(serverUrl, envKeys, (env) => rec.envs[env]?.flags.find((f) => !MISSING_FLAGS.includes(f)));
    report.checks.integration = res;
    const bad = res.checks.find((c) => !c.ok);
    if (bad) return { ok: false, detail: res, failure: { message: `${bad.check} (${bad.env}): ${bad.message ?? `status ${bad.status}`}` } };
    if (!stack.integrationCommand) return { ok: true, detail: res };
    // The customer's suite, only once the built-in checks passed; it gets the recovered stack's URLs.
    const cmd = await runIntegrationCommand(stack.integrationCommand, { DATABASE_URL: databaseUrl, FS_SERVER_URL: serverUrl });
    report.checks.integrationCommand = cmd;
    return { ok: cmd.ok, detail: { ...res, command: cmd }, failure: cmd.ok ? undefined : { message: cmd.message! } };
  });
  leave();
  report.removeWith = removeCommand(report.stack!, binDir, user?.name);
  if (!integration) {
    skipAll(golden ? 'switch' : 'integration', 'a check failed: traffic was not moved');
    if (opts.drill) await drillCleanup();
    return;
  }
  if (opts.drill) {
    report.steps.push({ name: 'switch', ok: true, seconds: 0, detail: { skipped: 'drill: traffic is never moved' } });
    opts.onStep?.(report.steps[report.steps.length - 1]!);
    return drillCleanup();
  }
  if (!opts.switchTraffic) {
    // A stack that passed every check is the recovered stack: it stays up for whoever repoints.
    report.steps.push({ name: 'switch', ok: true, seconds: 0, detail: { skipped: '--no-switch' } });
    opts.onStep?.(report.steps[report.steps.length - 1]!);
    return;
  }
  // Once traffic has moved, this stack is production: no removal command in its report.
  if (await step('switch', () => switchStep(cfg, opts, conn, report))) delete report.removeWith;
}
