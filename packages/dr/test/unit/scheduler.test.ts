// The agent's scheduler with a fake clock (no sleeps): 03:00 UTC firing, overdue catch-up at start,
// two agents sharing a repository never run one occurrence twice, bad cron rejected, SIGTERM drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scheduler } from '../../src/agent/scheduler.js';
import { JOB_NAMES, jobSchedules, type Job, type JobName } from '../../src/agent/jobs.js';
import { FsStorage } from '../../src/storage/fs/fs-storage.js';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError, FsdrError } from '../../src/errors.js';

const at = (iso: string) => new Date(iso);

function fakeJob(name: JobName, lastEffect?: string, work?: () => Promise<void>) {
  const job = {
    name,
    runs: 0,
    run: async () => {
      job.runs++;
      await work?.();
      return { ok: true };
    },
    lastEffect: async () => (lastEffect ? at(lastEffect) : undefined),
  };
  return job satisfies Job & { runs: number };
}

const leases = () => new FsStorage(mkdtempSync(join(tmpdir(), 'fsdr-leases-')));

test('a daily 03:00 UTC schedule fires exactly at 03:00, once', async () => {
  const job = fakeJob('backup', '2026-11-26T03:00:05Z');
  const s = new Scheduler([job], { backup: '0 3 * * *' }, leases(), 'a');
  await s.catchUp(at('2026-11-27T01:00:00Z'));
  assert.equal(job.runs, 0, 'not overdue: the last backup is after the previous 03:00');
  await Promise.all(s.tick(at('2026-11-27T02:59:59Z')));
  assert.equal(job.runs, 0);
  await Promise.all(s.tick(at('2026-11-27T03:00:00Z')));
  assert.equal(job.runs, 1);
  await Promise.all(s.tick(at('2026-11-27T03:00:01Z')));
  await Promise.all(s.tick(at('2026-11-27T17:00:00Z')));
  assert.equal(job.runs, 1);
  assert.equal(s.state.get('backup')!.nextRun, '2026-11-28T03:00:00.000Z');
  await Promise.all(s.tick(at('2026-11-28T03:00:00Z')));
  assert.equal(job.runs, 2);
});

test('a job missed while the agent was down runs at start', async () => {
  const job = fakeJob('backup', '2026-11-25T03:10:00Z');
  const never = fakeJob('verify');
  const s = new Scheduler([job, never], { backup: '0 3 * * *', verify: '0 5 * * 0' }, leases(), 'a');
  await Promise.all(await s.catchUp(at('2026-11-27T01:00:00Z')));
  assert.equal(job.runs, 1, 'the 2026-11-26 03:00 backup was missed');
  assert.equal(never.runs, 1, 'a weekly verification that never ran is overdue');
});

test('two agents on one repository never run the same occurrence twice', async () => {
  const shared = leases();
  const a = fakeJob('backup', '2026-11-26T03:00:05Z');
  const b = fakeJob('backup', '2026-11-26T03:00:05Z');
  const sa = new Scheduler([a], { backup: '0 3 * * *' }, shared, 'agent-a');
  const sb = new Scheduler([b], { backup: '0 3 * * *' }, shared, 'agent-b');
  await sa.catchUp(at('2026-11-27T01:00:00Z'));
  await sb.catchUp(at('2026-11-27T01:00:00Z'));
  for (const t of ['2026-11-27T03:00:00Z', '2026-11-27T03:00:02Z', '2026-11-28T03:00:01Z']) {
    await Promise.all([...sa.tick(at(t)), ...sb.tick(at(t))]);
  }
  assert.equal(a.runs + b.runs, 2, 'two occurrences, each run by exactly one agent');
  assert.equal(sa.state.get('backup')!.skipped + sb.state.get('backup')!.skipped, 2);
});

