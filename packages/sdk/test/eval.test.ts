// The evaluation order of FeatureSignals (§1.4) with our deterministic choices (§2.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketUser, evaluate, goFormatFloat, type FlagDef, type FlagState, type Ruleset } from '../src/eval/index.js';

const flag = (key: string, extra: Partial<FlagDef> = {}): FlagDef =>
  ({ key, flag_type: 'boolean', default_value: false, prerequisites: [], mutual_exclusion_group: '', expires_at: null, ...extra });
const state = (flag_key: string, extra: Partial<FlagState> = {}): FlagState =>
  ({ flag_key, enabled: true, default_value: true, rules: [], percentage_rollout: 0, variants: [], ...extra });
const rs = (flags: FlagDef[], states: FlagState[], segments: Ruleset['segments'] = []): Ruleset =>
  ({ env: { id: 'e', slug: 'prod' }, version: 1, dbid: 'x:1', flags, states, segments });

test('Go %v number formatting', () => {
  assert.equal(goFormatFloat(1000000), '1e+06');
  assert.equal(goFormatFloat(123456), '123456');
  assert.equal(goFormatFloat(0.00001), '1e-05');
  assert.equal(goFormatFloat(0.0001), '0.0001');
  assert.equal(goFormatFloat(1.5e300), '1.5e+300');
  assert.equal(goFormatFloat(42), '42');
  assert.equal(goFormatFloat(-2.5), '-2.5');
});

test('unknown flag, kill switch, expiry', () => {
  const r = rs([flag('a'), flag('b', { expires_at: '2000-01-01T00:00:00Z' })], [state('a', { enabled: false }), state('b')]);
  assert.deepEqual(evaluate(r, 'zz', { key: 'u' }), { flag_key: 'zz', value: null, reason: 'NOT_FOUND' });
  assert.equal(evaluate(r, 'a', { key: 'u' }).reason, 'DISABLED');
  assert.equal(evaluate(r, 'b', { key: 'u' }).reason, 'DISABLED');
  assert.equal(evaluate(r, 'b', { key: 'u' }, { now: Date.parse('1999-01-01') }).reason, 'FALLTHROUGH');
});

test('rules: stable priority order, segments, operators, numbers formatted as Go does', () => {
  const r = rs([flag('f', { flag_type: 'string', default_value: 'off' })], [state('f', {
    default_value: 'on',
    rules: [
      { priority: 1, conditions: [{ attribute: 'plan', operator: 'eq', values: ['pro'] }], segment_keys: [], match_type: 'all', percentage: 10000, value: 'first' },
      { priority: 1, conditions: [{ attribute: 'plan', operator: 'in', values: ['pro', 'team'] }], segment_keys: [], match_type: 'all', percentage: 10000, value: 'second' },
      { priority: 0, conditions: [], segment_keys: ['beta'], match_type: 'all', percentage: 10000, value: 'segment' },
      { priority: 2, conditions: [{ attribute: 'n', operator: 'eq', values: ['1e+06'] }], segment_keys: [], match_type: 'all', percentage: 10000, value: 'million' },
      { priority: 3, conditions: [{ attribute: 'email', operator: 'regex', values: ['@corp\\.com$'] }, { attribute: 'age', operator: 'gte', values: ['18'] }], segment_keys: [], match_type: 'any', percentage: 10000, value: 'any' },
      { priority: 4, conditions: [{ attribute: 'x', operator: 'bogus', values: ['1'] }], segment_keys: [], match_type: 'all', percentage: 10000, value: 'never' },
    ],
  })], [{ key: 'beta', match_type: 'all', rules: [{ attribute: 'country', operator: 'eq', values: ['DE'] }] }]);
  const ev = (attributes: Record<string, unknown>) => evaluate(r, 'f', { key: 'u', attributes: attributes as never });
  assert.deepEqual(ev({ plan: 'pro' }), { flag_key: 'f', value: 'first', reason: 'TARGETED' });
  assert.equal(ev({ plan: 'team' }).value, 'second');
  assert.equal(ev({ country: 'DE', plan: 'pro' }).value, 'segment');
  assert.equal(ev({ n: 1000000 }).value, 'million');
  assert.equal(ev({ age: 30 }).value, 'any');
  assert.equal(ev({ age: 'x', email: 'a@corp.com' }).value, 'any');
  assert.equal(ev({ x: '1' }).reason, 'FALLTHROUGH');
  assert.equal(ev({ x: '1' }).value, 'on');
});

test('exists: a missing attribute matches only exists ["false"]', () => {
  const mk = (v: string) => rs([flag('f')], [state('f', { default_value: false, rules: [{ priority: 0, conditions: [{ attribute: 'a', operator: 'exists', values: [v] }], segment_keys: [], match_type: 'all', percentage: 10000, value: true }] })]);
  assert.equal(evaluate(mk('false'), 'f', { key: 'u' }).value, true);
  assert.equal(evaluate(mk('true'), 'f', { key: 'u' }).value, false);
  assert.equal(evaluate(mk('true'), 'f', { key: 'u', attributes: { a: 1 } }).value, true);
});

test('rollouts and variants cut at the bucket boundary', () => {
  const key = 'user-123';
  const b = bucketUser('new-checkout', key); // 9856
  const roll = (pct: number) => rs([flag('new-checkout')], [state('new-checkout', { percentage_rollout: pct })]);
  assert.equal(evaluate(roll(b + 1), 'new-checkout', { key }).reason, 'ROLLOUT');
  assert.deepEqual(evaluate(roll(b), 'new-checkout', { key }), { flag_key: 'new-checkout', value: false, reason: 'FALLTHROUGH' });
  const ab = rs([flag('new-checkout', { flag_type: 'ab', default_value: 'a' })], [state('new-checkout', {
    variants: [{ key: 'a', value: 'A', weight: b }, { key: 'b', value: 'B', weight: 10000 - b }],
  })]);
  assert.deepEqual(evaluate(ab, 'new-checkout', { key }), { flag_key: 'new-checkout', value: 'B', reason: 'VARIANT', variant_key: 'b' });
  const rule0 = rs([flag('new-checkout')], [state('new-checkout', { default_value: false, rules: [{ priority: 0, conditions: [], segment_keys: [], match_type: 'all', percentage: 0, value: true }] })]);
  assert.equal(evaluate(rule0, 'new-checkout', { key }).reason, 'FALLTHROUGH', 'percentage 0 skips the rule');
});

test('prerequisites (with cycles) and mutual exclusion', () => {
  const r = rs(
    [flag('base'), flag('child', { prerequisites: ['base'] }), flag('c1', { prerequisites: ['c2'] }), flag('c2', { prerequisites: ['c1'] }),
      flag('m1', { mutual_exclusion_group: 'g' }), flag('m2', { mutual_exclusion_group: 'g' })],
    [state('base', { default_value: false }), state('child'), state('c1'), state('c2'), state('m1'), state('m2')],
  );
  assert.equal(evaluate(r, 'child', { key: 'u' }).reason, 'PREREQUISITE_FAILED');
  assert.equal(evaluate(r, 'c1', { key: 'u' }).reason, 'PREREQUISITE_FAILED');
  for (const key of ['u1', 'u2', 'u3', 'u4']) {
    const winner = bucketUser('m1', key) <= bucketUser('m2', key) ? 'm1' : 'm2';
    const loser = winner === 'm1' ? 'm2' : 'm1';
    assert.equal(evaluate(r, winner, { key }).reason, 'FALLTHROUGH');
    assert.equal(evaluate(r, loser, { key }).reason, 'MUTUALLY_EXCLUDED');
  }
});
