// The manifest's JSON made piece by piece (BackupCatalog.write hashes it once and stores it once):
// the pieces parse back to the manifest, stay small, and are the same bytes every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { manifestJson } from '../../src/repository/backup-catalog.js';
import type { BackupManifest, ManifestFile } from '../../src/repository/manifest.js';

function manifest(files: number): BackupManifest {
  const f = (i: number): ManifestFile => ({ path: `base/5/${16384 + (i >> 4)}`, size: 8192, fileOffset: i * 8192, mode: 0o600, mtimeMs: 1_796_000_000_000 + i, sha256: createHash('sha256').update(String(i)).digest('hex'), backup: '20261204T000000Z-I', bundle: i % 7, offset: i * 8192, blockMap: { backup: '20261204T000000Z-I', bundle: i % 7, first: i } });
  return {
    format: 1, id: '20261204T000000Z-I', type: 'incr', prior: '20261203T000000Z-F', references: ['20261203T000000Z-F', '20261204T000000Z-I'], systemIdentifier: '7312345678901234567',
    pgVersion: 15, pgVersionNum: 150010, walSegmentSize: 16 << 20, timeline: 1, startLsn: '0/2000028', stopLsn: '0/2000138', startWal: '000000010000000000000002', stopWal: '000000010000000000000002',
    startTime: '2026-12-04T00:00:00.000Z', stopTime: '2026-12-04T00:00:05.000Z', label: 'fsdr x', backupLabel: 'START WAL LOCATION: 0/2000028\n', tablespaceMap: '', directories: [{ path: '.', mode: 0o700 }], tablespaces: [],
    files: Array.from({ length: files }, (_, i) => f(i)), bundles: [{ index: 0, size: 1, storedSize: 1, sha256: 'x' }], blockSize: 8192,
    totals: { files: 1, bytes: files * 8192, storedBytes: 1, newBytes: 1 },
  } as BackupManifest;
}

test('the pieces are the manifest, in pieces of about 64 KiB, the same bytes every time', () => {
  for (const n of [0, 1, 5000]) {
    const m = manifest(n);
    const pieces = [...manifestJson(m)];
    const bytes = Buffer.concat(pieces);
    assert.deepEqual(JSON.parse(bytes.toString('utf8')), JSON.parse(JSON.stringify(m)));
    assert.ok(pieces.every((p) => p.length < 65536 + 1024), 'no piece much over 64 KiB');
    if (n === 5000) assert.ok(pieces.length > 10, `${pieces.length} pieces`);
    assert.ok(Buffer.concat([...manifestJson(m)]).equals(bytes), 'deterministic: the digest in the summary is of the bytes stored');
  }
});
