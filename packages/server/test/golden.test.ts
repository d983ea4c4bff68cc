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