test('a failing job is recorded, and stop() waits for a running job up to its timeout', async () => {
  let release!: () => void;
  const slow = fakeJob('dump', '2026-11-26T03:00:05Z', () => new Promise<void>((r) => (release = r)));
  const bad: Job = { name: 'expire', run: async () => { throw new Error('disk on fire'); }, lastEffect: async () => at('2026-11-26T04:31:00Z') };
  const s = new Scheduler([slow, bad], { dump: '0 3 * * *', expire: '30 4 * * *' }, leases(), 'a');
  await s.catchUp(at('2026-11-27T01:00:00Z'));
  void s.tick(at('2026-11-27T03:00:00Z'));
  await Promise.all(s.tick(at('2026-11-27T04:30:00Z')));
  assert.equal(s.state.get('expire')!.failures, 1);
  assert.match(s.state.get('expire')!.lastRun!.error!, /disk on fire/);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await s.stop(50), ['dump'], 'abandoned after the timeout');
  release();
  const s2 = new Scheduler([fakeJob('dump', '2026-11-26T03:00:05Z', () => new Promise((r) => setTimeout(r, 30)))], { dump: '0 3 * * *' }, leases(), 'b');
  await s2.catchUp(at('2026-11-27T01:00:00Z'));
  void s2.tick(at('2026-11-27T03:00:00Z'));
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(await s2.stop(5000), [], 'finished within the timeout');
});

test('a bad cron expression is a config error naming the key', () => {
  const base = { repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' } };
  assert.throws(() => validateConfig({ ...base, schedule: { backup: '61 3 * * *' } }), (e: unknown) => e instanceof ConfigError && /schedule\.backup: invalid cron expression "61 3 \* \* \*"/.test((e as Error).message));
  assert.throws(() => validateConfig({ ...base, schedule: { replicate: 'every 5 minutes' } }), /schedule\.replicate: invalid cron/);
  assert.equal(validateConfig({ ...base, schedule: { dump: 'off' } }).schedule.dump, 'off');
});

test('a failed run is retried with backoff inside its window, visible in the state, until it succeeds', async () => {
  let calls = 0;
  const flaky: Job = { name: 'backup', run: async () => { if (++calls < 3) throw new Error(`attempt ${calls} failed`); return { ok: true }; }, lastEffect: async () => at('2026-11-27T03:00:10Z') };
  const s = new Scheduler([flaky], { backup: '0 3 * * *' }, leases(), 'a', {}, { attempts: 3, initialMs: 60_000, maxMs: 3600_000 });
  await s.catchUp(at('2026-11-27T12:00:00Z'));
  await Promise.all(s.tick(at('2026-11-28T03:00:00Z')));
  const st = s.state.get('backup')!;
  assert.equal(st.failures, 1);
  assert.equal(st.retry!.attempt, 1);
  assert.ok(Date.parse(st.retry!.at) >= Date.parse('2026-11-28T03:01:00Z'), st.retry!.at);
  assert.deepEqual(s.tick(at('2026-11-28T03:00:30Z')), [], 'not before the backoff');
  await Promise.all(s.tick(at('2026-11-28T03:01:30Z')));
  assert.equal(st.failures, 2);
  assert.ok(Date.parse(st.retry!.at) >= Date.parse('2026-11-28T03:03:30Z'), `doubled: ${st.retry!.at}`);
  await Promise.all(s.tick(at('2026-11-28T03:04:00Z')));
  assert.equal(st.successes, 1);
  assert.equal(st.retry, undefined);
  assert.equal(calls, 3);
});

test('no retry past the next occurrence, and none once the attempts are spent', async () => {
  const failing: Job = { name: 'replicate', run: async () => { throw new Error('bucket down'); }, lastEffect: async () => undefined };
  const hourly = new Scheduler([failing], { replicate: '0 * * * *' }, leases(), 'a', {}, { attempts: 5, initialMs: 2 * 3600_000, maxMs: 4 * 3600_000 });
  await Promise.all(await hourly.catchUp(at('2026-11-28T03:10:00Z')));
  assert.equal(hourly.state.get('replicate')!.failures, 1);
  assert.equal(hourly.state.get('replicate')!.retry, undefined, 'a 2 h backoff would pass the next hourly run');
  const daily = new Scheduler([failing], { replicate: '0 3 * * *' }, leases(), 'b', {}, { attempts: 1, initialMs: 60_000, maxMs: 60_000 });
  await Promise.all(await daily.catchUp(at('2026-11-28T03:10:00Z')));
  await Promise.all(daily.tick(at('2026-11-28T03:12:00Z')));
  assert.equal(daily.state.get('replicate')!.failures, 2);
  assert.equal(daily.state.get('replicate')!.retry, undefined, 'one retry only');
});

test('expire (exclusive) never overlaps another job; jobs that only add may overlap; arrival order is kept', async () => {
  const events: string[] = [];
  const gate = () => { let open!: () => void; const p = new Promise<void>((r) => (open = r)); return { p, open }; };
  const settle = () => new Promise((r) => setTimeout(r, 30));
  // Positive facts are awaited (claims do file I/O, slow under load); negative ones get a settle.
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), `${what}: ${events.join(' ')}`);
  };
  const job = (name: JobName, g: { p: Promise<void> }, exclusive = false): Job => ({
    name, exclusive, lastEffect: async () => at('2026-11-28T02:00:00Z'),
    run: async () => { events.push(`${name}:start`); await g.p; events.push(`${name}:end`); return {}; },
  });
  // replicate and backup overlap; expire, arriving later, waits for both.
  let [rep, bak, exp] = [gate(), gate(), gate()];
  const s1 = new Scheduler([job('replicate', rep), job('backup', bak), job('expire', exp, true)], { replicate: '0 3 * * *', backup: '0 3 * * *', expire: '5 3 * * *' }, leases(), 'a');
  await s1.catchUp(at('2026-11-28T02:00:00Z'));
  const runs = [...s1.tick(at('2026-11-28T03:00:00Z'))];
  await until(() => events.length === 2, 'replicate and backup both started');
  runs.push(...s1.tick(at('2026-11-28T03:05:00Z')));
  await settle();
  assert.deepEqual([...events].sort(), ['backup:start', 'replicate:start']);
  rep.open();
  await settle();
  assert.ok(!events.includes('expire:start'), events.join(' '));
  bak.open();
  await until(() => events.at(-1) === 'expire:start', 'expire started after both');
  exp.open();
  await Promise.all(runs);
  // A job arriving after a waiting expire waits behind it (retention is never starved).
  events.length = 0;
  [rep, bak, exp] = [gate(), gate(), gate()];
  const s2 = new Scheduler([job('replicate', rep), job('expire', exp, true), job('backup', bak)], { replicate: '0 3 * * *', expire: '5 3 * * *', backup: '10 3 * * *' }, leases(), 'b');
  await s2.catchUp(at('2026-11-28T02:00:00Z'));
  const runs2 = [...s2.tick(at('2026-11-28T03:00:00Z'))];
  await until(() => events.length === 1, 'replicate started');
  runs2.push(...s2.tick(at('2026-11-28T03:05:00Z')));
  await settle();
  runs2.push(...s2.tick(at('2026-11-28T03:10:00Z')));
  await settle();
  assert.deepEqual(events, ['replicate:start']);
  rep.open();
  await until(() => events.length === 3, 'expire started after replicate');
  await settle();
  assert.deepEqual(events, ['replicate:start', 'replicate:end', 'expire:start']);
  exp.open();
  await until(() => events.length === 5, 'backup started after expire');
  assert.deepEqual(events.slice(-2), ['expire:end', 'backup:start']);
  bak.open();
  await Promise.all(runs2);
});

