// The agent's jobs: what each one runs, and when it last took effect, learned from the repository
// (the newest backup, dump or record), so a job missed while the agent was down is seen as overdue.
import { Readable } from 'node:stream';
import type { Config } from '../config/load.js';
import { describeError } from '../errors.js';
import { drillStartOf } from '../repository/drill-catalog.js';
import { goldenTimeOf } from '../repository/golden-catalog.js';
import type { Repository } from '../repository/repository.js';
import { log } from '../util/log.js';

export type JobName = 'backup' | 'dump' | 'expire' | 'replicate' | 'verify' | 'drill-verify' | 'drill-tabletop' | 'drill-restore' | 'drill-failover' | 'golden';
export const JOB_NAMES: JobName[] = ['backup', 'dump', 'expire', 'replicate', 'verify', 'drill-verify', 'drill-tabletop', 'drill-restore', 'drill-failover', 'golden'];

/** Each job's cron from the config; jobs that cannot run in this deployment are off. */
export function jobSchedules(cfg: Pick<Config, 'schedule' | 'cluster' | 'repositories' | 'stack' | 'regions' | 'drill'>): Record<JobName, string> {
  const s = cfg.schedule;
  const hasReplica = Object.keys(cfg.repositories).length > 1;
  return {
    backup: cfg.cluster ? s.backup : 'off',
    dump: cfg.cluster ? s.dump : 'off',
    expire: s.expire,
    replicate: hasReplica ? s.replicate : 'off',
    verify: s.verify,
    // Needs only the repository and PostgreSQL binaries, not the cluster: a standby-region host can run it.
    'drill-verify': s.drillVerify,
    'drill-tabletop': s.drillTabletop,
    // The quarterly restore drill starts the server on the copy: without stack.start it cannot run.
    'drill-restore': cfg.stack?.start ? s.drillRestore : 'off',
    // The biannual failover drill acts as both regions' nodes: only with regions and the peer's config.
    'drill-failover': cfg.regions && cfg.drill?.failover.peerConfig ? s.drillFailover : 'off',
    // Captures go through the FeatureSignals server: without a stack section there is none to ask.
    golden: cfg.stack ? s.golden : 'off',
  };
}

/** A golden capture after a backup, so every backup has one beside it; never fails the backup. */
async function goldenAfterBackup(cfg: Config): Promise<{ id: string } | { error: string } | undefined> {
  if (!cfg.stack) return undefined;
  try {
    const { runGoldenCapture } = await import('../commands/golden/golden.js');
    return { id: (await runGoldenCapture(cfg)).id };
  } catch (err) {
    const error = describeError(err);
    log().warn({ job: 'backup', error }, 'golden capture after the backup failed (the backup itself succeeded)');
    return { error };
  }
}

export interface Job {
  name: JobName;
  /** deletes objects: runs alone among this agent's jobs */
  exclusive?: boolean;
  /**
   * Under Patroni, only the leader's agent runs it. Backups and dumps: a backup waits for its stop
   * segment to be archived, which only the leader does (archive_mode = on), and it reads the data
   * directory of a node that can be demoted and rewound under it; the leader is the one node whose
   * data is by definition current. Repository-only jobs run wherever their lease falls.
   */
  leaderOnly?: boolean;
  run(): Promise<unknown>;
  /** When the job last took effect, as the repository shows it; undefined if never. */
  lastEffect(): Promise<Date | undefined>;
}

/** Records of jobs that leave no other trace (expire, verify): runs/<job>/<time>.json, written once. */
async function record(repo: Repository, job: string, summary: unknown): Promise<void> {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  await repo.objects.put(`runs/${job}/${t}-${process.pid}.json`, Readable.from([Buffer.from(JSON.stringify(summary))]));
}

