// `fsdr drill instance`: the plan's instance failure, for real. A writer commits through the address
// clients use (HAProxy) and logs each commit client-side; the Patroni leader's postmaster is killed
// with SIGKILL (from inside it: COPY TO PROGRAM, so the drill needs no shell on the node); then the
// drill times, from the kill: detection (the leader lock leaves the old leader), promotion (another
// node answers GET /primary), client reconnect (the writer's first commit after the kill), and,
// with a stack section, /ready 200 on the new timeline with the golden evaluations matching. The
// acknowledged commits missing on the new primary are the RPO. Evidence goes into the repository.
import { hostname } from 'node:os';
import { recordFromServer, verifyAgainst, type GoldenRecord } from '@featuresignals/server';
import type { Config } from '../../config/load.js';
import { resolveSecret } from '../../config/secret-ref.js';
import { describeError, FsdrError } from '../../errors.js';
import { closeClient, commitsLost, dropHaWriter, outageAround, startHaWriter, type HaLoss } from '../../drills/ha-writer.js';
import { judgeObjectives } from '../../drills/objectives.js';
import { DrillSteps, round } from '../../drills/steps.js';
import { PatroniClient } from '../../ha/patroni-rest.js';
import { newClient } from '../../postgres/cluster.js';
import { newDrillId, type DrillEvidence } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';
import { fsdrVersion } from '../../util/version.js';
import { needHa } from '../ha/ha-config.js';
import { haStatus } from '../ha/ha-status.js';

export interface InstanceDrillOptions {
  /** where the writer connects (default ha.clientConnection) */
  connection?: string;
  /** how long the writer runs before the kill (ms) */
  warmupMs?: number;
  intervalMs?: number;
  /** give up waiting for a phase after this long (ms) */
  timeoutMs?: number;
  /** also wait for the old leader to rejoin as a replica */
  waitRejoin?: boolean;
  onPhase?: (name: string, seconds: number) => void;
  /**
   * Kill the leader some other way (library use, e.g. the bench losing a whole node: Patroni and
   * PostgreSQL together, which only its host can do). Resolves once it is dead; replaces the SQL kill.
   */
  kill?: (node: string) => Promise<{ how: string }>;
}

export interface InstancePhases {
  detectionSeconds?: number;
  promotionSeconds?: number;
  /** HAProxy-side: the writer's first commit after the kill */
  clientReconnectSeconds?: number;
  /** the server's /ready 200 on the new timeline with golden matching (needs stack) */
  readySeconds?: number;
  rejoinSeconds?: number;
}

