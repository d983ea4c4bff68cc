// The standby's lag against its repository and the failover plan's figures and warnings (pure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repositoryLag } from '../../src/failover/lag.js';
import { planFailover } from '../../src/failover/plan.js';

const SEG = 16 * 1024 * 1024;
const now = new Date('2026-12-02T12:00:00Z');
const seg = (n: number, agoS: number, tli = 1) => ({ name: `${tli.toString(16).toUpperCase().padStart(8, '0')}00000000${n.toString(16).toUpperCase().padStart(8, '0')}`, lastModified: new Date(now.getTime() - agoS * 1000) });

test('lag: caught up inside the newest segment or at the next one\'s start is 0; behind counts bytes to the newest end and the oldest unreplayed age', () => {
  const segs = [seg(1, 300), seg(2, 200), seg(3, 100)];
  assert.deepEqual(repositoryLag(BigInt(3 * SEG + 4096), segs, SEG, now), { newestSegment: segs[2]!.name, newestAt: segs[2]!.lastModified.toISOString(), bytes: 0, seconds: 0 });
  assert.equal(repositoryLag(BigInt(4 * SEG), segs, SEG, now).bytes, 0, 'after the switch record of the newest segment');
  const behind = repositoryLag(BigInt(2 * SEG), segs, SEG, now);
  assert.equal(behind.bytes, 2 * SEG);
  assert.equal(behind.seconds, 200);
  assert.deepEqual(repositoryLag(0n, [], SEG, now), { bytes: 0, seconds: 0 });
  // A history file or a backup label is not a segment.
  assert.equal(repositoryLag(BigInt(SEG), [...segs, { name: '00000002.history', lastModified: now }], SEG, now).newestSegment, segs[2]!.name);
});

const base = {
  from: 'eu', to: 'us', unreachable: [], standby: { inRecovery: true, replayLsn: '0/3000000', timeline: 1, replayedAt: null },
  repository: { newestSegment: 'x', newestAt: new Date(now.getTime() - 90_000).toISOString(), bytes: 0, seconds: 0 },
  primary: { reachable: false, error: 'connection refused' }, rpoObjectiveSeconds: 300, planned: false, now,
};

test('plan: the next epoch, the loss bound, and a warning with the figure beyond the RPO objective', () => {
  const p = planFailover(base);
  assert.equal(p.nextEpoch, 1);
  assert.equal(p.lossUpToSeconds, 90);
  assert.deepEqual(p.warnings, []);
  const late = planFailover({ ...base, rpoObjectiveSeconds: 60, top: { epoch: 4, region: 'eu', at: '', by: '', where: '' } });
  assert.equal(late.nextEpoch, 5);
  assert.deepEqual(late.warnings, ['the standby repository of us is behind by 90 s, more than the RPO objective of 60 s']);
  // The primary's repository readable: the replica's lag is the figure, not the WAL's age.
  assert.equal(planFailover({ ...base, rpoObjectiveSeconds: 60, replicaLagSeconds: 0 }).warnings.length, 0);
  assert.match(planFailover({ ...base, primary: { reachable: true, lsn: '0/4000000', bytes: 1 } }).warnings.join(), /still answers .*consider --planned/);
  assert.match(planFailover({ ...base, planned: true }).warnings.join(), /--planned needs the primary eu/);
  assert.match(planFailover({ ...base, standby: { ...base.standby, inRecovery: false } }).warnings.join(), /not a standby/);
});
