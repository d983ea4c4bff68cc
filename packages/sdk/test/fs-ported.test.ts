// Every case of FeatureSignals' engine tests (server/internal/eval: rules_test.go, engine_test.go,
// engine_edge_test.go, hash_test.go), ported as facts: the same inputs must give the same outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketUser, evaluate, evaluateAll, matchAll, matchCondition, type Condition, type EvalContext, type FlagDef, type FlagState, type Rule, type Ruleset, type Segment } from '../src/eval/index.js';

const flag = (key: string, extra: Partial<FlagDef> = {}): FlagDef =>
  ({ key, flag_type: 'boolean', default_value: false, prerequisites: [], mutual_exclusion_group: '', expires_at: null, ...extra });
const state = (flag_key: string, extra: Partial<FlagState> = {}): FlagState =>
  ({ flag_key, enabled: true, default_value: null, rules: [], percentage_rollout: 0, variants: [], ...extra });
const rule = (extra: Partial<Rule>): Rule => ({ priority: 1, conditions: [], segment_keys: [], match_type: 'all', percentage: 10000, value: true, ...extra });
const rs = (flags: FlagDef[], states: FlagState[], segments: Segment[] = []): Ruleset => ({ env: { id: 'e', slug: 'prod' }, version: 1, dbid: 'x:1', flags, states, segments });
const c = (attribute: string, operator: string, values: string[]): Condition => ({ attribute, operator, values });

test('rules_test.go: every operator case', () => {
  const cases: Array<[EvalContext, Condition, boolean]> = [];
  const add = (ctx: EvalContext, rows: Array<[Condition, boolean]>) => rows.forEach(([cond, want]) => cases.push([ctx, cond, want]));
  add({ key: 'user-1', attributes: { plan: 'pro', count: 42 } }, [
    [c('plan', 'eq', ['pro']), true], [c('plan', 'eq', ['free']), false], [c('key', 'eq', ['user-1']), true],
    [c('key', 'eq', ['user-2']), false], [c('count', 'eq', ['42']), true], [c('plan', 'eq', []), false], [c('nonexistent', 'eq', ['x']), false],
  ]);
  add({ key: 'user-1', attributes: { plan: 'pro' } }, [[c('plan', 'neq', ['free']), true], [c('plan', 'neq', ['pro']), false], [c('nonexistent', 'neq', ['x']), false]]);
  add({ key: 'user-1', attributes: { email: 'alice@example.com' } }, [
    [c('email', 'contains', ['example']), true], [c('email', 'contains', ['gmail']), false], [c('email', 'contains', ['alice@example.com']), true],
    [c('email', 'startsWith', ['alice']), true], [c('email', 'startsWith', ['bob']), false],
    [c('email', 'endsWith', ['example.com']), true], [c('email', 'endsWith', ['gmail.com']), false],
    [c('email', 'regex', ['^alice@.*\\.com$']), true], [c('email', 'regex', ['^bob@']), false], [c('email', 'regex', ['[invalid']), false], [c('email', 'regex', []), false],
  ]);
  add({ key: 'user-1', attributes: { country: 'US' } }, [
    [c('country', 'in', ['US', 'CA', 'UK']), true], [c('country', 'in', ['DE', 'FR']), false], [c('country', 'in', []), false],
    [c('country', 'notIn', ['DE', 'FR']), true], [c('country', 'notIn', ['US', 'CA']), false],
  ]);
  add({ key: 'user-1', attributes: { age: 25, score: 99.5 } }, [
    [c('age', 'gt', ['18']), true], [c('age', 'gt', ['30']), false], [c('age', 'gt', ['25']), false], [c('age', 'gte', ['25']), true],
    [c('age', 'gte', ['30']), false], [c('age', 'lt', ['30']), true], [c('age', 'lt', ['18']), false], [c('age', 'lte', ['25']), true],
    [c('score', 'gt', ['99']), true], [c('score', 'lt', ['100']), true], [c('key', 'gt', ['5']), false], [c('age', 'gt', ['abc']), false], [c('age', 'gt', []), false],
  ]);
  add({ key: 'user-1', attributes: { plan: 'pro' } }, [
    [c('plan', 'exists', []), true], [c('plan', 'exists', ['true']), true], [c('plan', 'exists', ['false']), false],
    [c('missing', 'exists', []), false], [c('missing', 'exists', ['true']), false], [c('missing', 'exists', ['false']), true],
    [c('plan', 'unknown_op', ['pro']), false],
  ]);
  add({ key: 'user-1', attributes: { premium: true } }, [[c('premium', 'eq', ['true']), true]]);
  add({ key: 'user-1' }, [[c('plan', 'eq', ['pro']), false]]);
  for (const [ctx, cond, want] of cases) assert.equal(matchCondition(cond, ctx), want, `${JSON.stringify(cond)} on ${JSON.stringify(ctx)}`);

  const ctx = { key: 'user-1', attributes: { plan: 'pro', country: 'US' } };
  assert.equal(matchAll([c('plan', 'eq', ['pro']), c('country', 'eq', ['US'])], 'all', ctx), true);
  assert.equal(matchAll([c('plan', 'eq', ['pro']), c('country', 'eq', ['DE'])], 'all', ctx), false);
  assert.equal(matchAll([c('plan', 'eq', ['free']), c('country', 'eq', ['US'])], 'any', ctx), true);
  assert.equal(matchAll([c('plan', 'eq', ['free']), c('country', 'eq', ['DE'])], 'any', ctx), false);
  assert.equal(matchAll([], 'all', { key: 'user-1' }), true, 'empty conditions match with MatchAll');
});

