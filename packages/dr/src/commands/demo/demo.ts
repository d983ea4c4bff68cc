// fsdr demo: the plan's "database corruption" scenario told end to end with the real parts, on the
// embedded default. A local cluster archives into a local repository; the FeatureSignals server
// (with Redis) runs on it and an application's SDK follows it by streaming; a base backup and a
// golden capture are taken; audited flag changes are made; then a bad migration deletes every
// flag and the data directory is lost. `fsdr recover` restores to the moment before on a new
// instance, starts the server there, proves /ready and the golden evaluations, runs the
// integration checks and only then rewrites the application's connection file. The SDK, pointed
// at the recovered server, must see exactly what it saw before the disaster.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlagClient } from '@featuresignals/sdk';
import type pg from 'pg';
import { loadConfig } from '../../config/load.js';
import { FsdrError } from '../../errors.js';
import { judgeObjectives, type ObjectivesReport } from '../../drills/objectives.js';
import { newClient } from '../../postgres/cluster.js';
import { stopInstance } from '../../postgres/instance.js';
import type { DrillStep } from '../../repository/drill-catalog.js';
import { runBackup } from '../backup/backup.js';
import { runGoldenCapture } from '../golden/golden.js';
import { clusterIdentity, initRepository } from '../init/init.js';
import { runRecover, type RecoverReport } from '../recover/recover.js';
import { addStackConfig, startDemoStack, writeSecret } from './demo-stack.js';
import { connectSdk, demoUsers, sdkView, serverView, waitSynced, seedShop, startDemoRedis, startDemoServer, waitView, type DemoRedis, type DemoServer } from './demo-featuresignals.js';

export interface DemoReport {
  dir: string;
  backup: string;
  golden: string;
  redis: boolean;
  flags: number;
  /** audited changes made through the management API after the golden capture */
  goodWrites: number;
  lastGoodWriteAt: string;
  target: string;
  disasterAt: string;
  recover: { id: string; result: string; steps: Array<{ name: string; ok: boolean; seconds: number }>; recoveredTo: string | null; changedAfterCapture: string[]; rtoSeconds?: number; serverPid: number; port: number };
  /** the application's connection file before and after the switch (passwords redacted) */
  connectionFile: { path: string; before: string; after: string };
  /** flags the SDK saw before the disaster, right after it, and from the recovered server */
  sdk: { evaluations: number; missingAfterDisaster: number; identicalAfterRecovery: boolean; differences: string[] };
  /** good writes missing from the recovered database (RPO is measured from them) */
  lostWrites: number;
  rpoSeconds: number;
  rtoSeconds: number;
  objectives: ObjectivesReport;
}

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

