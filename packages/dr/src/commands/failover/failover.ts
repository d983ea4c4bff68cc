// `fsdr failover --to REGION`: run on the node of the region taking over. Without --confirm it
// only plans. With it: (planned: stop writes on the primary, archive its last segment, copy it
// into this region's repository) fence (a new epoch in every repository that answers, this
// region's at least), catch up, promote, check the new history file reached this repository,
// start and check the stack, repoint DNS, and write the evidence — each a timed step.
import { hostname } from 'node:os';
import { MISSING_FLAGS, type GoldenRecord } from '@featuresignals/server';
import type { Config } from '../../config/load.js';
import { otherRegion, selfRegion } from '../../config/regions.js';
import { resolveSecret } from '../../config/secret-ref.js';
import { openDnsProvider } from '../../dns/open-dns-provider.js';
import { impliedType, type DnsChange } from '../../dns/provider.js';
import { DrillSteps, round } from '../../drills/steps.js';
import { describeError, FsdrError } from '../../errors.js';
import { highestFence, within, writeFence, type Fence } from '../../failover/fence.js';
import { planFailover, type FailoverPlan } from '../../failover/plan.js';
import { connect } from '../../postgres/cluster.js';
import { switchAndArchive } from '../../postgres/switch-archive.js';
import { makeReadOnly } from '../../postgres/read-only.js';
import { currentTimeline, promote, readReplay } from '../../postgres/replay.js';
import { historyFileName } from '../../postgres/wal-name.js';
import { newDrillId, type DrillEvidence } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';
import { lagSeconds, missingOn, replicate } from '../../replication/replicator.js';
import { runIntegrationChecks } from '../../stack/integration-check.js';
import { waitReady } from '../../stack/readiness.js';
import { startServer, type StartedServer } from '../../stack/start-server.js';
import { adoptWarmServer, readWarmServer } from '../../stack/warm-server.js';
import { openStorage } from '../../storage/open-storage.js';
import type { Storage } from '../../storage/storage.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import { fsdrVersion } from '../../util/version.js';
import { keepEvidence } from '../drill/evidence.js';
import { goldenCheck } from '../recover/golden-step.js';
import { pgUrl, serverLogFile } from '../recover/recovered-stack.js';
import { retireRecoveryConfig } from '../restore/recovery-settings.js';
import { needRegions, stackDatabase, standbyStatus } from '../standby/standby.js';

export interface FailoverOptions {
  to: string;
  confirm: boolean;
  planned: boolean;
  readyTimeoutMs: number;
  catchUpTimeoutMs: number;
  onStep?: (s: DrillEvidence['steps'][number]) => void;
}

export interface FailoverReport extends DrillEvidence {
  kind: 'failover';
  plan: FailoverPlan;
  confirmed: boolean;
  stack?: { serverPid: number; serverUrl: string; serverLog: string };
  dns?: DnsChange;
}

