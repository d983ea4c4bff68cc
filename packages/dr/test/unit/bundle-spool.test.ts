// A restore's pieces by bundle (commands/restore/bundle-spool.ts): spilled to a file beside the data
// directory in segments, every piece of a bundle comes back (and only its), once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleSpool } from '../../src/commands/restore/bundle-spool.js';
import { PackedPieces, BadPieceError } from '../../src/repository/packed-pieces.js';
import type { ManifestFile } from '../../src/repository/manifest.js';

const piece = (i: number, backup: string, bundle: number): ManifestFile => ({
  path: `base/5/${16384 + (i % 3)}`, size: 8192 + i, ...(i ? { fileOffset: i * 8192 } : {}), mode: 0o600, mtimeMs: 1_796_000_000_000 + i,
  sha256: createHash('sha256').update(String(i)).digest('hex'), backup, bundle, offset: i * 8192, blockMap: { backup, bundle, first: i },
});

test('each bundle gets back exactly its pieces, in the order listed, without block maps, once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-spool-'));
  try {
    const file = join(dir, 'pgdata.fsdr-pieces');
    // A link left where the spool goes is replaced, never written through.
    writeFileSync(join(dir, 'victim'), 'keep');
    symlinkSync(join(dir, 'victim'), file);
    const spool = new BundleSpool(file);
    const listed: ManifestFile[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = piece(i, i % 5 === 0 ? '20261201T000000Z-F' : '20261202T000000Z-I', i % 7);
      listed.push(p);
      spool.push(p);
    }
    const bundles = spool.bundles();
    assert.equal(bundles.length, 14);
    assert.equal(bundles.reduce((a, b) => a + b.count, 0), 1000);
    for (const b of bundles) {
      const got = [...new PackedPieces(spool.take(b.key))];
      const want = listed.filter((p) => `backups/${p.backup}/bundle-${String(p.bundle).padStart(5, '0')}` === b.key).map(({ blockMap: _m, ...p }) => p);
      assert.equal(got.length, b.count);
      assert.deepEqual(got, want, b.key);
      assert.throws(() => spool.take(b.key), /taken already/, 'a second take would restore nothing');
    }
    assert.deepEqual([...spool.paths].sort(), ['base/5/16384', 'base/5/16385', 'base/5/16386']);
    assert.throws(() => spool.push({ ...listed[0]!, sha256: 'nope' }), BadPieceError);
    assert.throws(() => spool.push({ ...listed[0]!, bundle: -1 }), BadPieceError);
    spool.close();
    assert.equal(existsSync(file), false, 'removed at the end');
    assert.equal(existsSync(join(dir, 'victim')), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