// engine_test.go's makeRuleset().
function base(): Ruleset {
  return rs([flag('feature-a'), flag('banner-text', { flag_type: 'string', default_value: 'default banner' }), flag('rollout-flag')], [
    state('feature-a', { rules: [rule({ conditions: [c('email', 'endsWith', ['@internal.com'])], value: true })] }),
    state('banner-text', { rules: [rule({ segment_keys: ['beta-users'], value: 'beta banner!' })] }),
    state('rollout-flag', { percentage_rollout: 5000, default_value: true }),
  ], [{ key: 'beta-users', match_type: 'any', rules: [c('plan', 'eq', ['beta']), c('email', 'in', ['alice@test.com', 'bob@test.com'])] }]);
}
const get = (r: Ruleset, key: string, fn: (s: FlagState) => void) => fn(r.states.find((s) => s.flag_key === key)!);

test('engine_test.go: not found, disabled, targeting, segments, rollout, expiry, prerequisites, evaluateAll', () => {
  let r = base();
  assert.deepEqual(evaluate(r, 'nonexistent', { key: 'user1' }), { flag_key: 'nonexistent', value: null, reason: 'NOT_FOUND' });
  get(r, 'feature-a', (s) => (s.enabled = false));
  assert.deepEqual(evaluate(r, 'feature-a', { key: 'user1' }), { flag_key: 'feature-a', value: false, reason: 'DISABLED' });
  r = base();
  assert.deepEqual(evaluate(r, 'feature-a', { key: 'user1', attributes: { email: 'dev@internal.com' } }), { flag_key: 'feature-a', value: true, reason: 'TARGETED' });
  assert.equal(evaluate(r, 'feature-a', { key: 'user2', attributes: { email: 'user@external.com' } }).reason, 'FALLTHROUGH');
  assert.deepEqual(evaluate(r, 'banner-text', { key: 'user3', attributes: { plan: 'beta' } }), { flag_key: 'banner-text', value: 'beta banner!', reason: 'TARGETED' });
  assert.equal(evaluate(r, 'banner-text', { key: 'user4', attributes: { email: 'alice@test.com' } }).reason, 'TARGETED');
  let on = 0;
  for (let i = 0; i < 10000; i++) if (evaluate(r, 'rollout-flag', { key: `user-${i}` }).value === true) on++;
  assert.ok(on / 10000 >= 0.4 && on / 10000 <= 0.6, `~50 % rollout, got ${on}`);
  const now = Date.now();
  r = base(); // a ruleset is indexed once (prepare), so each variant is a new object
  r.flags[0].expires_at = new Date(now - 86_400_000).toISOString();
  assert.deepEqual(evaluate(r, 'feature-a', { key: 'user1', attributes: { email: 'dev@internal.com' } }, { now }), { flag_key: 'feature-a', value: false, reason: 'DISABLED' });
  r = base();
  r.flags[0].expires_at = new Date(now + 86_400_000).toISOString();
  assert.equal(evaluate(r, 'feature-a', { key: 'user1', attributes: { email: 'dev@internal.com' } }, { now }).reason, 'TARGETED');

  r = base();
  r.flags[0].prerequisites = ['rollout-flag'];
  const inRollout = Array.from({ length: 100 }, (_, i) => `user-in-rollout-${i}`).find((k) => evaluate(r, 'rollout-flag', { key: k }).value === true)!;
  assert.notEqual(evaluate(r, 'feature-a', { key: inRollout, attributes: { email: 'dev@internal.com' } }).reason, 'PREREQUISITE_FAILED');
  r = base();
  r.flags.push(flag('dependent', { prerequisites: ['feature-a'] }));
  r.states.push(state('dependent', { default_value: true }));
  get(r, 'feature-a', (s) => (s.enabled = false));
  assert.deepEqual(evaluate(r, 'dependent', { key: 'user1' }), { flag_key: 'dependent', value: false, reason: 'PREREQUISITE_FAILED' });

  const all = evaluateAll(base(), { key: 'user1' });
  assert.deepEqual(Object.keys(all).sort(), ['banner-text', 'feature-a', 'rollout-flag']);
  assert.deepEqual(evaluateAll(rs([], []), { key: 'user1' }), {}, 'EvaluateAll_EmptyRuleset');
});

