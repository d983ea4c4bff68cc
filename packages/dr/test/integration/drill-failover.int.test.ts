// fsdr drill failover, the biannual regional drill, through the real CLI: two regions on this
// machine (eu primary with the FeatureSignals server, us a warm standby from its own bucket),
// BIND for the zone. The drill's writer commits to eu, the disaster makes eu refuse writes, the
// unplanned failover promotes us (stack checked, DNS cut over), us serves, failback brings eu
// back. Evidence: measured RPO (commits missing), RTO, the DNS answers, served commits back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startNamed, startPostgres, type NamedHandle, type PostgresHandle } from '@featuresignals/testkit';
import { archiveCommand, fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { startRegion, stopRegion, writeRegionConfig, type Region } from '../helpers/regions.js';
import { ADMIN_TOKEN, seedProject, startFeatureSignals, type FeatureSignals } from '../helpers/featuresignals.js';
import { queryPort, stopRestored } from '../helpers/restored.js';

const SERVER_MAIN = fileURLToPath(new URL('../../../../server/dist/src/main.js', import.meta.url));
const serverStart = { command: [process.execPath, SERVER_MAIN], env: { DATABASE_URL: '{{DATABASE_URL}}', FS_SCHEDULER: 'off', LOG_LEVEL: 'warn' }, secretEnv: { FS_ADMIN_TOKEN: 'env:FS_ADMIN_TOKEN' } };

let ws: Workspace;
let eu: Region;
let us: Region;
let pg: PostgresHandle;
let fs: FeatureSignals;
let named: NamedHandle;
let euCfg: string;
let usCfg: string;
let usPort: number;
let usPgdata: string;
let env: Record<string, string>;
const pids: number[] = [];

function writeConfigs(): void {
  const stackKeys = { prod: 'env:FS_PROD_KEY', staging: 'env:FS_STAGING_KEY' };
  const extra = (peer?: string) => ({
    dns: { providers: { bind: { type: 'rfc2136', server: named.server, zone: named.zone, keyName: named.keyName, keySecret: 'env:FSDR_TEST_TSIG' } } },
    schedule: Object.fromEntries(['backup', 'dump', 'expire', 'replicate', 'verify', 'drillVerify', 'drillTabletop', 'drillRestore', 'drillFailover', 'golden'].map((j) => [j, 'off'])),
    drill: { writer: { enabled: true, seconds: 2, intervalMs: 100 }, failover: { serveSeconds: 3, ...(peer ? { peerConfig: peer } : {}) } },
  });
  const members = {
    eu: { stack: { url: fs?.url ?? 'http://127.0.0.1:1', keys: stackKeys, database: 'featuresignals', start: serverStart }, dns: { name: 'api.fs.test', address: '127.0.0.1' } },
    us: { stack: { url: 'http://127.0.0.1:1', keys: stackKeys, database: 'featuresignals', start: serverStart }, dns: { name: 'api.fs.test', address: '127.0.0.2' } },
  };
  euCfg = writeRegionConfig(ws, eu, eu, us, extra(), members);
  usCfg = writeRegionConfig(ws, us, eu, us, extra(join(ws.dir, 'eu.yaml')), members);
}

before(async () => {
  ws = makeWorkspace();
  [eu, us] = await Promise.all([startRegion('eu'), startRegion('us')]);
  named = await startNamed({ zone: 'fs.test', records: ['api 300 IN A 127.0.0.1'] });
  usPort = await freePort();
  usPgdata = join(ws.dir, 'us-pg');
  us.cluster = { connection: `postgres://postgres@127.0.0.1:${usPort}/postgres`, pgdata: usPgdata };
  writeConfigs();
  // wal_log_hints: pg_rewind is possible, so the failbacks choose by what each old primary committed.
  pg = await startPostgres({ settings: { wal_level: 'replica', wal_log_hints: 'on', archive_mode: 'on', archive_command: archiveCommand(euCfg, eu.moto.env) } });
  eu.cluster = { connection: pg.connectionString, pgdata: pg.pgdata };
  fs = await startFeatureSignals(pg);
  const seeded = await seedProject(fs, pg);
  env = { ...eu.moto.env, FS_PROD_KEY: seeded.keys.prod!, FS_STAGING_KEY: seeded.keys.staging!, FS_ADMIN_TOKEN: ADMIN_TOKEN, FSDR_TEST_TSIG: named.keySecret };
  writeConfigs();
  await fsdrOk(['--config', euCfg, 'init'], env);
  await fsdrOk(['--config', euCfg, 'backup'], env);
  await fsdrOk(['--config', euCfg, 'golden', 'capture'], env);
  await waitArchived(pg, await switchWal(pg));
  await fsdrOk(['--config', euCfg, 'replicate'], env);
  await fsdrOk(['--config', usCfg, 'standby', 'start'], env);
});

after(async () => {
  for (const pid of pids) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  await stopRestored(usPgdata).catch(() => undefined);
  await stopRestored(pg.pgdata).catch(() => undefined);
  await fs?.close().catch(() => undefined);
  await pg?.stop().catch(() => undefined);
  await named?.stop();
  await Promise.all([stopRegion(eu), stopRegion(us)]);
  ws?.cleanup();
});

test('without --confirm the drill only says what it would do; a peer config of the wrong region is refused', async () => {
  const dry = await runFsdr(['--config', usCfg, 'drill', 'failover'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /failover drill eu -> us would:[\s\S]*nothing changed: add --confirm/);
  const st = JSON.parse((await runFsdr(['--config', usCfg, 'fence', 'status', '--json'], env)).stdout);
  assert.deepEqual([st.writer, st.top ?? null], ['eu', null]);
  const wrong = await runFsdr(['--config', usCfg, 'drill', 'failover', '--peer-config', usCfg, '--confirm'], env);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /is not the configuration of region eu's node/);
});

test('the drill fails over to us under a writer, serves, fails back: RPO and RTO measured, DNS answers both ways, every served commit back on eu', async (t) => {
  const r = await runFsdr(['--config', usCfg, 'drill', 'failover', '--confirm', '--json'], env);
  const e = JSON.parse(r.stdout);
  for (const s of [e.failover?.stack, e.failback?.switchover?.stack]) if (s?.serverPid) pids.push(s.serverPid);
  assert.equal(r.code, 0, r.stderr + JSON.stringify(e.failure));
  assert.equal(e.kind, 'regional');
  assert.deepEqual(e.steps.map((s: { name: string; ok: boolean }) => `${s.name}:${s.ok}`),
    ['preflight:true', 'writer:true', 'disaster:true', 'failover:true', 'rpo:true', 'serve:true', 'failback:true', 'standby:true', 'verify:true']);
  // RPO: the writer's commits after the last replication are what the standby could not have.
  const rpo = e.checks.rpo;
  assert.ok(rpo.commits > 5, `the writer committed (${rpo.commits})`);
  assert.ok(rpo.present >= 1 && rpo.present < rpo.commits, `present ${rpo.present} of ${rpo.commits}`);
  assert.equal(rpo.missing, rpo.commits - rpo.present);
  assert.ok(e.rpoSeconds > 0 && e.rpoSeconds < 60, `RPO ${e.rpoSeconds}`);
  assert.ok(e.rtoSeconds > 0 && e.rtoSeconds < 600, `RTO ${e.rtoSeconds}`);
  assert.deepEqual([e.objectives.scenario, e.objectives.rpo.met, e.objectives.rto.met], ['region_failure', true, true]);
  // The failover itself: unplanned, stack checked (golden) in us, DNS to us's address with TTL 60.
  assert.deepEqual(e.failover.steps.map((s: { name: string }) => s.name), ['fence', 'promote', 'archive-history', 'start-server', 'ready', 'golden', 'integration', 'dns']);
  assert.deepEqual([e.failover.dns.old.values, e.failover.dns.new.values, e.failover.dns.new.ttl], [['127.0.0.1'], ['127.0.0.2'], 60]);
  assert.deepEqual([e.failback.switchover.dns.old.values, e.failback.switchover.dns.new.values], [['127.0.0.2'], ['127.0.0.1']]);
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '127.0.0.1', ttl: 60 }]);
  // us served, and everything it served is on eu after the failback; the drill's schema is gone.
  const serve = e.steps.find((s: { name: string }) => s.name === 'serve').detail;
  assert.ok(serve.commits > 5 && serve.ready.ok > 5 && serve.ready.failed === 0, JSON.stringify(serve));
  assert.equal(e.checks.failback.servedCommitsBack, serve.commits);
  assert.deepEqual([e.checks.failback.writer, e.checks.failback.epoch], ['eu', 2]);
  assert.deepEqual(await queryPort(pg.port, `SELECT to_regnamespace('fsdr_drill') AS s`), [{ s: null }]);
  assert.equal((await queryPort<{ r: boolean }>(usPort, 'SELECT pg_is_in_recovery() AS r'))[0]!.r, true, 'us is the standby again');
  // eu committed the writer's lost rows after the fork: never rewound over, kept aside whole.
  // (Either pg_waldump counts them in pg_wal, or their segment was archived into eu's own
  // repository before the fence and recycled: then nothing rules them out, and it is not rewound.)
  const fb = e.steps.find((s: { name: string }) => s.name === 'failback').detail;
  assert.equal(fb.method, 'restore', JSON.stringify(fb.rewind));
  if (fb.rewind.divergentCommits !== undefined) assert.ok(fb.rewind.divergentCommits >= rpo.missing, `${JSON.stringify(fb.rewind)}: ${rpo.missing} lost`);
  else assert.match(fb.rewind.why, /cannot be read from pg_wal/);
  assert.ok(fb.aside && existsSync(fb.aside), 'the old directory is kept');
  // us only stopped writes for the switchover back: nothing after the fork, so pg_rewind.
  const sb = e.steps.find((s: { name: string }) => s.name === 'standby').detail;
  assert.deepEqual([sb.method, sb.rewind.divergentCommits, sb.aside], ['rewind', 0, undefined], JSON.stringify(sb.rewind));
  assert.match(sb.rewind.why, /no transaction committed after it: pg_rewind|no rewind required/);
  // The evidence is in the writing region's repository.
  const shown = JSON.parse(await fsdrOk(['--config', euCfg, 'drill', 'show', e.id, '--json'], env));
  assert.equal(shown.rpoSeconds, e.rpoSeconds);
  t.diagnostic(`failover drill: RTO ${e.rtoSeconds}s, RPO ${e.rpoSeconds}s (${rpo.missing}/${rpo.commits} commits lost); failover ${e.failover.steps.map((s: { name: string; seconds: number }) => `${s.name} ${s.seconds}s`).join(', ')}; failback switchover RTO ${e.failback.switchover.rtoSeconds}s`);
});
