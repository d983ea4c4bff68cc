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