async function opened<T>(cfg: Config, name: string, fn: (s: Storage) => Promise<T>): Promise<T> {
  const s = await openStorage(cfg.repositories[name]!, name);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

export async function planFor(cfg: Config, o: { to: string; planned: boolean }): Promise<FailoverPlan> {
  const r = needRegions(cfg);
  const self = selfRegion(r);
  if (!r.members[o.to]) throw new FsdrError('FSDR_REGION_UNKNOWN', `no region named ${o.to}`, { hint: `regions: ${Object.keys(r.members).join(', ')}`, exitCode: 2 });
  if (o.to !== self) throw new FsdrError('FSDR_FAILOVER_WRONG_NODE', `fsdr failover --to ${o.to} runs on the node of region ${o.to}; this configuration is region ${self}'s (regions.self)`, { hint: `run it with the ${o.to} node's configuration`, exitCode: 2 });
  const from = otherRegion(r, self);
  const ownTop = await opened(cfg, 'primary', highestFence);
  const peer = await within(opened(cfg, from, async (s) => ({ top: await highestFence(s), lag: lagSeconds(await opened(cfg, 'primary', (own) => missingOn(s, own))) })).catch(() => undefined), 5000);
  const top = [ownTop, peer?.top].filter((f) => f).sort((a, b) => b!.epoch - a!.epoch)[0];
  const st = await standbyStatus(cfg);
  return planFailover({
    from, to: o.to, top, unreachable: peer ? [] : [`repository of ${from}`],
    standby: { inRecovery: st.inRecovery, replayLsn: st.replayLsn, timeline: st.timeline, replayedAt: st.replayedAt },
    repository: st.repository, primary: st.primary, replicaLagSeconds: peer?.lag,
    rpoObjectiveSeconds: cfg.objectives.regionFailure.rpoSeconds, planned: o.planned, now: new Date(),
  });
}

export async function runFailover(cfg: Config, o: FailoverOptions): Promise<FailoverReport> {
  const plan = await planFor(cfg, o);
  const start = new Date();
  const steps = new DrillSteps();
  const report: FailoverReport = {
    format: 1, kind: 'failover', id: newDrillId('failover', start), startTime: start.toISOString(), endTime: '', host: hostname(), repository: 'primary',
    fsdrVersion: fsdrVersion(), steps: steps.steps, checks: {}, result: 'failed', plan, confirmed: o.confirm,
  };
  if (!o.confirm) return { ...report, result: 'ok', endTime: new Date().toISOString() };
  if (!plan.standby.inRecovery) throw new FsdrError('FSDR_NOT_STANDBY', `the cluster of region ${o.to} is not in recovery: nothing to promote`, { hint: 'start it with fsdr standby start' });
  if (o.planned && !plan.primary.reachable) throw new FsdrError('FSDR_PRIMARY_UNREACHABLE', `--planned needs the primary of region ${plan.from}, which does not answer: ${plan.primary.error}`, { hint: 'without --planned this is an unplanned failover (data after the standby\'s newest WAL is lost)' });
  const step = async (name: string, fn: () => Promise<{ ok: boolean; detail: unknown; failure?: { message: string } }>) => {
    const ok = await steps.run(name, fn);
    o.onStep?.(steps.steps[steps.steps.length - 1]!);
    return ok;
  };
  const t0 = performance.now();
  try {
    await failoverSteps(cfg, o, plan, report, step);
  } catch (err) {
    steps.failure ??= { step: 'failover', message: describeError(err) };
  }
  report.endTime = new Date().toISOString();
  report.rtoSeconds = report.rtoSeconds ?? round((performance.now() - t0) / 1000);
  report.result = steps.failure ? 'failed' : 'ok';
  if (steps.failure) report.failure = steps.failure;
  // The evidence goes into the new primary's repository, whatever happened.
  await keepEvidence(cfg, report);
  return report;
}

type Step = (name: string, fn: () => Promise<{ ok: boolean; detail: unknown; failure?: { message: string } }>) => Promise<boolean>;

async function failoverSteps(cfg: Config, o: FailoverOptions, plan: FailoverPlan, report: FailoverReport, step: Step): Promise<void> {
  const r = cfg.regions!;
  const old = r.members[plan.from]!;
  let mustReach: bigint | undefined;
  if (o.planned) {
    const ok = await step('stop-writes', async () => {
      const c = await connect(old.cluster.connection, 'fsdr failover');
      try {
        const ro = await makeReadOnly(c, `fenced: switchover to ${o.to} (epoch ${plan.nextEpoch})`);
        // The last segment: switched out and archived by the old primary's own archive_command.
        const sw = await switchAndArchive(c, o.catchUpTimeoutMs);
        if (!sw.archived) return { ok: false, detail: { segment: sw.segment }, failure: { message: `the old primary did not archive its last segment ${sw.segment} within ${o.catchUpTimeoutMs / 1000}s` } };
        mustReach = sw.lsnValue;
        return { ok: true, detail: { terminated: ro.terminated, lastSegment: sw.segment, lsn: sw.lsn } };
      } finally {
        await c.end().catch(() => undefined);
      }
    });
    if (!ok) return;
    if (!(await step('replicate', async () => {
      const res = await opened(cfg, plan.from, (src) => opened(cfg, 'primary', (dst) => replicate(src, dst, 'primary')));
      return { ok: true, detail: res };
    }))) return;
  }
  const fence: Fence = { epoch: plan.nextEpoch, region: o.to, at: new Date().toISOString(), by: `fsdr failover --to ${o.to}${o.planned ? ' --planned' : ''} on ${hostname()}` };
  if (!(await step('fence', async () => {
    await opened(cfg, 'primary', (s) => writeFence(s, fence));
    const peer = await within(opened(cfg, plan.from, (s) => writeFence(s, fence)).then(() => 'written', (e: unknown) => describeError(e)), 5000);
    return { ok: true, detail: { ...fence, [`repository of ${o.to}`]: 'written', [`repository of ${plan.from}`]: peer ?? 'unreachable (its old primary still sees this fence in our repository)' } };
  }))) return;

  const conn = cfg.cluster!.connection;
  if (mustReach !== undefined && !(await step('catch-up', async () => {
    const deadline = Date.now() + o.catchUpTimeoutMs;
    let seen = '(no answer)';
    for (;;) {
      // A refused connection is retried until the deadline: the standby may be restarting a child.
      const st = await connect(conn, 'fsdr failover').then((c) => readReplay(c).finally(() => c.end().catch(() => undefined))).catch((err: unknown) => {
        seen = `${seen.split(';')[0]}; last error: ${describeError(err)}`;
        return undefined;
      });
      if (st) seen = st.lsnText;
      if (st && st.lsn >= mustReach!) return { ok: true, detail: { replayLsn: st.lsnText } };
      if (Date.now() > deadline) return { ok: false, detail: { replayLsn: seen }, failure: { message: `the standby replayed only to ${seen} within ${o.catchUpTimeoutMs / 1000}s` } };
      await new Promise((x) => setTimeout(x, 200));
    }
  }))) return;

  let timeline = 0;
  if (!(await step('promote', async () => {
    const c = await connect(conn, 'fsdr failover');
    try {
      // pg_promote replays every WAL file restore_command can still fetch, then ends recovery.
      if (!(await promote(c, Math.ceil(o.catchUpTimeoutMs / 1000)))) return { ok: false, detail: {}, failure: { message: 'pg_promote did not finish in time' } };
      timeline = await currentTimeline(c);
      const st = await readReplay(c);
      await retireRecoveryConfig(cfg.cluster!.pgdata);
      return { ok: true, detail: { timeline, lsn: st.lsnText, replayedBefore: plan.standby.replayLsn } };
    } finally {
      await c.end().catch(() => undefined);
    }
  }))) return;
  if (!(await step('archive-history', async () => {
    const name = historyFileName(timeline);
    const deadline = Date.now() + o.catchUpTimeoutMs;
    const repo = await Repository.open(cfg);
    try {
      for (;;) {
        for await (const w of repo.wal.list()) if (w.name === name) return { ok: true, detail: { history: name, repository: repo.storage.description } };
        if (Date.now() > deadline) return { ok: false, detail: { history: name }, failure: { message: `${name} did not reach ${repo.storage.description} within ${o.catchUpTimeoutMs / 1000}s (archive_command of the new primary)` } };
        await new Promise((x) => setTimeout(x, 300));
      }
    } finally {
      await repo.close();
    }
  }))) return;

  await stackSteps(cfg, o, report, step);
  if (report.failure) return;
  const dns = r.members[o.to]!.dns;
  if (dns) {
    await step('dns', async () => {
      const p = await openDnsProvider(cfg, dns.provider);
      try {
        report.dns = await p.upsert(dns.name, impliedType(dns.address), [dns.address], cfg.dns?.ttl ?? 60);
        return { ok: true, detail: report.dns };
      } finally {
        p.close();
      }
    });
  }
}

async function stackSteps(cfg: Config, o: FailoverOptions, report: FailoverReport, step: Step): Promise<void> {
  const stack = cfg.stack;
  if (!stack?.start) return;
  const keys = Object.fromEntries(Object.entries(stack.keys).map(([env, ref]) => [env, resolveSecret(`stack.keys.${env}`, ref)]));
  const db = stackDatabase(cfg);
  let server: StartedServer | undefined;
  let serverUrl = '';
  const t0 = performance.now();
  if (!(await step('start-server', async () => {
    // The warm server of `standby start --stack` is already on this database: it only has to see
    // the promotion (its LISTEN connects within a second) and answer /ready.
    const warm = readWarmServer(cfg.cluster!.pgdata);
    if (warm) {
      server = adoptWarmServer(warm);
      serverUrl = warm.url;
      report.stack = { serverPid: warm.pid, serverUrl, serverLog: warm.logFile };
      return { ok: true, detail: { pid: warm.pid, url: serverUrl, adopted: `warm since ${warm.startedAt}` } };
    }
    const configured = Number(stack.start!.env.PORT);
    const port = Number.isInteger(configured) && configured > 0 ? configured : await freeLoopbackPort();
    serverUrl = stack.start!.checkUrl?.replace(/\/+$/, '') ?? `http://127.0.0.1:${port}`;
    server = startServer(stack.start!, pgUrl(db), port, serverLogFile(cfg.cluster!.pgdata));
    report.stack = { serverPid: server.pid, serverUrl, serverLog: server.logFile };
    return { ok: true, detail: { pid: server.pid, url: serverUrl } };
  }))) return;
  if (!(await step('ready', async () => ({ ok: true, detail: await waitReady(server!, serverUrl, { health: stack.healthPath, ready: stack.readyPath }, o.readyTimeoutMs) })))) return;
  let record: GoldenRecord | undefined;
  const repo = await Repository.open(cfg);
  try {
    if (!(await step('golden', async () => {
      const out = await goldenCheck(repo, keys, serverUrl, db, new Date());
      report.checks.golden = out.detail;
      record = out.record;
      return out;
    }))) return;
  } finally {
    await repo.close();
  }
  report.checks.stackSeconds = round((performance.now() - t0) / 1000);
  await step('integration', async () => {
    const rec = record!;
    const envKeys = Object.fromEntries(Object.keys(rec.envs).map((env) => [env, keys[env]!]));
    const res = await runIntegrationChecks(serverUrl, envKeys, (env) => rec.envs[env]?.flags.find((f) => !MISSING_FLAGS.includes(f)));
    const bad = res.checks.find((c) => !c.ok);
    return { ok: res.ok, detail: res, failure: bad ? { message: `${bad.check} (${bad.env}): ${bad.message ?? `status ${bad.status}`}` } : undefined };
  });
}