test('engine_test.go: mutual exclusion and A/B variants', () => {
  const mx = rs(['exp-a', 'exp-b', 'exp-c'].map((k) => flag(k, { mutual_exclusion_group: 'experiment-1' })), ['exp-a', 'exp-b', 'exp-c'].map((k) => state(k, { default_value: true })));
  for (let i = 0; i < 1000; i++) {
    const winners = ['exp-a', 'exp-b', 'exp-c'].filter((k) => evaluate(mx, k, { key: `user-${i}` }).reason !== 'MUTUALLY_EXCLUDED');
    assert.equal(winners.length, 1, `user-${i}`);
  }
  const off = rs(['exp-a', 'exp-b'].map((k) => flag(k, { mutual_exclusion_group: 'grp' })), [state('exp-a', { default_value: true }), state('exp-b', { enabled: false, default_value: true })]);
  assert.notEqual(evaluate(off, 'exp-a', { key: 'any-user' }).reason, 'MUTUALLY_EXCLUDED');
  assert.notEqual(evaluate(base(), 'feature-a', { key: 'user1', attributes: { email: 'dev@internal.com' } }).reason, 'MUTUALLY_EXCLUDED');

  const ab = rs([flag('checkout-exp', { flag_type: 'ab', default_value: 'control' })], [state('checkout-exp', { variants: [{ key: 'control', value: 'control', weight: 5000 }, { key: 'variant-a', value: 'new-checkout', weight: 5000 }] })]);
  let control = 0;
  for (let i = 0; i < 10000; i++) {
    const r = evaluate(ab, 'checkout-exp', { key: `user-${i}` });
    assert.equal(r.reason, 'VARIANT');
    assert.ok(r.variant_key === 'control' || r.variant_key === 'variant-a');
    if (r.variant_key === 'control') control++;
  }
  assert.ok(control / 10000 >= 0.4 && control / 10000 <= 0.6);
  const three = rs([flag('exp', { flag_type: 'ab', default_value: 'x' })], [state('exp', { variants: [{ key: 'a', value: 'a', weight: 3333 }, { key: 'b', value: 'b', weight: 3333 }, { key: 'c', value: 'c', weight: 3334 }] })]);
  const first = evaluate(three, 'exp', { key: 'stable-user' }).variant_key;
  for (let i = 0; i < 100; i++) assert.equal(evaluate(three, 'exp', { key: 'stable-user' }).variant_key, first);
});

