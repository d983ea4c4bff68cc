// How a backup packs files into bundles: small files share one, a large file is split into pieces
// across several bundles (so several workers copy it), and no byte is left out or counted twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partition } from '../../src/commands/backup/plan.js';

const f = (path: string, size: number) => ({ path, abs: `/pg/${path}`, size, mode: 0o600, mtimeMs: 0 });
const MB = 1 << 20;

test('small files share bundles, a large file spreads over several, every byte once', () => {
  const files = [f('PG_VERSION', 3), f('base/1/1', 10 * MB), f('base/1/2', 250 * MB + 7), f('base/1/3', 0), f('global/1', 5 * MB)];
  const bundles = partition(files, 64 * MB);
  for (const b of bundles) assert.ok(b.reduce((a, p) => a + p.length, 0) <= 64 * MB);
  const big = bundles.flat().filter((p) => p.file.path === 'base/1/2');
  assert.equal(big.length, 4);
  assert.deepEqual(big.map((p) => p.start), [0, 64 * MB, 128 * MB, 192 * MB]);
  assert.equal(new Set(bundles.map((b, i) => (b.some((p) => p.file.path === 'base/1/2') ? i : -1)).filter((i) => i >= 0)).size, 4, 'in four bundles');
  for (const file of files) {
    const pieces = bundles.flat().filter((p) => p.file.path === file.path).sort((a, b) => a.start - b.start);
    assert.equal(pieces.reduce((a, p) => a + p.length, 0), file.size, file.path);
    let at = 0;
    for (const p of pieces) {
      assert.equal(p.start, at, 'contiguous');
      at += p.length;
    }
  }
  assert.deepEqual(bundles[0]!.map((p) => p.file.path), ['PG_VERSION', 'base/1/1'], 'a full-size piece starts its own bundle');
});
