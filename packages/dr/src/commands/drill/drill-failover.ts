// fsdr drill failover: the plan's biannual regional failover drill, run on the standby region's
// node with the primary region's configuration beside it (drill.failover.peerConfig: the drill
// acts as both nodes, each through its own file, so every command it runs is the one an operator
// would run there). A writer commits to the primary and logs each commit client-side; the
// disaster makes the primary refuse writes (the region is "lost", kept inspectable); an unplanned
// `fsdr failover` promotes the standby, checks its stack and cuts DNS over; the new region serves
// (a writer and /ready) for drill.failover.serveSeconds; then `fsdr failback --switchover` re-seeds
// the old region and switches back with zero loss, and this region is re-seeded as the warm
// standby it was. Measured: RPO (acknowledged commits missing on
// the new primary), RTO (disaster → /ready with golden evaluations matching in the new region),
// the DNS answers seen, and that every commit served in the new region came back.
import { hostname } from 'node:os';
import type pg from 'pg';
import { loadConfig, type Config } from '../../config/load.js';
import { otherRegion, selfRegion } from '../../config/regions.js';
import { measureRpo, startCommitWriter, WRITER_SCHEMA, type RunningWriter, type WriterLog } from '../../drills/commit-writer.js';
import { judgeObjectives } from '../../drills/objectives.js';
import { DrillSteps, round } from '../../drills/steps.js';
import { describeError, FsdrError } from '../../errors.js';
import { fenceState } from '../../failover/fence.js';
import { newClient } from '../../postgres/cluster.js';
import { makeReadOnly } from '../../postgres/read-only.js';
import { newDrillId, type DrillEvidence, type DrillStep } from '../../repository/drill-catalog.js';
import { fsdrVersion } from '../../util/version.js';
import { runFailback } from '../failback/failback.js';
import { keepEvidence } from './evidence.js';
import { runFailover, type FailoverReport } from '../failover/failover.js';
import { databaseOf } from '../recover/recovered-stack.js';
import { runReplicate } from '../replicate/replicate.js';
import { needRegions, standbyStatus } from '../standby/standby.js';

export interface DrillFailoverOptions {
  peerConfig?: string;
  serveSeconds?: number;
  confirm: boolean;
  readyTimeoutMs: number;
  catchUpTimeoutMs: number;
  onStep?: (s: DrillStep) => void;
}

