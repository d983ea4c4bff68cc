// The objectives judgement: met only when measured and within the limit; unmeasured is unavailable, never met.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatObjectives, judgeObjectives } from '../../src/drills/objectives.js';

const limits = { rtoSeconds: 1800, rpoSeconds: 300 };

test('within the limits: met; the text says so', () => {
  const o = judgeObjectives('database_corruption', limits, { rtoSeconds: 42.1, rpoExposureSeconds: 12 });
  assert.deepEqual(o, {
    scenario: 'database_corruption',
    rto: { measuredSeconds: 42.1, limitSeconds: 1800, met: true },
    rpo: { exposureSeconds: 12, limitSeconds: 300, met: true },
  });
  const text = formatObjectives(o).join('\n');
  assert.match(text, /RTO 42\.1 s <= 30 min: met/);
  assert.match(text, /RPO exposure 12\.0 s <= 5 min: met/);
});

test('over a limit: not met', () => {
  const o = judgeObjectives('database_corruption', limits, { rtoSeconds: 1800.5, rpoExposureSeconds: 300 });
  assert.equal(o.rto.met, false);
  assert.equal(o.rpo.met, true, 'exactly at the limit is met');
  assert.match(formatObjectives(o).join('\n'), /RTO 1800\.5 s > 30 min: NOT MET/);
});

test('not measured: unavailable with the reason, never met', () => {
  const o = judgeObjectives('database_corruption', limits, { rtoSeconds: undefined, rpoExposureSeconds: Number.NaN }, { rpo: 'no writer' });
  assert.equal(o.rto.met, null);
  assert.equal(o.rpo.met, null);
  assert.equal(o.rto.measuredSeconds, undefined);
  assert.equal(o.rpo.unavailable, 'no writer');
  assert.ok(o.rto.unavailable);
  const text = formatObjectives(o).join('\n');
  assert.match(text, /RTO limit 30 min: unavailable/);
  assert.match(text, /RPO limit 5 min: unavailable \(no writer\)/);
  assert.doesNotMatch(text, /: met/);
});

test('a writer-measured RPO decides over the archive exposure; a lower bound beyond the limit is NOT MET', () => {
  const m = judgeObjectives('database_corruption', limits, { rtoSeconds: 10, rpoSeconds: 301, rpoExposureSeconds: 12 });
  assert.deepEqual(m.rpo, { measuredSeconds: 301, exposureSeconds: 12, limitSeconds: 300, met: false });
  assert.match(formatObjectives(m).join('\n'), /RPO 301\.0 s > 5 min: NOT MET/);
  const low = judgeObjectives('database_corruption', limits, { rtoSeconds: 10, rpoAtLeastSeconds: 400 });
  assert.deepEqual(low.rpo, { atLeastSeconds: 400, limitSeconds: 300, met: false });
  assert.match(formatObjectives(low).join('\n'), /RPO at least 400\.0 s > 5 min: NOT MET/);
  // A lower bound within the limit proves nothing: unavailable, not met.
  assert.equal(judgeObjectives('database_corruption', limits, { rpoAtLeastSeconds: 10 }, { rpo: 'why' }).rpo.met, null);
});

test('an instance drill (Patroni failover) is instance failure\'s RTO only; the other scenarios keep the newest restore drill\'s', async () => {
  const { estimatedRto, objectiveRows } = await import('../../src/monitoring/objectives.js');
  const drills = [
    { kind: 'restore', lastSuccessAt: '2026-12-01T07:00:00Z', lastOkRtoSeconds: 420 },
    { kind: 'instance', lastSuccessAt: '2026-12-03T06:00:00Z', lastOkRtoSeconds: 6.2 },
  ];
  assert.equal(estimatedRto(drills), 420);
  const rows = objectiveRows({ databaseCorruption: { rpoSeconds: 300, rtoSeconds: 1800 }, regionFailure: { rpoSeconds: 3600, rtoSeconds: 14400 }, instanceFailure: { rpoSeconds: 300, rtoSeconds: 900 } },
    { replicas: [], estimatedRtoSeconds: estimatedRto(drills), instanceRtoSeconds: 6.2 });
  const rto = Object.fromEntries(rows.filter((r) => r.objective === 'rto').map((r) => [r.scenario, r.exposureSeconds]));
  assert.deepEqual(rto, { database_corruption: 420, instance_failure: 6.2, region_failure: 420 });
});