export interface InstanceDrillReport extends DrillEvidence {
  kind: 'instance';
  phases: InstancePhases;
  lease: { ttl: number; loopWait: number; retryTimeout: number; primaryStartTimeout: number; synchronous: boolean; failsafeMode: boolean };
  oldLeader?: string;
  newLeader?: string;
  loss?: HaLoss & { clientOutageSeconds?: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bounds a promise that talks to the stack (a server mid-failover may hold a request forever). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms / 1000} s`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** The leader's own connection: the cluster connection's user and password, the node's address. */
function nodeConnection(cfg: Config, host: string, port: number): string {
  const u = new URL(cfg.cluster?.connection ?? cfg.ha!.clientConnection ?? 'postgres://postgres@localhost/postgres');
  u.hostname = host;
  u.port = String(port);
  u.pathname = '/postgres';
  return u.toString();
}

async function stackTarget(cfg: Config): Promise<{ url: string; keys: Record<string, string>; readyPath: string } | undefined> {
  const s = cfg.stack;
  if (!s) return undefined;
  return { url: s.url.replace(/\/+$/, ''), keys: Object.fromEntries(Object.entries(s.keys).map(([env, ref]) => [env, resolveSecret(`stack.keys.${env}`, ref)])), readyPath: s.readyPath };
}

async function serverDbid(t: { url: string; keys: Record<string, string> }): Promise<string | undefined> {
  const [env, key] = Object.entries(t.keys)[0]!;
  try {
    const r = await fetch(`${t.url}/v1/ruleset/${encodeURIComponent(env)}`, { headers: { 'X-API-Key': key }, signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as { dbid?: string }).dbid : undefined;
  } catch {
    return undefined;
  }
}

export async function runInstanceDrill(cfg: Config, o: InstanceDrillOptions = {}): Promise<InstanceDrillReport> {
  const ha = needHa(cfg);
  const connection = o.connection ?? ha.clientConnection;
  if (!connection) throw new FsdrError('FSDR_HA_NO_CLIENT_CONNECTION', 'the drill writes through the address clients use, and none is given', { hint: 'set ha.clientConnection (the HAProxy address) or pass --connection', exitCode: 2 });
  const timeoutMs = o.timeoutMs ?? 120_000;
  const start = new Date();
  const steps = new DrillSteps();
  const report: InstanceDrillReport = {
    format: 1, kind: 'instance', id: newDrillId('instance', start), startTime: start.toISOString(), endTime: '', host: hostname(), repository: 'primary',
    fsdrVersion: fsdrVersion(), steps: steps.steps, checks: {}, result: 'failed', phases: {},
    lease: { ttl: ha.ttl, loopWait: ha.loopWait, retryTimeout: ha.retryTimeout, primaryStartTimeout: ha.primaryStartTimeout, synchronous: ha.synchronous, failsafeMode: ha.failsafeMode },
  };
  const phase = (name: keyof InstancePhases, at: number, t0: number) => {
    report.phases[name] = round((at - t0) / 1000);
    o.onPhase?.(name, report.phases[name]!);
  };
  const clients = new Map(ha.nodes.map((n) => [n.name, PatroniClient.forNode(n.host, n.restApiPort, 1000)]));
  const stack = await stackTarget(cfg);
  let golden: GoldenRecord | undefined;
  let writer: Awaited<ReturnType<typeof startHaWriter>> | undefined;
  const writerConn = { connectionString: connection };
  try {
    // A replica Patroni would promote: running or streaming, and with synchronous mode the sync
    // standby (Patroni fails over to no other). Waited for, so a drill right after a rejoin is fair.
    const eligible = (st: Awaited<ReturnType<typeof haStatus>>) => st.members.filter((m) => m.name !== st.leader && m.reachable
      && (ha.synchronous ? m.role === 'sync_standby' : /replica|standby/.test(String(m.role))) && /running|streaming/.test(String(m.state)));
    let pre = await haStatus(cfg);
    for (const until = Date.now() + Math.min(timeoutMs, 60_000); Date.now() < until && (!pre.leader || !eligible(pre).length);) {
      await sleep(500);
      pre = await haStatus(cfg);
    }
    const old = ha.nodes.find((n) => n.name === pre.leader);
    const ok = await steps.run('preflight', async () => {
      const replicas = eligible(pre);
      const detail = { leader: pre.leader, replicas: replicas.map((m) => m.name), problems: pre.problems };
      if (!old) return { ok: false, detail, failure: { message: 'no leader to kill: ' + (pre.problems[0] ?? 'Patroni reports none') } };
      if (!replicas.length) return { ok: false, detail, failure: { message: `no ${ha.synchronous ? 'synchronous standby' : 'running replica'} could take over from ${old.name}: a kill now would be an outage, not a drill` } };
      return { ok: true, detail };
    });
    if (!ok || !old) throw new Error('preflight');
    report.oldLeader = old.name;
    if (stack) {
      if (!(await steps.run('golden-capture', async () => {
        golden = await within(recordFromServer({ url: stack.url, keys: stack.keys }), 60_000, 'golden capture');
        return { ok: true, detail: { envs: Object.keys(golden.envs), contexts: golden.contexts.length } };
      }))) throw new Error('golden');
    }
    const dbidBefore = stack ? await serverDbid(stack) : undefined;
    if (!(await steps.run('writer', async () => {
      writer = await startHaWriter(writerConn, { intervalMs: o.intervalMs ?? 50 });
      await sleep(o.warmupMs ?? 2000);
      const n = writer.snapshot().commits.length;
      return n > 0 ? { ok: true, detail: { run: writer.run, commitsBeforeKill: n } } : { ok: false, detail: {}, failure: { message: `the writer committed nothing through ${connection.replace(/:[^:@/]*@/, ':***@')}` } };
    }))) throw new Error('writer');
    let t0 = 0;
    if (!(await steps.run('kill', async () => {
      if (o.kill) {
        t0 = Date.now();
        const { how } = await o.kill(old.name);
        return { ok: true, detail: { node: old.name, how, at: new Date(t0).toISOString() } };
      }
      const c = newClient({ connectionString: nodeConnection(cfg, old.host, old.port), connectionTimeoutMillis: 3000, query_timeout: 5000 }, 'fsdr drill instance');
      await c.connect();
      const pid = (await c.query<{ pid: string }>("SELECT split_part(pg_read_file('postmaster.pid'), E'\\n', 1) AS pid")).rows[0]!.pid;
      t0 = Date.now();
      // The backend's working directory is the data directory; the kill ends this session too.
      await c.query(`COPY (SELECT 1) TO PROGRAM 'kill -9 ${Number(pid)}'`).catch(() => undefined);
      await closeClient(c);
      return { ok: true, detail: { node: old.name, how: 'kill -9 of the postmaster', postmasterPid: Number(pid), at: new Date(t0).toISOString() } };
    }))) throw new Error('kill');
    await steps.run('failover', async () => {
      const deadline = t0 + timeoutMs;
      let newLeader: string | undefined;
      while (Date.now() < deadline && (report.phases.promotionSeconds === undefined || report.phases.clientReconnectSeconds === undefined)) {
        if (report.phases.detectionSeconds === undefined) {
          for (const [name, cl] of clients) {
            if (name === old.name) continue;
            const view = await cl.cluster().catch(() => undefined);
            if (view && !view.members.some((m) => m.name === old.name && m.role === 'leader')) { phase('detectionSeconds', Date.now(), t0); break; }
          }
        }
        if (report.phases.promotionSeconds === undefined) {
          for (const [name, cl] of clients) {
            if (name !== old.name && (await cl.isPrimary().catch(() => false))) {
              newLeader = name;
              // A promotion is also a detection, when the poll of /cluster missed the moment between.
              if (report.phases.detectionSeconds === undefined) phase('detectionSeconds', Date.now(), t0);
              phase('promotionSeconds', Date.now(), t0);
              break;
            }
          }
        }
        if (report.phases.clientReconnectSeconds === undefined) {
          // The first commit after the writer saw the failure: one acknowledged in the instant
          // between the kill being sent and the postmaster dying is no reconnect.
          const after = outageAround(writer!.snapshot(), t0).firstAfter;
          if (after) phase('clientReconnectSeconds', after, t0);
        }
        await sleep(100);
      }
      report.newLeader = newLeader;
      const detail = { newLeader, ...report.phases };
      if (!newLeader) return { ok: false, detail, failure: { message: `no other node became primary within ${timeoutMs / 1000} s of the kill` } };
      if (report.phases.clientReconnectSeconds === undefined) return { ok: false, detail, failure: { message: `the writer could not commit through ${connection.replace(/:[^:@/]*@/, ':***@')} within ${timeoutMs / 1000} s of the kill` } };
      return { ok: true, detail };
    });
    if (stack && golden && !steps.failure) {
      await steps.run('ready', async () => {
        const deadline = t0 + timeoutMs;
        let last = '';
        while (Date.now() < deadline) {
          const dbid = await serverDbid(stack);
          const ready = await fetch(stack.url + stack.readyPath, { signal: AbortSignal.timeout(2000) }).then((r) => r.status).catch(() => 0);
          if (ready === 200 && dbid && dbid !== dbidBefore) {
            const v = await within(verifyAgainst(golden!, stack), 30_000, 'golden verification').catch((err: Error) => err);
            if (v instanceof Error) { last = v.message; await sleep(200); continue; }
            if (v.server.equal && v.sdk.equal) {
              phase('readySeconds', Date.now(), t0);
              return { ok: true, detail: { dbidBefore, dbidAfter: dbid, golden: { contexts: golden!.contexts.length, server: 'equal', sdk: 'equal', fingerprint: v.server.actualFingerprint } } };
            }
            last = `golden differs: ${JSON.stringify((v.server.equal ? v.sdk : v.server).differences[0])}`;
          } else last = `/ready ${ready}, dbid ${dbid ?? 'unreadable'} (before ${dbidBefore})`;
          await sleep(200);
        }
        return { ok: false, detail: { last }, failure: { message: `the server was not ready on the new timeline with golden matching within ${timeoutMs / 1000} s: ${last}` } };
      });
    }
    await sleep(1000); // commits after the switch, so the log's tail is on the new primary
    const log = await within(writer!.stop(), 15_000, 'stopping the writer');
    writer = undefined;
    await steps.run('commits', async () => {
      const loss = await commitsLost(writerConn, log);
      report.loss = { ...loss, clientOutageSeconds: outageAround(log, t0).seconds };
      report.rpoSeconds = loss.rpoSeconds;
      const detail = { ...report.loss, lost: loss.lost.slice(0, 20), failures: log.failures.length };
      // Asynchronous replication may lose the last commits (maximum_lag_on_failover bounds it); synchronous must not.
      if (ha.synchronous && loss.lost.length) return { ok: false, detail, failure: { object: 'fsdr_drill.ha_commit_log', message: `${loss.lost.length} acknowledged commit(s) lost with synchronous mode on` } };
      return { ok: true, detail };
    });
    await dropHaWriter(writerConn, log.run).catch(() => undefined);
    if (o.waitRejoin && report.newLeader) {
      await steps.run('rejoin', async () => {
        const deadline = Date.now() + timeoutMs;
        const leader = clients.get(report.newLeader!)!;
        while (Date.now() < deadline) {
          // Back as the leader sees it: streaming (with synchronous mode: its sync standby again).
          const m = (await leader.cluster().catch(() => undefined))?.members.find((x) => x.name === old.name);
          if (m && (ha.synchronous ? m.role === 'sync_standby' : /replica|standby/.test(m.role)) && /running|streaming/.test(m.state)) {
            phase('rejoinSeconds', Date.now(), t0);
            return { ok: true, detail: { node: old.name, seconds: report.phases.rejoinSeconds } };
          }
          await sleep(200);
        }
        return { ok: false, detail: {}, failure: { message: `${old.name} did not rejoin as a replica within ${timeoutMs / 1000} s` } };
      });
    }
  } catch (err) {
    if (!steps.failure) steps.failure = { step: 'drill', message: describeError(err) };
  } finally {
    await writer?.stop().catch(() => undefined);
  }
  report.rtoSeconds = report.phases.readySeconds ?? report.phases.clientReconnectSeconds;
  report.objectives = judgeObjectives('instance_failure', cfg.objectives.instanceFailure, { rtoSeconds: report.rtoSeconds, rpoSeconds: report.rpoSeconds },
    { rto: stack ? undefined : 'measured to the client reconnect (no stack section: /ready not checked)' });
  report.checks = { phases: report.phases, lease: report.lease, loss: report.loss, oldLeader: report.oldLeader, newLeader: report.newLeader };
  report.endTime = new Date().toISOString();
  report.result = steps.failure ? 'failed' : 'ok';
  if (steps.failure) report.failure = steps.failure;
  const repo = await Repository.open(cfg);
  try {
    await repo.drills.write(report);
  } catch (err) {
    report.checks.evidenceError = describeError(err);
  } finally {
    await repo.close();
  }
  return report;
}

export function formatInstanceDrill(r: InstanceDrillReport): string {
  const p = r.phases;
  const s = (v?: number) => (v === undefined ? '—' : `${v.toFixed(1)} s`);
  return [
    `drill ${r.id} (instance): ${r.result === 'ok' ? 'PASSED' : `FAILED at ${r.failure?.step}: ${r.failure?.message}`}`,
    `  killed ${r.oldLeader ?? '?'} (${(r.steps.find((x) => x.name === 'kill')?.detail as { how?: string } | undefined)?.how ?? 'not killed'}); new leader ${r.newLeader ?? '(none)'}`,
    `  lease: ttl ${r.lease.ttl} s, loop_wait ${r.lease.loopWait} s, retry_timeout ${r.lease.retryTimeout} s, primary_start_timeout ${r.lease.primaryStartTimeout} s, ${r.lease.synchronous ? 'synchronous' : 'asynchronous'}`,
    `  detection ${s(p.detectionSeconds)}  promotion ${s(p.promotionSeconds)}  client reconnect ${s(p.clientReconnectSeconds)}  /ready+golden ${s(p.readySeconds)}${p.rejoinSeconds !== undefined ? `  old leader rejoined ${s(p.rejoinSeconds)}` : ''}`,
    r.loss ? `  commits: ${r.loss.acknowledged} acknowledged, ${r.loss.lost.length} lost (RPO ${r.loss.rpoSeconds.toFixed(2)} s); client outage ${s(r.loss.clientOutageSeconds)}` : '  commits: not measured',
    `  RTO ${s(r.rtoSeconds)} (objective ${r.objectives?.rto.limitSeconds} s: ${r.objectives?.rto.met === true ? 'met' : r.objectives?.rto.met === false ? 'NOT MET' : 'unavailable'}), RPO ${r.rpoSeconds?.toFixed(2) ?? '—'} s (objective ${r.objectives?.rpo.limitSeconds} s: ${r.objectives?.rpo.met === true ? 'met' : r.objectives?.rpo.met === false ? 'NOT MET' : 'unavailable'})`,
  ].join('\n');
}
