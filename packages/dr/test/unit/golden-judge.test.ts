// judgeGolden: which golden differences an audit entry after the capture explains, and which fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GoldenComparison, GoldenVerification } from '@featuresignals/server';
import type { AuditChange } from '../../src/stack/audit-changes.js';
import { influences, judgeGolden } from '../../src/stack/golden-judge.js';

const cmp = (diffs: Array<[string, string]>, rulesetChanges: string[] = []): GoldenComparison => ({
  equal: diffs.length === 0, expectedFingerprint: 'a', actualFingerprint: diffs.length ? 'b' : 'a', rulesetChanges,
  differences: diffs.map(([env, flag]) => ({ env, flag, context: 'golden-1', expected: 'true\tFALLTHROUGH\t', actual: 'false\tDISABLED\t' })),
});
const both = (diffs: Array<[string, string]>, rs: string[] = []): GoldenVerification => ({ server: cmp(diffs, rs), sdk: cmp(diffs, rs) });
const entry = (flag: string, env: string | null, resourceType: AuditChange['resourceType'] = 'flag_state'): AuditChange =>
  ({ seq: 1, createdAt: '2026-12-02T10:00:00.000Z', actor: 'admin', action: `${resourceType}.updated`, resourceType, flag, env });

test('no differences: ok, nothing reported', () => {
  const j = judgeGolden(both([]), []);
  assert.equal(j.ok, true);
  assert.deepEqual([j.changedAfterCapture, j.unexplained, j.unexplainedRulesets], [[], [], []]);
});

test('an audited flag_state change explains that flag in that environment only', () => {
  const j = judgeGolden(both([['prod', 'banner'], ['staging', 'banner']], ['prod', 'staging']), [entry('banner', 'prod')]);
  assert.equal(j.ok, false);
  assert.deepEqual(j.changedAfterCapture.map((c) => `${c.env}/${c.flag}:${c.evaluations}`), ['prod/banner:2']);
  assert.deepEqual(j.unexplained.map((c) => `${c.env}/${c.flag}`), ['staging/banner']);
  assert.deepEqual(j.unexplainedRulesets, ['staging']);
});

test('a flag (project-wide) change explains the flag in every environment', () => {
  const j = judgeGolden(both([['prod', 'banner'], ['staging', 'banner']], ['prod', 'staging']), [entry('banner', null, 'flag')]);
  assert.equal(j.ok, true);
});

test('a change to a prerequisite or a mutex sibling explains the dependent, naming it', () => {
  const links = { prerequisites: { child: ['parent'] }, groups: { a: 'g', b: 'g' } };
  assert.deepEqual(influences('child', links).sort(), ['child', 'parent']);
  const j = judgeGolden(both([['prod', 'child'], ['prod', 'b']], ['prod']), [entry('parent', 'prod'), entry('a', 'prod')], links);
  assert.equal(j.ok, true);
  assert.deepEqual(j.changedAfterCapture.map((c) => [c.flag, c.through]), [['child', ['parent']], ['b', ['a']]]);
});

test('a ruleset change with no audited flag change in that environment fails even when no evaluation differs', () => {
  const j = judgeGolden(both([], ['prod']), [entry('banner', 'staging')]);
  assert.equal(j.ok, false);
  assert.deepEqual(j.unexplainedRulesets, ['prod']);
});

test('the deliberately missing golden flags are never explained', () => {
  const j = judgeGolden(both([['prod', 'golden-missing-1']]), [entry('golden-missing-1', null, 'flag')]);
  assert.equal(j.ok, false);
});