async function waitArchived(db: pg.Client): Promise<void> {
  const seg = (await db.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
  for (let i = 0; i < 600; i++) {
    const r = (await db.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver')).rows[0]!;
    if (r.w && r.w >= seg) return;
    await sleep(100);
  }
  throw new FsdrError('FSDR_DEMO', `WAL segment ${seg} was not archived within 60 s`);
}

export async function runDemo(opts: { dir?: string; keep?: boolean; say: (line: string) => void }): Promise<DemoReport> {
  const say = opts.say;
  say('1/7 starting a local PostgreSQL that archives its WAL through fsdr into a local repository, Redis and the FeatureSignals server');
  const stack = await startDemoStack(opts.dir);
  let redis: DemoRedis | undefined;
  let fs: DemoServer | undefined;
  const sdks: FlagClient[] = [];
  let recovered: RecoverReport | undefined;
  try {
    const db = await connectWhenReady(stack.connection);
    await initRepository(loadConfig(stack.configPath), 'primary', await clusterIdentity(loadConfig(stack.configPath)));
    await db.query('CREATE DATABASE featuresignals');
    const fsUrl = stack.connection.replace(/\/postgres$/, '/featuresignals');
    const adminToken = randomBytes(24).toString('hex');
    redis = await startDemoRedis();
    fs = await startDemoServer(fsUrl, adminToken, redis?.url);
    say(`    FeatureSignals at ${fs.url}${redis ? ` with Redis at ${redis.url}` : ' (no redis-server installed: running without its Redis mirror)'}`);

    say('2/7 an operator creates project "shop" (prod, a segment, 24 flags) through the management API; an application SDK follows it by streaming');
    const shop = await seedShop(fs);
    const switchFile = join(stack.dir, 'featuresignals.env');
    writeFileSync(switchFile, `DATABASE_URL=${fsUrl}\n`, { mode: 0o600 });
    addStackConfig(stack, {
      serverUrl: fs.url, redisUrl: redis?.url, switchFile,
      keyFile: writeSecret(stack, 'prod.key', shop.key), adminTokenFile: writeSecret(stack, 'admin.token', adminToken),
    });
    const cfg = loadConfig(stack.configPath);
    const users = demoUsers(50);
    const app = await connectSdk(fs.url, shop.key);
    sdks.push(app);

    say('3/7 a base backup and a golden capture (every flag evaluated for a spread of users, stored encrypted in the repository)');
    const backup = await runBackup(cfg, { type: 'full', processes: 2, bundleBytes: 64 << 20, quiet: true });
    const golden = await runGoldenCapture(cfg);
    const capturedAt = Date.now();
    say(`    backup ${backup.id}: ${backup.totals.files} files, ${(backup.totals.bytes / 1048576).toFixed(1)} MiB; golden ${golden.id}`);

    say('4/7 the team changes flags after the capture (audited): each acknowledged with its time');
    const fsDb = await connectWhenReady(fsUrl);
    const writes: Array<{ seq: number; ackAt: number }> = [];
    for (let i = 0; i < 5; i++) {
      const flag = shop.flags[(i * 5) % shop.flags.length]!;
      await fs.admin('PUT', `/v1/projects/${shop.projectId}/flags/${flag}/environments/${shop.envId}`, { enabled: false });
      const ackAt = Date.now();
      writes.push({ seq: Number((await fsDb.query<{ s: string }>('SELECT max(seq) AS s FROM audit_logs')).rows[0]!.s), ackAt });
      await sleep(200);
    }
    // The SDK has caught up when its local evaluations equal the server's own (bulk endpoint).
    await waitSynced(fs.url, shop.key, Number((await fsDb.query<{ v: string }>(`SELECT config_version AS v FROM environments WHERE slug = 'prod'`)).rows[0]!.v));
    const served = await serverView(fs.url, shop.key, shop.flags, users);
    const before = await waitView(app, shop.flags, users, (v) => JSON.stringify(v) === JSON.stringify(served), 'the changes');
    await sleep(1100);
    const target = new Date();
    await sleep(1100);

    say('5/7 DISASTER: a bad migration deletes every flag, then the data directory is lost');
    const disasterAt = new Date();
    await fsDb.query('DELETE FROM flags');
    await fsDb.end();
    const broken = await waitView(app, shop.flags, users, (v) => Object.values(v).every((x) => x === 'NOT_FOUND'), 'the flags disappear');
    say(`    the application's SDK now finds ${Object.values(broken).filter((x) => x === 'NOT_FOUND').length} of ${Object.keys(broken).length} evaluations NOT_FOUND`);
    await waitArchived(db);
    await db.end();
    app.close();
    await fs.server.close();
    fs = undefined;
    await stack.stop();
    await rm(stack.pgdata, { recursive: true, force: true });
    const connBefore = readFileSync(switchFile, 'utf8');

    say(`6/7 fsdr recover --target-time ${target.toISOString()}: new instance, server, /ready, golden, integration, then the switch`);
    recovered = await runRecover(cfg, {
      pgdata: join(stack.dir, 'pg-recovered'), target: { kind: 'time', value: target.toISOString() }, switchTraffic: true,
      timeoutMs: 600_000, readyTimeoutMs: 60_000,
      onStep: (s: DrillStep) => say(`    ${s.ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(12)} ${s.seconds.toFixed(2).padStart(6)} s`),
    });
    if (recovered.result !== 'ok') throw new FsdrError('FSDR_DEMO', `fsdr recover failed at ${recovered.failure?.step}: ${recovered.failure?.message}`);
    const g = recovered.checks.golden as { changedAfterCapture: Array<{ env: string; flag: string }> };

    say('7/7 the application SDK against the recovered server, and the data against what was acknowledged');
    const after = await connectSdk(recovered.stack!.serverUrl, shop.key);
    sdks.push(after);
    const now = sdkView(after, shop.flags, users);
    const differences = Object.keys(before).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]));
    const copy = await connectWhenReady(`postgres://postgres@127.0.0.1:${recovered.stack!.port}/featuresignals`);
    const copyMax = Number((await copy.query<{ s: string }>('SELECT max(seq) AS s FROM audit_logs')).rows[0]!.s);
    await copy.end();
    // RPO: the last acknowledged good write minus the newest good write the recovered copy holds
    // (the golden capture's time when it holds none: golden matched, so it holds that state).
    const present = writes.filter((w) => w.seq <= copyMax);
    const lastAck = writes[writes.length - 1]!.ackAt;
    const rpo = present.length === writes.length ? 0 : (lastAck - (present.at(-1)?.ackAt ?? capturedAt)) / 1000;
    const restoreStep = recovered.steps.find((s) => s.name === 'restore')?.detail as { recoveredTo?: { time?: string } } | undefined;
    const rto = recovered.rtoSeconds ?? NaN;
    const report: DemoReport = {
      dir: stack.dir,
      backup: backup.id,
      golden: golden.id,
      redis: !!redis,
      flags: shop.flags.length,
      goodWrites: writes.length,
      lastGoodWriteAt: new Date(lastAck).toISOString(),
      target: target.toISOString(),
      disasterAt: disasterAt.toISOString(),
      recover: {
        id: recovered.id, result: recovered.result, steps: recovered.steps.map((s) => ({ name: s.name, ok: s.ok, seconds: s.seconds })),
        recoveredTo: restoreStep?.recoveredTo?.time ?? null, changedAfterCapture: g.changedAfterCapture.map((c) => `${c.env}/${c.flag}`), rtoSeconds: recovered.rtoSeconds,
        serverPid: recovered.stack!.serverPid, port: recovered.stack!.port,
      },
      connectionFile: { path: switchFile, before: connBefore, after: readFileSync(switchFile, 'utf8') },
      sdk: { evaluations: Object.keys(before).length, missingAfterDisaster: Object.values(broken).filter((x) => x === 'NOT_FOUND').length, identicalAfterRecovery: differences.length === 0, differences: differences.slice(0, 10) },
      lostWrites: writes.length - present.length,
      rpoSeconds: rpo,
      rtoSeconds: rto,
      objectives: judgeObjectives('database_corruption', cfg.objectives.databaseCorruption, { rtoSeconds: rto, rpoSeconds: rpo }),
    };
    if (differences.length) throw new FsdrError('FSDR_DEMO_MISMATCH', `the SDK sees ${differences.length} evaluations differ from before the disaster after recovery, e.g. ${differences[0]}`);
    return report;
  } finally {
    for (const c of sdks) c.close();
    await fs?.server.close().catch(() => undefined);
    if (recovered?.stack) {
      try { process.kill(-recovered.stack.serverPid, 'SIGTERM'); } catch { /* gone */ }
      await stopInstance(stack.binDir, recovered.stack.pgdata, stack.user, 'fast').catch(() => undefined);
    }
    await redis?.stop();
    await stack.stop();
    if (!opts.keep && !opts.dir) await rm(stack.dir, { recursive: true, force: true });
  }
}