test('engine_edge_test.go: missing state, defaults, zero and partial percentages, priority, segments, match types, flag types', () => {
  const one = (f: Partial<FlagDef>, s?: Partial<FlagState>, segments: Segment[] = []) => rs([flag('flag-1', f)], s ? [state('flag-1', s)] : [], segments);
  assert.deepEqual(evaluate(one({}), 'flag-1', { key: 'user1' }), { flag_key: 'flag-1', value: false, reason: 'DISABLED' });
  assert.deepEqual(evaluate(one({ default_value: 'off-value' }, { default_value: 'on-value' }), 'flag-1', { key: 'user1' }), { flag_key: 'flag-1', value: 'on-value', reason: 'FALLTHROUGH' });
  assert.equal(evaluate(one({ default_value: 'flag-default' }, {}), 'flag-1', { key: 'user1' }).value, 'flag-default');
  const pro = [c('plan', 'eq', ['pro'])];
  assert.equal(evaluate(one({}, { rules: [rule({ conditions: pro, percentage: 0 })] }), 'flag-1', { key: 'user1', attributes: { plan: 'pro' } }).reason, 'FALLTHROUGH');
  const partial = one({ default_value: 'off' }, { rules: [rule({ conditions: pro, percentage: 5000, value: 'on' })] });
  let on = 0;
  for (let i = 0; i < 10000; i++) if (evaluate(partial, 'flag-1', { key: `user-${i}`, attributes: { plan: 'pro' } }).value === 'on') on++;
  assert.ok(on / 10000 >= 0.4 && on / 10000 <= 0.6);
  const prio = one({ default_value: 'default' }, { rules: [rule({ priority: 1, conditions: [c('email', 'endsWith', ['@admin.com'])], value: 'admin' }), rule({ priority: 2, conditions: pro, value: 'pro' })] });
  assert.equal(evaluate(prio, 'flag-1', { key: 'user1', attributes: { email: 'dev@admin.com', plan: 'pro' } }).value, 'admin');
  assert.equal(evaluate(prio, 'flag-1', { key: 'user2', attributes: { email: 'dev@other.com', plan: 'pro' } }).value, 'pro');
  assert.equal(evaluate(one({}, { rules: [rule({ segment_keys: ['nonexistent-segment'], match_type: '' })] }), 'flag-1', { key: 'user1' }).reason, 'FALLTHROUGH');
  const segAndCond = one({}, { rules: [rule({ segment_keys: ['beta-users'], conditions: [c('country', 'eq', ['US'])] })] }, [{ key: 'beta-users', match_type: 'all', rules: [c('plan', 'eq', ['beta'])] }]);
  assert.equal(evaluate(segAndCond, 'flag-1', { key: 'user1', attributes: { plan: 'beta', country: 'US' } }).value, true);
  assert.notEqual(evaluate(segAndCond, 'flag-1', { key: 'user2', attributes: { plan: 'beta', country: 'DE' } }).value, true);
  assert.notEqual(evaluate(segAndCond, 'flag-1', { key: 'user3', attributes: { plan: 'free', country: 'US' } }).value, true);
  let off = 0;
  const tiny = one({ default_value: 'off' }, { percentage_rollout: 1, default_value: 'on' });
  for (let i = 0; i < 1000; i++) { const r = evaluate(tiny, 'flag-1', { key: `user-${i}` }); if (r.value === 'off' && r.reason === 'FALLTHROUGH') off++; }
  assert.ok(off >= 990, `${off}/1000 off`);
  const any = one({}, { rules: [rule({ conditions: [c('plan', 'eq', ['enterprise']), c('email', 'endsWith', ['@admin.com'])], match_type: 'any' })] });
  assert.equal(evaluate(any, 'flag-1', { key: 'user1', attributes: { plan: 'enterprise', email: 'user@other.com' } }).value, true);
  const dflt = one({}, { rules: [rule({ conditions: [c('plan', 'eq', ['pro']), c('country', 'eq', ['US'])], match_type: '' })] });
  assert.notEqual(evaluate(dflt, 'flag-1', { key: 'user1', attributes: { plan: 'pro', country: 'DE' } }).value, true, 'empty rule match_type defaults to all');
  const str = rs([flag('banner', { flag_type: 'string', default_value: 'default banner' })], [state('banner', { rules: [rule({ conditions: pro, value: 'pro banner' })] })]);
  assert.equal(evaluate(str, 'banner', { key: 'user1', attributes: { plan: 'pro' } }).value, 'pro banner');
  const json = rs([flag('config', { flag_type: 'json', default_value: { color: 'blue', size: 12 } })], [state('config', { rules: [rule({ conditions: pro, value: { color: 'red', size: 24 } })] })]);
  assert.deepEqual(evaluate(json, 'config', { key: 'user1', attributes: { plan: 'pro' } }).value, { color: 'red', size: 24 });
});

test('hash_test.go: deterministic, in range, spread over flags, uniform', () => {
  assert.equal(bucketUser('flag-1', 'user-42'), bucketUser('flag-1', 'user-42'));
  for (let i = 0; i < 10000; i++) { const b = bucketUser('test-flag', `u${i}`); assert.ok(b >= 0 && b <= 9999); }
  assert.ok(new Set(Array.from({ length: 50 }, (_, i) => bucketUser(`flag-${i}`, 'user-123'))).size >= 5);
  const tenths = new Array(10).fill(0);
  for (let i = 0; i < 100000; i++) tenths[Math.floor(bucketUser('dist-flag', `user-${i}`) / 1000)]++;
  for (const n of tenths) assert.ok(n >= 8500 && n <= 11500, `bucket count ${n}`);
});
