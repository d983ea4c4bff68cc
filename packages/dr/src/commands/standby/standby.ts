// `fsdr standby start|status|stop`: the warm standby of the standby region, built from its own
// repository alone (the replica `fsdr replicate` fills) and replaying from it, so it works while
// the primary region is gone. After promotion it archives into that same repository.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/load.js';
import { otherRegion, selfRegion } from '../../config/regions.js';
import { FsdrError } from '../../errors.js';
import { repositoryLag, type RepositoryLag } from '../../failover/lag.js';
import { makeStandby } from '../../failover/standby-files.js';
import { findBinDir } from '../../postgres/binaries.js';
import { connect } from '../../postgres/cluster.js';
import { lastFatal, postmasterAlive, startInstance, stopInstance } from '../../postgres/instance.js';
import { serverUser } from '../../postgres/os-user.js';
import { readReplay } from '../../postgres/replay.js';
import { Repository } from '../../repository/repository.js';
import { probe } from '../../stack/readiness.js';
import { startServer } from '../../stack/start-server.js';
import { isWarm, processStart, readWarmServer, saveWarmServer, stopWarmServer, waitWarm, type WarmServerState } from '../../stack/warm-server.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import { pgUrl, serverLogFile } from '../recover/recovered-stack.js';
import { shQuote } from '../restore/recovery-settings.js';
import { runRestore } from '../restore/restore.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export function needRegions(cfg: Config): NonNullable<Config['regions']> {
  if (!cfg.regions) throw new FsdrError('FSDR_NO_REGIONS', 'this needs regions: in the configuration (a primary and a standby region)', { hint: 'see "Regional failover" in README.md', exitCode: 2 });
  return cfg.regions;
}

export function clusterPort(connection: string): number {
  return Number(new URL(connection).port || 5432);
}

/** archive_command of this region's node: its own config, so a promoted standby archives into its own repository. */
export function ownArchiveCommand(cfg: Config): string {
  return `FSDR_CONFIG=${shQuote(cfg.source)} ${shQuote(process.execPath)} ${shQuote(FSDR_BIN)} wal-push %p`;
}

export interface StandbyStartResult {
  region: string;
  backup: string;
  pgdata: string;
  port: number;
  logFile: string;
  seconds: number;
  /** with --stack: the region's FeatureSignals server, running read-only and warm on the standby */
  stack?: WarmServerState & { seconds: number; ready: { status: number; body: unknown } };
}

/** The database of `stack.database` on this node's cluster, as the server is given it. */
export function stackDatabase(cfg: Config): { host: string; port: number; user: string; password?: string; database: string } {
  const u = new URL(cfg.cluster!.connection);
  return { host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username || 'postgres'), password: u.password ? decodeURIComponent(u.password) : undefined, database: cfg.stack?.database ?? 'postgres' };
}

/**
 * The region's server started on the hot standby and left running: it cannot write there (its
 * /ready stays 503 naming the recovery) but its cache is warm, so a failover only waits for /ready.
 */