export function formatDemo(r: DemoReport): string {
  const o = r.objectives;
  const verdict = (met: boolean | null) => (met ? 'met' : met === false ? 'NOT MET' : 'unavailable');
  return [
    '',
    `recover ${r.recover.id}: ${r.recover.result}; recovered to ${r.recover.recoveredTo ?? '-'} (target ${r.target}, disaster ${r.disasterAt})`,
    `golden evaluations matched; changed after the capture (audited): ${r.recover.changedAfterCapture.join(', ') || 'none'}`,
    `the SDK sees ${r.sdk.evaluations} evaluations exactly as before the disaster (right after it, ${r.sdk.missingAfterDisaster} were NOT_FOUND)`,
    `traffic switched: ${r.connectionFile.path}`,
    `  before: ${r.connectionFile.before.trim()}`,
    `  after:  ${r.connectionFile.after.trim()}`,
    '',
    'scenario: database corruption (single AZ)   measured        objective',
    `  RPO (acknowledged writes lost: ${r.lostWrites})         ${r.rpoSeconds.toFixed(1).padStart(6)} s        < ${o.rpo.limitSeconds / 60} min   ${verdict(o.rpo.met)}`,
    `  RTO (to /ready with golden matching)       ${r.rtoSeconds.toFixed(1).padStart(6)} s        < ${o.rto.limitSeconds / 60} min  ${verdict(o.rto.met)}`,
  ].join('\n');
}