test('the weekly backup verification drill (drill-verify) runs once a week by default, Sunday 06:00 UTC, and can be turned off', async () => {
  const base = { repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' } };
  const schedules = jobSchedules(validateConfig(base));
  assert.equal(schedules['drill-verify'], '0 6 * * 0');
  // Every job of the agent, as the agent builds them; last effects recent, so nothing is overdue at start.
  const jobs = JOB_NAMES.map((n) => fakeJob(n, '2026-11-29T06:00:30Z'));
  const drill = jobs.find((j) => j.name === 'drill-verify')!;
  const s = new Scheduler(jobs, schedules, leases(), 'a');
  await s.catchUp(at('2026-11-29T12:00:00Z')); // a Sunday, after that day's drill
  assert.equal(drill.runs, 0);
  const fired: string[] = [];
  // Four weeks of a ticking agent, one tick every 15 minutes.
  for (let t = Date.parse('2026-11-29T12:00:00Z'); t <= Date.parse('2026-12-27T12:00:00Z'); t += 15 * 60_000) {
    const before = drill.runs;
    await Promise.all(s.tick(new Date(t)));
    if (drill.runs > before) fired.push(new Date(t).toISOString());
  }
  assert.deepEqual(fired, ['2026-12-06T06:00:00.000Z', '2026-12-13T06:00:00.000Z', '2026-12-20T06:00:00.000Z', '2026-12-27T06:00:00.000Z']);
  assert.equal(s.state.get('drill-verify')!.nextRun, '2027-01-03T06:00:00.000Z');

  // A drill never run (no evidence) is overdue at start; 'off' schedules none.
  const never = fakeJob('drill-verify');
  await Promise.all(await new Scheduler([never], schedules, leases(), 'b').catchUp(at('2026-12-01T00:00:00Z')));
  assert.equal(never.runs, 1);
  const off = jobSchedules(validateConfig({ ...base, schedule: { drillVerify: 'off' } }));
  const idle = fakeJob('drill-verify');
  const s3 = new Scheduler([idle], off, leases(), 'c');
  await Promise.all(await s3.catchUp(at('2026-12-01T00:00:00Z')));
  await Promise.all(s3.tick(at('2026-12-06T06:00:00Z')));
  assert.equal(idle.runs, 0);
  assert.equal(s3.state.has('drill-verify'), false);
});

test('the tabletop (drill-tabletop) is prepared monthly by default, the 1st at 09:00 UTC, and can be turned off', async () => {
  const base = { repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' } };
  const schedules = jobSchedules(validateConfig(base));
  assert.equal(schedules['drill-tabletop'], '0 9 1 * *');
  const jobs = JOB_NAMES.map((n) => fakeJob(n, '2026-12-01T09:00:30Z'));
  const tabletop = jobs.find((j) => j.name === 'drill-tabletop')!;
  const s = new Scheduler(jobs, schedules, leases(), 'a');
  await s.catchUp(at('2026-12-01T12:00:00Z'));
  assert.equal(tabletop.runs, 0);
  const fired: string[] = [];
  // Three months of a ticking agent, one tick an hour.
  for (let t = Date.parse('2026-12-01T12:00:00Z'); t <= Date.parse('2027-03-01T12:00:00Z'); t += 3600_000) {
    const before = tabletop.runs;
    await Promise.all(s.tick(new Date(t)));
    if (tabletop.runs > before) fired.push(new Date(t).toISOString());
  }
  assert.deepEqual(fired, ['2027-01-01T09:00:00.000Z', '2027-02-01T09:00:00.000Z', '2027-03-01T09:00:00.000Z']);
  assert.equal(s.state.get('drill-tabletop')!.nextRun, '2027-04-01T09:00:00.000Z');

  const never = fakeJob('drill-tabletop');
  await Promise.all(await new Scheduler([never], schedules, leases(), 'b').catchUp(at('2026-12-15T00:00:00Z')));
  assert.equal(never.runs, 1, 'never prepared: overdue at start');
  assert.equal(jobSchedules(validateConfig({ ...base, schedule: { drillTabletop: 'off' } }))['drill-tabletop'], 'off');
});

test('golden captures run hourly by default once a stack is configured, and are off without one', async () => {
  const base = { repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' } };
  const stack = { url: 'http://127.0.0.1:8080', keys: { prod: 'env:FS_PROD_KEY' } };
  assert.equal(jobSchedules(validateConfig(base)).golden, 'off', 'no server to capture through');
  const schedules = jobSchedules(validateConfig({ ...base, stack }));
  assert.equal(schedules.golden, '0 * * * *');
  const golden = fakeJob('golden', '2026-12-02T10:00:03Z');
  const s = new Scheduler([golden], schedules, leases(), 'a');
  await s.catchUp(at('2026-12-02T10:30:00Z'));
  assert.equal(golden.runs, 0, 'the 10:00 capture exists');
  const fired: string[] = [];
  for (let t = Date.parse('2026-12-02T10:30:00Z'); t <= Date.parse('2026-12-02T14:30:00Z'); t += 5 * 60_000) {
    const before = golden.runs;
    await Promise.all(s.tick(new Date(t)));
    if (golden.runs > before) fired.push(new Date(t).toISOString().slice(11, 16));
  }
  assert.deepEqual(fired, ['11:00', '12:00', '13:00', '14:00']);
  // A capture never taken is overdue at start; without a stack nothing is scheduled at all.
  const never = fakeJob('golden');
  await Promise.all(await new Scheduler([never], schedules, leases(), 'b').catchUp(at('2026-12-02T10:30:00Z')));
  assert.equal(never.runs, 1);
  const idle = fakeJob('golden');
  const off = new Scheduler([idle], jobSchedules(validateConfig(base)), leases(), 'c');
  await Promise.all(await off.catchUp(at('2026-12-02T10:30:00Z')));
  await Promise.all(off.tick(at('2026-12-02T11:00:00Z')));
  assert.equal(idle.runs, 0);
  assert.equal(off.state.has('golden'), false);
  assert.equal(jobSchedules(validateConfig({ ...base, stack, schedule: { golden: '*/15 * * * *' } })).golden, '*/15 * * * *');
});

test('the restore drill (drill-restore) runs quarterly by default once stack.start is configured, and is off without it', async () => {
  const base = { repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' } };
  const url = 'http://127.0.0.1:8080';
  const keys = { prod: 'env:FS_PROD_KEY' };
  assert.equal(jobSchedules(validateConfig(base))['drill-restore'], 'off', 'no stack: nothing to start');
  assert.equal(jobSchedules(validateConfig({ ...base, stack: { url, keys } }))['drill-restore'], 'off', 'a stack without start: no server to start on the copy');
  const withStart = { ...base, stack: { url, keys, start: { command: ['fs-server'] } } };
  const schedules = jobSchedules(validateConfig(withStart));
  assert.equal(schedules['drill-restore'], '0 7 1 1,4,7,10 *');
  const drill = fakeJob('drill-restore', '2026-10-01T07:00:40Z');
  const s = new Scheduler([drill], schedules, leases(), 'a');
  await s.catchUp(at('2026-10-02T00:00:00Z'));
  assert.equal(drill.runs, 0, 'the October drill happened');
  const fired: string[] = [];
  // A year of a ticking agent, one tick an hour.
  for (let t = Date.parse('2026-10-02T00:00:00Z'); t <= Date.parse('2027-10-02T00:00:00Z'); t += 3600_000) {
    const before = drill.runs;
    await Promise.all(s.tick(new Date(t)));
    if (drill.runs > before) fired.push(new Date(t).toISOString());
  }
  assert.deepEqual(fired, ['2027-01-01T07:00:00.000Z', '2027-04-01T07:00:00.000Z', '2027-07-01T07:00:00.000Z', '2027-10-01T07:00:00.000Z']);
  const idle = fakeJob('drill-restore');
  const off = new Scheduler([idle], jobSchedules(validateConfig(base)), leases(), 'c');
  await Promise.all(await off.catchUp(at('2027-01-01T00:00:00Z')));
  await Promise.all(off.tick(at('2027-01-01T07:00:00Z')));
  assert.equal(idle.runs, 0);
  assert.equal(off.state.has('drill-restore'), false);
  assert.equal(jobSchedules(validateConfig({ ...withStart, schedule: { drillRestore: 'off' } }))['drill-restore'], 'off');
});

test('under Patroni a leaderOnly job is skipped on a replica before any lease is claimed, so the leader\'s agent still runs that occurrence', async () => {
  const shared = leases();
  const onReplica = Object.assign(fakeJob('backup', '2026-11-26T03:00:05Z'), { leaderOnly: true });
  const onLeader = Object.assign(fakeJob('backup', '2026-11-26T03:00:05Z'), { leaderOnly: true });
  const verify = fakeJob('verify', '2026-11-26T03:00:05Z');
  const skips: string[] = [];
  const replica = new Scheduler([onReplica, verify], { backup: '0 3 * * *', verify: '0 3 * * *' }, shared, 'replica', { onSkip: (j, why) => skips.push(`${j}: ${why}`) }, undefined, async () => 'this node is a Patroni replica');
  const leader = new Scheduler([onLeader], { backup: '0 3 * * *' }, shared, 'leader', {}, undefined, async () => undefined);
  await replica.catchUp(at('2026-11-27T01:00:00Z'));
  await leader.catchUp(at('2026-11-27T01:00:00Z'));
  await Promise.all(replica.tick(at('2026-11-27T03:00:00Z')));
  assert.equal(onReplica.runs, 0);
  assert.equal(verify.runs, 1, 'a job without leaderOnly runs wherever its lease falls');
  assert.deepEqual(skips, ['backup: this node is a Patroni replica']);
  const st = replica.state.get('backup')!;
  assert.equal(st.lastRun!.skipped, 'this node is a Patroni replica');
  assert.equal(st.skipped, 1);
  await Promise.all(leader.tick(at('2026-11-27T03:00:01Z')));
  assert.equal(onLeader.runs, 1, 'the occurrence\'s lease was left for the leader');
  // A gate that throws (Patroni unreachable) skips too: two backups are worse than none this once.
  const lost = new Scheduler([Object.assign(fakeJob('backup'), { leaderOnly: true })], { backup: '0 3 * * *' }, leases(), 'x', { onSkip: (j, why) => skips.push(why) }, undefined, async () => { throw new Error('ECONNREFUSED'); });
  await Promise.all(await lost.catchUp(at('2026-11-27T04:00:00Z')));
  assert.match(skips.at(-1)!, /^leader check failed: .*ECONNREFUSED/);
});

test('a run refused because this region is fenced stands down: skipped with the reason, not a failure, never retried', async () => {
  const fenced: Job = { name: 'backup', run: async () => { throw new FsdrError('FSDR_FENCED', 'backup refused: region us-east is fenced'); }, lastEffect: async () => undefined };
  const skips: string[] = [];
  const finished: boolean[] = [];
  const s = new Scheduler([fenced], { backup: '0 3 * * *' }, leases(), 'a', { onSkip: (j, why) => skips.push(`${j}: ${why}`), onFinish: (_j, ok) => finished.push(ok) }, { attempts: 3, initialMs: 60_000, maxMs: 3600_000 });
  await Promise.all(await s.catchUp(at('2026-11-28T03:10:00Z')));
  const st = s.state.get('backup')!;
  assert.deepEqual([st.failures, st.successes, st.skipped], [0, 0, 1]);
  assert.equal(st.retry, undefined);
  assert.equal(st.lastRun!.skipped, 'backup refused: region us-east is fenced');
  assert.deepEqual(skips, ['backup: backup refused: region us-east is fenced']);
  assert.deepEqual(finished, [], 'onFinish (success/failure metrics and alerts) is not called');
  // Any other error is still a failure with a retry.
  const broken: Job = { name: 'backup', run: async () => { throw new FsdrError('FSDR_STORAGE', 'bucket down'); }, lastEffect: async () => undefined };
  const b = new Scheduler([broken], { backup: '0 3 * * *' }, leases(), 'b', {}, { attempts: 3, initialMs: 60_000, maxMs: 3600_000 });
  await Promise.all(await b.catchUp(at('2026-11-28T03:10:00Z')));
  assert.equal(b.state.get('backup')!.failures, 1);
  assert.ok(b.state.get('backup')!.retry);
});

test('the failover drill (drill-failover) runs twice a year once regions and drill.failover.peerConfig are set, and is off otherwise', async () => {
  const member = (n: string) => ({ cluster: { connection: `postgres://postgres@${n}/postgres`, pgdata: `/pg/${n}` }, repository: { type: 'fs', path: `/repo/${n}` } });
  const regions = { primary: 'eu', standby: 'us', self: 'us', members: { eu: member('eu'), us: member('us') } };
  const base = { regions, encryption: { masterKey: 'env:K' } };
  assert.equal(jobSchedules(validateConfig(base))['drill-failover'], 'off', 'no peer configuration: the drill cannot act as the primary\'s node');
  assert.equal(jobSchedules(validateConfig({ repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' }, drill: { failover: { peerConfig: '/etc/fsdr/eu.yaml' } } }))['drill-failover'], 'off', 'no regions: nothing to fail over to');
  const schedules = jobSchedules(validateConfig({ ...base, drill: { failover: { peerConfig: '/etc/fsdr/eu.yaml' } } }));
  assert.equal(schedules['drill-failover'], '0 8 2 1,7 *');
  const drill = fakeJob('drill-failover', '2026-07-02T08:00:40Z');
  const s = new Scheduler([drill], schedules, leases(), 'a');
  await s.catchUp(at('2026-07-03T00:00:00Z'));
  const fired: string[] = [];
  for (let t = Date.parse('2026-07-03T00:00:00Z'); t <= Date.parse('2027-07-03T00:00:00Z'); t += 3600_000) {
    const before = drill.runs;
    await Promise.all(s.tick(new Date(t)));
    if (drill.runs > before) fired.push(new Date(t).toISOString());
  }
  assert.deepEqual(fired, ['2027-01-02T08:00:00.000Z', '2027-07-02T08:00:00.000Z']);
  assert.throws(() => validateConfig({ ...base, drill: { failover: { serveSeconds: -1 } } }), /drill\.failover\.serveSeconds/);
});