export async function startWarmStack(cfg: Config, pgdata: string, readyTimeoutMs: number): Promise<NonNullable<StandbyStartResult['stack']>> {
  const stack = cfg.stack;
  if (!stack?.start) throw new FsdrError('FSDR_NO_STACK_START', 'standby start --stack needs stack.start (how to run the FeatureSignals server) in this region', { hint: 'set regions.<region>.stack.start, or drop --stack', exitCode: 2 });
  await stopWarmServer(pgdata);
  const t0 = Date.now();
  const configured = Number(stack.start.env.PORT);
  const port = Number.isInteger(configured) && configured > 0 ? configured : await freeLoopbackPort();
  const url = stack.start.checkUrl?.replace(/\/+$/, '') ?? `http://127.0.0.1:${port}`;
  const server = startServer(stack.start, pgUrl(stackDatabase(cfg)), port, serverLogFile(pgdata));
  const state: WarmServerState = { pid: server.pid, procStart: processStart(server.pid), port, url, logFile: server.logFile, startedAt: new Date().toISOString() };
  try {
    const ready = await waitWarm(server, url, { health: stack.healthPath, ready: stack.readyPath }, readyTimeoutMs);
    saveWarmServer(pgdata, state);
    return { ...state, seconds: (Date.now() - t0) / 1000, ready };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export async function standbyStart(cfg: Config, o: { processes: number; timeoutMs: number; stack?: boolean; readyTimeoutMs?: number }): Promise<StandbyStartResult> {
  const r = needRegions(cfg);
  const self = selfRegion(r);
  const pgdata = cfg.cluster!.pgdata;
  const port = clusterPort(cfg.cluster!.connection);
  const t0 = Date.now();
  const res = await runRestore(cfg, {
    pgdata, port, target: { kind: 'latest' }, start: false, archive: true, timeline: 'latest', acceptGap: true,
    // Its socket outside the data directory (restore's default is inside): pg_rewind from this
    // node, once it is the primary, copies the data directory and cannot read a socket in it.
    set: { archive_command: ownArchiveCommand(cfg), hot_standby: 'on', unix_socket_directories: '/tmp' }, processes: o.processes, timeoutMs: o.timeoutMs, repository: 'primary', quiet: true,
  });
  await makeStandby(pgdata);
  await startStandbyInstance(cfg, findBinDir(res.pgMajor, cfg.cluster?.binDir), pgdata, res.logFile, o.timeoutMs);
  const out: StandbyStartResult = { region: self, backup: res.backup, pgdata, port, logFile: res.logFile, seconds: (Date.now() - t0) / 1000 };
  if (o.stack) out.stack = await startWarmStack(cfg, pgdata, o.readyTimeoutMs ?? 120_000);
  return out;
}

/** Starts a standby directory and waits until it accepts connections, in recovery. */
export async function startStandbyInstance(cfg: Config, binDir: string, pgdata: string, logFile: string, timeoutMs: number): Promise<void> {
  const from = existsSync(logFile) ? statSync(logFile).size : 0;
  await startInstance(binDir, pgdata, logFile, serverUser());
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let seen = false;
  for (;;) {
    // A postmaster that refused the directory (a timeline it cannot follow, a missing WAL file)
    // exits at once: say why from its log instead of waiting out the timeout.
    const alive = postmasterAlive(pgdata);
    seen ||= alive;
    if (!alive) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(from) : '';
      if (seen || Date.now() - t0 > 15_000 || /FATAL|PANIC|database system is shut down/.test(log)) {
        throw new FsdrError('FSDR_STANDBY_EXITED', `the standby at ${pgdata} exited during startup: ${lastFatal(log)}`, { hint: `see ${logFile}` });
      }
    }
    try {
      const c = await connect(cfg.cluster!.connection, 'fsdr standby');
      try {
        if ((await readReplay(c)).inRecovery) break;
        throw new FsdrError('FSDR_STANDBY_PROMOTED', `the standby at ${pgdata} left recovery on its own`, { hint: `see ${logFile}` });
      } finally {
        await c.end().catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof FsdrError && err.code === 'FSDR_STANDBY_PROMOTED') throw err;
      if (Date.now() > deadline) throw new FsdrError('FSDR_STANDBY_START', `the standby at ${pgdata} did not accept connections within ${timeoutMs / 1000}s`, { hint: `see ${logFile}` });
      await new Promise((x) => setTimeout(x, 300));
    }
  }
}

export interface StandbyStatus {
  region: string;
  inRecovery: boolean;
  timeline: number;
  replayLsn: string;
  replayedAt: string | null;
  repository: RepositoryLag;
  /** Against the other region's cluster, when it answers. */
  primary: { reachable: boolean; lsn?: string; bytes?: number; error?: string };
  /** the warm server of `standby start --stack`, when one runs */
  stack?: { pid: number; url: string; warm: boolean; ready?: number };
}

async function archivedSegments(cfg: Config): Promise<{ segments: Array<{ name: string; lastModified: Date }>; walSegmentSize: number }> {
  const repo = await Repository.open(cfg);
  try {
    const info = await repo.readInfo();
    const segments = [];
    for await (const w of repo.wal.list()) segments.push({ name: w.name, lastModified: w.lastModified });
    return { segments, walSegmentSize: info.walSegmentSize };
  } finally {
    await repo.close();
  }
}

export async function standbyStatus(cfg: Config): Promise<StandbyStatus> {
  const r = needRegions(cfg);
  const self = selfRegion(r);
  const c = await connect(cfg.cluster!.connection, 'fsdr standby');
  let st;
  try {
    st = await readReplay(c);
  } finally {
    await c.end().catch(() => undefined);
  }
  const { segments, walSegmentSize } = await archivedSegments(cfg);
  const out: StandbyStatus = {
    region: self, inRecovery: st.inRecovery, timeline: st.timeline, replayLsn: st.lsnText, replayedAt: st.replayedAt,
    repository: repositoryLag(st.lsn, segments, walSegmentSize, new Date()), primary: { reachable: false },
  };
  const other = r.members[otherRegion(r, self)]!;
  try {
    const p = await connect(other.cluster.connection, 'fsdr standby');
    try {
      const ps = await readReplay(p);
      out.primary = { reachable: true, lsn: ps.lsnText, bytes: ps.lsn > st.lsn ? Number(ps.lsn - st.lsn) : 0 };
    } finally {
      await p.end().catch(() => undefined);
    }
  } catch (err) {
    out.primary = { reachable: false, error: (err as Error).message };
  }
  const warm = readWarmServer(cfg.cluster!.pgdata);
  if (warm) {
    const p = await probe(warm.url + (cfg.stack?.readyPath ?? '/ready'));
    out.stack = { pid: warm.pid, url: warm.url, warm: isWarm(p), ready: p?.status };
  }
  return out;
}

export async function standbyStop(cfg: Config): Promise<{ pgdata: string; stopped: boolean; stackStopped: boolean }> {
  needRegions(cfg);
  const pgdata = cfg.cluster!.pgdata;
  const stackStopped = await stopWarmServer(pgdata);
  const version = Number(readFileSync(join(pgdata, 'PG_VERSION'), 'utf8').trim());
  await stopInstance(findBinDir(version, cfg.cluster?.binDir), pgdata, serverUser(), 'fast');
  return { pgdata, stopped: true, stackStopped };
}

export function formatStandbyStatus(s: StandbyStatus): string {
  const repo = s.repository;
  return [
    `region ${s.region}: ${s.inRecovery ? 'standby (replaying)' : 'primary (not in recovery)'} on timeline ${s.timeline}, replayed to ${s.replayLsn}${s.replayedAt ? ` (last commit ${s.replayedAt})` : ''}`,
    `repository: newest ${repo.newestSegment ?? '(none)'}; behind ${repo.bytes} bytes, ${repo.seconds.toFixed(1)} s`,
    s.primary.reachable ? `primary: at ${s.primary.lsn}; behind ${s.primary.bytes} bytes` : `primary: unreachable (${s.primary.error})`,
    ...(s.stack ? [`stack: pid ${s.stack.pid} at ${s.stack.url}, ${s.stack.warm ? 'warm' : 'not warm'} (ready ${s.stack.ready ?? 'no answer'})`] : []),
  ].join('\n');
}