export interface DrillFailoverReport extends DrillEvidence {
  kind: 'regional';
  from: string;
  to: string;
  confirmed: boolean;
  failover?: Pick<FailoverReport, 'id' | 'result' | 'steps' | 'rtoSeconds' | 'dns' | 'failure' | 'stack'>;
  failback?: { aside?: string; switchover?: Pick<FailoverReport, 'id' | 'result' | 'steps' | 'rtoSeconds' | 'dns' | 'failure' | 'stack'> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const brief = (f: FailoverReport) => ({ id: f.id, result: f.result, steps: f.steps, rtoSeconds: f.rtoSeconds, dns: f.dns, failure: f.failure, stack: f.stack });

/** The FeatureSignals database of a region's cluster: where the drill's writers commit. */
function writerConn(cfg: Config): pg.ClientConfig {
  const url = new URL(cfg.cluster!.connection);
  url.pathname = '/' + encodeURIComponent(databaseOf(cfg));
  return { connectionString: url.toString() };
}

/** Both nodes' configurations, checked to describe the same pair with the roles the drill needs. */
export async function drillPair(cfg: Config, peerPath?: string): Promise<{ standby: Config; primary: Config; from: string; to: string }> {
  const r = needRegions(cfg);
  const path = peerPath ?? cfg.drill.failover.peerConfig;
  if (!path) throw new FsdrError('FSDR_USAGE', 'the failover drill needs the primary region\'s configuration: give --peer-config FILE or set drill.failover.peerConfig', { exitCode: 2 });
  const peer = loadConfig(path);
  const to = selfRegion(r);
  const from = otherRegion(r, to);
  const pr = peer.regions;
  if (!pr || selfRegion(pr) !== from || pr.primary !== r.primary || pr.standby !== r.standby) {
    throw new FsdrError('FSDR_DRILL_PEER', `${path} is not the configuration of region ${from}'s node for the same pair (its regions.self must be ${from}, with the same regions.primary and regions.standby)`, { exitCode: 2 });
  }
  const st = await fenceState(cfg);
  if (st?.writer !== from) throw new FsdrError('FSDR_DRILL_ROLES', `the drill fails over from the writing region to this one, but region ${st?.writer} writes and this node is ${to}`, { hint: `run it on the standby region's node (the writer is ${st?.writer})`, exitCode: 2 });
  return { standby: cfg, primary: peer, from, to };
}

export async function runDrillFailover(cfg: Config, o: DrillFailoverOptions): Promise<DrillFailoverReport> {
  const { standby, primary, from, to } = await drillPair(cfg, o.peerConfig);
  const serveSeconds = o.serveSeconds ?? cfg.drill.failover.serveSeconds;
  const start = new Date();
  const steps = new DrillSteps();
  const report: DrillFailoverReport = {
    format: 1, kind: 'regional', id: newDrillId('regional', start), startTime: start.toISOString(), endTime: '', host: hostname(), repository: 'primary',
    fsdrVersion: fsdrVersion(), steps: steps.steps, checks: { serveSeconds }, result: 'failed', from, to, confirmed: o.confirm,
  };
  if (!o.confirm) {
    report.checks.plan = [
      `commit a drill writer's rows to ${from} for ${cfg.drill.writer.seconds} s${cfg.drill.writer.enabled ? '' : ' (drill.writer.enabled is off: RPO will not be measured)'}`,
      `make ${from}'s cluster refuse writes (the disaster), then fsdr failover --to ${to} --confirm`,
      `serve in ${to} for ${serveSeconds} s`, `fsdr failback --confirm --switchover on ${from}'s configuration`,
    ];
    return { ...report, result: 'ok', endTime: new Date().toISOString() };
  }
  const step = async (name: string, fn: () => Promise<{ ok: boolean; detail: unknown; failure?: { message: string } }>) => {
    const ok = await steps.run(name, fn);
    o.onStep?.(steps.steps[steps.steps.length - 1]!);
    return ok;
  };
  try {
    await drillSteps({ standby, primary, from, to, serveSeconds, o, report, step });
  } catch (err) {
    steps.failure ??= { step: 'drill', message: describeError(err) };
  }
  report.endTime = new Date().toISOString();
  report.result = steps.failure ? 'failed' : 'ok';
  if (steps.failure) report.failure = steps.failure;
  report.objectives = judgeObjectives('region_failure', cfg.objectives.regionFailure, { rtoSeconds: report.rtoSeconds, rpoSeconds: report.rpoSeconds }, {
    rto: 'not measured: the new region did not reach /ready with golden evaluations matching',
    rpo: cfg.drill.writer.enabled ? 'not measured: the new primary could not be read for the writer\'s commits' : 'not measured: drill.writer.enabled is off',
  });
  // Evidence goes to the region that writes when the drill ends (the old primary, after failback).
  const writer = (await fenceState(standby).catch(() => undefined))?.writer === to ? standby : primary;
  await keepEvidence(writer, report);
  return report;
}

type Step = (name: string, fn: () => Promise<{ ok: boolean; detail: unknown; failure?: { message: string } }>) => Promise<boolean>;

interface Ctx { standby: Config; primary: Config; from: string; to: string; serveSeconds: number; o: DrillFailoverOptions; report: DrillFailoverReport; step: Step }

async function drillSteps({ standby, primary, from, to, serveSeconds, o, report, step }: Ctx): Promise<void> {
  const w = standby.drill.writer;
  if (!(await step('preflight', async () => {
    const st = await standbyStatus(standby);
    if (!st.inRecovery) return { ok: false, detail: st, failure: { message: `the cluster of region ${to} is not a standby in recovery (fsdr standby start)` } };
    return { ok: true, detail: { standby: { replayLsn: st.replayLsn, timeline: st.timeline }, writer: w.enabled } };
  }))) return;

  // Before the disaster: the writer's commits, with its table replicated into the standby's
  // repository once (as the agent's replicate would), so the copy can be read for what it lost.
  let log: WriterLog | undefined;
  let writer: RunningWriter | undefined;
  if (w.enabled) {
    if (!(await step('writer', async () => {
      writer = await startCommitWriter(writerConn(primary), { intervalMs: w.intervalMs, anchorTimeoutMs: w.anchorTimeoutSeconds * 1000 });
      const replicated = await runReplicate(primary, to);
      // It keeps committing until the disaster stops it.
      await sleep(w.seconds * 1000);
      return { ok: true, detail: { run: writer.run, replicatedObjects: replicated[0]?.copied } };
    }))) return;
  }

  let disasterAt = 0;
  if (!(await step('disaster', async () => {
    const c = newClient({ connectionString: primary.cluster!.connection, connectionTimeoutMillis: 10_000 }, 'fsdr drill failover');
    await c.connect();
    try {
      disasterAt = Date.now();
      const ro = await makeReadOnly(c, `drill: region ${from} lost (failover drill ${report.id})`);
      log = writer ? await writer.stop() : undefined;
      return { ok: true, detail: { at: new Date(disasterAt).toISOString(), terminated: ro.terminated, commits: log?.commits.length } };
    } finally {
      await c.end().catch(() => undefined);
    }
  }))) return;

  let failover: FailoverReport | undefined;
  const ok = await step('failover', async () => {
    failover = await runFailover(standby, { to, confirm: true, planned: false, readyTimeoutMs: o.readyTimeoutMs, catchUpTimeoutMs: o.catchUpTimeoutMs });
    report.failover = brief(failover);
    return { ok: failover.result === 'ok', detail: { id: failover.id, steps: failover.steps.map((s) => `${s.name} ${s.seconds}s`), dns: failover.dns }, failure: failover.failure && { message: `${failover.failure.step}: ${failover.failure.message}` } };
  });
  if (failover) {
    // RTO ends where the new region answers /ready with golden evaluations matching.
    const upTo = failover.steps.findIndex((s) => s.name === 'golden');
    if (upTo >= 0) report.rtoSeconds = round((Date.parse(failover.startTime) - disasterAt) / 1000 + failover.steps.slice(0, upTo + 1).reduce((n, s) => n + s.seconds, 0));
  }
  if (log) {
    await step('rpo', async () => {
      const out = await measureRpo(writerConn(standby), log!);
      report.checks.rpo = out.detail;
      if (out.measurement?.rpoSeconds !== undefined) report.rpoSeconds = out.measurement.rpoSeconds;
      return out;
    });
  }
  if (!ok) return;

  // The new region serves: a writer commits and /ready is polled for serveSeconds.
  const served: number[] = [];
  if (!(await step('serve', async () => {
    const c = newClient({ ...writerConn(standby), connectionTimeoutMillis: 10_000 }, 'fsdr drill serve');
    await c.connect();
    const url = failover!.stack?.serverUrl;
    const ready = { ok: 0, failed: 0 };
    try {
      if (w.enabled) await c.query(`CREATE TABLE IF NOT EXISTS ${WRITER_SCHEMA}.served (seq int PRIMARY KEY)`);
      const end = Date.now() + serveSeconds * 1000;
      while (Date.now() < end) {
        if (w.enabled) { await c.query(`INSERT INTO ${WRITER_SCHEMA}.served VALUES ($1)`, [served.length + 1]); served.push(served.length + 1); }
        if (url) ((await fetch(url + (standby.stack?.readyPath ?? '/ready')).then((r) => r.status, () => 0)) === 200 ? ready.ok++ : ready.failed++);
        await sleep(w.intervalMs);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
    const detail = { seconds: serveSeconds, commits: served.length, ready, serverUrl: url };
    return ready.failed ? { ok: false, detail, failure: { message: `/ready failed ${ready.failed} of ${ready.ok + ready.failed} times while ${to} served` } } : { ok: true, detail };
  }))) return;

  await step('failback', async () => {
    const fb = await runFailback(primary, { confirm: true, switchover: true, processes: primary.backup.processes, timeoutMs: primary.drill.timeoutSeconds * 1000, readyTimeoutMs: o.readyTimeoutMs, catchUpTimeoutMs: o.catchUpTimeoutMs });
    report.failback = { aside: fb.aside, switchover: fb.switchover && brief(fb.switchover) };
    const sw = fb.switchover;
    return { ok: sw?.result === 'ok', detail: { method: fb.method, rewind: fb.rewind, aside: fb.aside, switchover: sw && { id: sw.id, steps: sw.steps.map((s) => `${s.name} ${s.seconds}s`), dns: sw.dns } }, failure: sw?.failure && { message: `${sw.failure.step}: ${sw.failure.message}` } };
  });
  if (report.failure) return;
  // The switchover back leaves this region fenced and read-only; the drill leaves the pair as it
  // found it: this region re-seeded as the warm standby (its old directory moved aside, kept).
  if (!(await step('standby', async () => {
    const sb = await runFailback(standby, { confirm: true, switchover: false, processes: standby.backup.processes, timeoutMs: standby.drill.timeoutSeconds * 1000, readyTimeoutMs: o.readyTimeoutMs, catchUpTimeoutMs: o.catchUpTimeoutMs });
    return { ok: true, detail: { method: sb.method, rewind: sb.rewind, aside: sb.aside, standby: sb.standby } };
  }))) return;

  await step('verify', async () => {
    const st = await fenceState(primary);
    const c = newClient({ ...writerConn(primary), connectionTimeoutMillis: 10_000 }, 'fsdr drill verify');
    await c.connect();
    try {
      const back = w.enabled ? Number((await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${WRITER_SCHEMA}.served`)).rows[0]!.n) : undefined;
      const detail = { writer: st?.writer, epoch: st?.top?.epoch, servedCommits: served.length, servedCommitsBack: back, dns: { failover: report.failover?.dns, failback: report.failback?.switchover?.dns } };
      report.checks.failback = detail;
      if (st?.writer !== from) return { ok: false, detail, failure: { message: `after failback region ${st?.writer} writes, not ${from}` } };
      if (back !== undefined && back !== served.length) return { ok: false, detail, failure: { message: `${served.length - back} of the ${served.length} commits served in ${to} did not come back with the failback` } };
      // The drill's schema leaves production as it came.
      await c.query(`DROP SCHEMA IF EXISTS ${WRITER_SCHEMA} CASCADE`);
      return { ok: true, detail };
    } finally {
      await c.end().catch(() => undefined);
    }
  });
}