async function newestRecord(repo: Repository, job: string): Promise<Date | undefined> {
  let last: Date | undefined;
  for await (const o of repo.storage.list(`runs/${job}/`)) {
    const m = /(\d{8}T\d{6}Z)-\d+\.json$/.exec(o.key);
    if (m) {
      const t = new Date(m[1]!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      if (!last || t > last) last = t;
    }
  }
  return last;
}

export function buildJobs(cfg: Config, repo: Repository): Record<JobName, Job> {
  return {
    backup: {
      name: 'backup',
      leaderOnly: true,
      run: async () => {
        const { runBackup } = await import('../commands/backup/backup.js');
        const m = await runBackup(cfg, { type: cfg.schedule.backupType, processes: cfg.backup.processes, bundleBytes: cfg.backup.bundleSizeMiB * 1048576, quiet: true });
        return { id: m.id, bytes: m.totals.bytes, storedBytes: m.totals.storedBytes, golden: await goldenAfterBackup(cfg) };
      },
      lastEffect: async () => {
        const ids = await repo.backups.ids();
        return ids.length ? new Date((await repo.backups.read(ids[ids.length - 1]!)).startTime) : undefined;
      },
    },
    dump: {
      name: 'dump',
      leaderOnly: true,
      run: async () => {
        const { runDump } = await import('../commands/dump/dump.js');
        const m = await runDump(cfg);
        return { id: m.id, databases: m.databases.length };
      },
      lastEffect: async () => {
        const ids = await repo.dumps.ids();
        return ids.length ? new Date((await repo.dumps.read(ids[ids.length - 1]!)).startTime) : undefined;
      },
    },
    expire: {
      name: 'expire',
      exclusive: true,
      run: async () => {
        const { runExpire } = await import('../commands/expire/expire.js');
        const r = await runExpire(cfg, { dryRun: false });
        const summary = { expiredBackups: r.expireBackups, expiredDumps: r.expireDumps, expiredWal: r.expireWal.length, pendingLocked: r.pendingLocked.length, alarms: r.alarms };
        await record(repo, 'expire', summary);
        if (r.alarms) throw new Error(`expire found ${r.alarms} kept object(s) deleted outside fsdr: first ${r.foreignDeletes.find((f) => f.alarm)!.key}`);
        return summary;
      },
      lastEffect: () => newestRecord(repo, 'expire'),
    },
    replicate: {
      name: 'replicate',
      run: async () => {
        const { runReplicate } = await import('../commands/replicate/replicate.js');
        return (await runReplicate(cfg)).map((r) => ({ replica: r.replica, copied: r.copied, bytes: r.bytes }));
      },
      // Replication is judged by lag (the monitor), not by its last run: treat it as always due at start.
      lastEffect: async () => undefined,
    },
    verify: {
      name: 'verify',
      run: async () => {
        const { runVerify } = await import('../commands/verify/verify.js');
        const r = await runVerify(cfg, {});
        const summary = { backups: r.backups.length, objects: r.objectsChecked, faults: r.faults };
        await record(repo, 'verify', summary);
        if (r.faults.length) throw new Error(`verification found ${r.faults.length} fault(s): first ${r.faults[0]!.object}: ${r.faults[0]!.problem}`);
        return summary;
      },
      lastEffect: () => newestRecord(repo, 'verify'),
    },
    'drill-verify': {
      name: 'drill-verify',
      run: async () => {
        const { runDrillVerify } = await import('../commands/drill/drill.js');
        const { evidence: e } = await runDrillVerify(cfg, {});
        const summary = { id: e.id, result: e.result, rtoSeconds: e.rtoSeconds, rpoExposureSeconds: e.rpoExposureSeconds };
        if (e.failure) throw new Error(`drill ${e.id} failed at step ${e.failure.step}${e.failure.object ? ` (${e.failure.object})` : ''}: ${e.failure.message}`);
        return summary;
      },
      // A failed drill took effect too (its evidence is the record); retries cover transient failures.
      lastEffect: async () => {
        const ids = await repo.drills.ids('verify');
        return ids.length ? drillStartOf(ids[ids.length - 1]!) : undefined;
      },
    },
    'drill-tabletop': {
      name: 'drill-tabletop',
      // Prepares the month's agenda and records it with nobody listed: the evidence says prepared,
      // not held, until someone runs it with --participants.
      run: async () => {
        const { runTabletop } = await import('../commands/drill/tabletop.js');
        const e = await runTabletop(cfg, {});
        return { id: e.id, result: e.result, participants: e.participants };
      },
      lastEffect: async () => {
        const ids = await repo.drills.ids('tabletop');
        return ids.length ? drillStartOf(ids[ids.length - 1]!) : undefined;
      },
    },
    'drill-restore': {
      name: 'drill-restore',
      run: async () => {
        const { runDrillRestore } = await import('../commands/drill/drill-restore.js');
        const e = await runDrillRestore(cfg, {});
        const summary = { id: e.id, result: e.result, rtoSeconds: e.rtoSeconds, objectives: e.objectives };
        if (e.failure) throw new Error(`drill ${e.id} failed at step ${e.failure.step}: ${e.failure.message}`);
        return summary;
      },
      lastEffect: async () => {
        const ids = await repo.drills.ids('restore');
        return ids.length ? drillStartOf(ids[ids.length - 1]!) : undefined;
      },
    },
    'drill-failover': {
      name: 'drill-failover',
      run: async () => {
        const { runDrillFailover } = await import('../commands/drill/drill-failover.js');
        const e = await runDrillFailover(cfg, { confirm: true, readyTimeoutMs: cfg.drill.readyTimeoutSeconds * 1000, catchUpTimeoutMs: cfg.drill.timeoutSeconds * 1000 });
        const summary = { id: e.id, result: e.result, rtoSeconds: e.rtoSeconds, rpoSeconds: e.rpoSeconds, objectives: e.objectives };
        if (e.failure) throw new Error(`drill ${e.id} failed at step ${e.failure.step}: ${e.failure.message}`);
        return summary;
      },
      lastEffect: async () => {
        const ids = await repo.drills.ids('regional');
        return ids.length ? drillStartOf(ids[ids.length - 1]!) : undefined;
      },
    },
    golden: {
      name: 'golden',
      run: async () => {
        const { runGoldenCapture, summariseGolden } = await import('../commands/golden/golden.js');
        const s = summariseGolden(await runGoldenCapture(cfg));
        return { id: s.id, fingerprint: s.fingerprint, lsn: s.lsn, envs: Object.fromEntries(Object.entries(s.envs).map(([env, e]) => [env, e.version])) };
      },
      // The newest capture, whichever job took it (a capture after a backup counts too).
      lastEffect: async () => {
        const ids = await repo.golden.ids();
        return ids.length ? goldenTimeOf(ids[ids.length - 1]!) : undefined;
      },
    },
  };
}
