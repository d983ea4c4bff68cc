// Golden-set building blocks without servers: canonical JSON, boundary keys, order-independence,
// and a 1-basis-point rollout change caught by the eval module alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketUser, type Ruleset } from '@featuresignals/sdk/eval';
import { boundaryKeys, canonicalJson, compareGolden, generateContexts, localEvaluator, recordGolden } from '../src/index.js';

const env = (slug: string, pct: number): Ruleset => ({
  env: { id: slug, slug }, version: 1, dbid: 'x:1', segments: [],
  flags: [{ key: 'roll', flag_type: 'boolean', default_value: false, prerequisites: [], mutual_exclusion_group: '', expires_at: null }],
  states: [{ flag_key: 'roll', enabled: true, default_value: true, percentage_rollout: pct, variants: [],
    rules: [{ priority: 0, conditions: [{ attribute: 'tier', operator: 'eq', values: ['gold'] }], segment_keys: [], match_type: 'all', percentage: 10000, value: false }] }],
});

test('canonical JSON sorts keys and normalises numbers', () => {
  assert.equal(canonicalJson({ b: 1.0, a: [true, null, { d: 'x', c: 2 }] }), '{"a":[true,null,{"c":2,"d":"x"}],"b":1}');
});

test('boundary keys land exactly at p-1 and p', () => {
  const keys = boundaryKeys('roll', 5000);
  assert.deepEqual(keys.map((k) => bucketUser('roll', k)).sort(), [4999, 5000]);
});

test('records do not depend on the order environments are listed in', async () => {
  const a = [env('prod', 5000), env('dev', 100)];
  const b = [a[1], a[0]];
  assert.deepEqual(generateContexts(a, { count: 50 }), generateContexts(b, { count: 50 }));
  const asOf = new Date(0);
  const ra = await recordGolden(a, localEvaluator(a, 0), { asOf, contextCount: 50 });
  const rb = await recordGolden(b, localEvaluator(b, 0), { asOf, contextCount: 50 });
  assert.deepEqual(ra, rb);
});

test('a 1-basis-point change of a rollout changes the fingerprint and names the boundary context', async () => {
  const before = [env('prod', 5000)];
  const after = [env('prod', 5001)];
  const golden = await recordGolden(before, localEvaluator(before), { contextCount: 20 });
  const later = await recordGolden(after, localEvaluator(after), { contexts: golden.contexts });
  const cmp = compareGolden(golden, later);
  assert.equal(cmp.equal, false);
  assert.deepEqual(cmp.rulesetChanges, ['prod']);
  assert.equal(cmp.differences.length, 1, JSON.stringify(cmp.differences));
  assert.match(cmp.differences[0].context, /^golden-b-roll-5000-\d+\|bare$/);
  assert.notEqual(golden.envDigests.prod, later.envDigests.prod);
});

test('a large project stays bounded: 10,000 flags get 20 random contexts over every flag, and each boundary key is evaluated for its own flag only', async () => {
  const rs = env('prod', 5000);
  const many: Ruleset = { ...rs, flags: [], states: [] };
  for (let i = 0; i < 10_000; i++) {
    many.flags.push({ ...rs.flags[0]!, key: `f${i}` });
    many.states.push({ ...rs.states[0]!, flag_key: `f${i}`, percentage_rollout: i % 4 === 0 ? 2500 : 0 });
  }
  const contexts = generateContexts([many]);
  const random = contexts.filter((c) => !c.flags);
  const boundary = contexts.filter((c) => c.flags);
  assert.equal(random.length, 20);
  assert.equal(boundary.length, 2500 * 2 * 2, 'two keys per cut, bare and with attributes');
  assert.ok(boundary.every((c) => c.flags!.length === 1 && c.key.startsWith(`golden-b-${c.flags![0]}-`)));
  let evaluations = 0;
  const counting = localEvaluator([many], 0);
  const rec = await recordGolden([many], async (e, flags, ctx) => { evaluations += flags.length; return counting(e, flags, ctx); }, { asOf: new Date(0), contexts });
  // 20 × (10,000 flags + 2 missing-flag probes) + one line per boundary context.
  assert.equal(evaluations, 20 * 10_002 + 10_000);
  assert.equal(rec.lines.length, evaluations);
  // A small project keeps its 1000 random contexts.
  assert.equal(generateContexts([rs]).filter((c) => !c.flags).length, 1000);
});
