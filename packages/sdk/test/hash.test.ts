// Pins MurmurHash3 and FeatureSignals' bucket vectors (workload.md §1.4), incl. a UTF-8 key,
// and checks that a 25 % rollout lands within ±1 % over 100,000 keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketUser, murmur3String } from '../src/eval/index.js';

test('standard MurmurHash3_x86_32 vectors', () => {
  assert.equal(murmur3String('', 0), 0x00000000);
  assert.equal(murmur3String('', 1), 0x514e28b7);
  assert.equal(murmur3String('hello', 0), 0x248bfa47);
  assert.equal(murmur3String('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
});

test('FeatureSignals BucketUser vectors, non-ASCII hashed as UTF-8 bytes', () => {
  assert.equal(bucketUser('flag-1', 'user-42'), 3755);
  assert.equal(bucketUser('new-checkout', 'user-123'), 9856);
  assert.equal(bucketUser('dark-mode', 'user-1'), 6143);
  assert.equal(bucketUser('checkout-experiment', 'alice'), 7901);
  assert.equal(bucketUser('new-checkout', 'müller'), 158);
});

test('a 25% rollout covers 25% ± 1% of 100,000 keys', () => {
  let inside = 0;
  for (let i = 0; i < 100_000; i++) if (bucketUser('rollout-flag', `user-${i}`) < 2500) inside++;
  const share = inside / 100_000;
  assert.ok(Math.abs(share - 0.25) <= 0.01, `share ${share}`);
});
