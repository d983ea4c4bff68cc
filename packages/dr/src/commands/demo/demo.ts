// fsdr demo: the plan's "database corruption" scenario, end to end, on the embedded default.
// A local cluster archives into a local repository, takes a base backup and serves flag writes;
// then a bad migration deletes every flag and the data directory is lost. fsdr restores to the
// moment before, on a new instance, proves the data is exactly as it was, and measures RPO and RTO.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { loadConfig } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { newClient } from '../../postgres/cluster.js';
import { stopInstance } from '../../postgres/instance.js';
import { runBackup } from '../backup/backup.js';
import { clusterIdentity, initRepository } from '../init/init.js';
import { runRestore } from '../restore/restore.js';
import { freePort, startDemoStack } from './demo-stack.js';

export interface DemoReport {
  dir: string;
  backup: string;
  goodWrites: number;
  lastGoodWriteAt: string;
  disasterAt: string;
  recoveredTo: string | null;
  rows: { before: number; afterDisaster: number; restored: number };
  checksumMatches: boolean;
  rpoSeconds: number;
  rtoSeconds: number;
  objectives: { rpoSeconds: number; rtoSeconds: number };
}

const CONTENT = `SELECT count(*)::int AS n, coalesce(md5(string_agg(key || ':' || enabled || ':' || rollout_bp, ',' ORDER BY key)), '') AS sum FROM flags`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connectWhenReady(connection: string, timeoutMs = 60_000): Promise<pg.Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = newClient({ connectionString: connection, connectionTimeoutMillis: 2000 }, 'fsdr demo');
    try {
      await c.connect();
      return c;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new FsdrError('FSDR_DEMO', `the demo cluster did not start: ${(err as Error).message}`);
      await sleep(200);
    }
  }
}

export async function runDemo(opts: { dir?: string; keep?: boolean; say: (line: string) => void }): Promise<DemoReport> {
  const say = opts.say;
  say('1/6 starting a local PostgreSQL that archives its WAL through fsdr into a local repository');
  const stack = await startDemoStack(opts.dir);
  let restoredPgdata: string | undefined;
  try {
    const db = await connectWhenReady(stack.connection);
    const cfg = loadConfig(stack.configPath);
    await initRepository(cfg, 'primary', await clusterIdentity(cfg));
    await db.query(`CREATE TABLE flags (key text PRIMARY KEY, enabled boolean NOT NULL, rollout_bp int NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await db.query(`INSERT INTO flags (key, enabled, rollout_bp) SELECT 'flag-' || g, g % 2 = 0, (g * 137) % 10000 FROM generate_series(1, 200) g`);

    say('2/6 taking a base backup');
    const backup = await runBackup(cfg, { type: 'full', processes: 2, bundleBytes: 64 << 20, quiet: true });
    say(`    backup ${backup.id}: ${backup.totals.files} files, ${(backup.totals.bytes / 1048576).toFixed(1)} MiB`);

    say('3/6 serving flag changes (each one committed with its time)');
    let goodWrites = 0;
    for (let i = 0; i < 20; i++) {
      await db.query(`UPDATE flags SET enabled = NOT enabled, rollout_bp = (rollout_bp + 101) % 10000, updated_at = clock_timestamp() WHERE key = $1`, [`flag-${1 + ((i * 37) % 200)}`]);
      goodWrites++;
      await sleep(100);
    }
    const good = (await db.query<{ n: number; sum: string; t: Date }>(`${CONTENT.replace(' FROM flags', ', max(updated_at) AS t FROM flags')}`)).rows[0]!;
    await sleep(1100);
    const target = new Date();
    await sleep(1100);

    say('4/6 DISASTER: a bad migration deletes every flag, then the data directory is lost');
    const disasterAt = new Date();
    await db.query('DELETE FROM flags');
    const after = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM flags')).rows[0]!.n;
    const seg = (await db.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    for (let i = 0; i < 300; i++) {
      const r = (await db.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!;
      if (r.w && r.w >= seg) break;
      await sleep(100);
    }
    await db.end();
    await stack.stop();
    await rm(stack.pgdata, { recursive: true, force: true });

    say(`5/6 restoring to ${target.toISOString()} (before the disaster) on a new instance`);
    const t0 = Date.now();
    restoredPgdata = join(stack.dir, 'pg-restored');
    const port = await freePort();
    const restored = await runRestore(cfg, {
      pgdata: restoredPgdata, port, target: { kind: 'time', value: target.toISOString() }, start: true,
      archive: false, set: { listen_addresses: '127.0.0.1' }, processes: 2, timeoutMs: 600_000, quiet: true,
    });
    const rto = (Date.now() - t0) / 1000;

    say('6/6 checking the restored data against what was committed before the disaster');
    const check = await connectWhenReady(`postgres://postgres@127.0.0.1:${port}/postgres`);
    const got = (await check.query<{ n: number; sum: string; t: Date }>(`${CONTENT.replace(' FROM flags', ', max(updated_at) AS t FROM flags')}`)).rows[0]!;
    await check.end();
    // RPO: committed good data that the restore does not have (0 when the last good write is back).
    const rpo = Math.max(0, (good.t.getTime() - (got.t ? new Date(got.t).getTime() : 0)) / 1000);
    const report: DemoReport = {
      dir: stack.dir,
      backup: backup.id,
      goodWrites,
      lastGoodWriteAt: good.t.toISOString(),
      disasterAt: disasterAt.toISOString(),
      recoveredTo: restored.recoveredTo?.time ?? null,
      rows: { before: good.n, afterDisaster: after, restored: got.n },
      checksumMatches: got.sum === good.sum,
      rpoSeconds: rpo,
      rtoSeconds: rto,
      objectives: { rpoSeconds: 300, rtoSeconds: 1800 },
    };
    if (!report.checksumMatches) throw new FsdrError('FSDR_DEMO_MISMATCH', `the restored flags differ from the flags before the disaster (${got.n} rows vs ${good.n})`);
    return report;
  } finally {
    if (restoredPgdata) await stopInstance(stack.binDir, restoredPgdata, stack.user, 'fast').catch(() => undefined);
    await stack.stop();
    if (!opts.keep && !opts.dir) await rm(stack.dir, { recursive: true, force: true });
  }
}

export function formatDemo(r: DemoReport): string {
  const ok = (v: number, limit: number) => (v < limit ? 'met' : 'MISSED');
  return [
    '',
    `restored ${r.rows.restored} flags (before the disaster: ${r.rows.before}, after it: ${r.rows.afterDisaster}); content checksum ${r.checksumMatches ? 'identical' : 'DIFFERENT'}`,
    `last good write ${r.lastGoodWriteAt}, disaster ${r.disasterAt}, recovered to ${r.recoveredTo ?? '-'}`,
    '',
    'scenario: database corruption (single AZ)   measured        objective',
    `  RPO (data lost)                            ${r.rpoSeconds.toFixed(1).padStart(6)} s        < 5 min   ${ok(r.rpoSeconds, r.objectives.rpoSeconds)}`,
    `  RTO (restore to a verified instance)       ${r.rtoSeconds.toFixed(1).padStart(6)} s        < 30 min  ${ok(r.rtoSeconds, r.objectives.rtoSeconds)}`,
  ].join('\n');
}
