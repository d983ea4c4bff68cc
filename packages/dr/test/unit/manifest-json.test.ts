// The manifest's JSON made piece by piece (BackupCatalog.write hashes it once and stores it once):
// the pieces parse back to the manifest, stay small, and are the same bytes every time. Read back
// piece by piece (manifest-scanner.ts) into packed pieces (packed-pieces.ts): the same pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { manifestJson } from '../../src/repository/backup-catalog.js';
import type { BackupManifest, ManifestFile } from '../../src/repository/manifest.js';
import { ManifestScanner, ManifestSyntaxError } from '../../src/repository/manifest-scanner.js';
import { BadPieceError, PackedPieces } from '../../src/repository/packed-pieces.js';

function manifest(files: number): BackupManifest {
  const f = (i: number): ManifestFile => ({ path: `base/5/${16384 + (i >> 4)}`, size: 8192, ...(i ? { fileOffset: i * 8192 } : {}), mode: 0o600, mtimeMs: 1_796_000_000_000 + i, sha256: createHash('sha256').update(String(i)).digest('hex'), backup: '20261204T000000Z-I', bundle: i % 7, offset: i * 8192, blockMap: { backup: '20261204T000000Z-I', bundle: i % 7, first: i } });
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
    const { files, ...rest } = m;
    // Each piece is valid until the next is asked for: copied, as hashing and the encoder do.
    const pieces = Array.from(manifestJson(rest, files), (p) => Buffer.from(p));
    const bytes = Buffer.concat(pieces);
    assert.deepEqual(JSON.parse(bytes.toString('utf8')), JSON.parse(JSON.stringify(m)));
    assert.ok(pieces.every((p) => p.length < 65536 + 1024), 'no piece much over 64 KiB');
    if (n === 5000) assert.ok(pieces.length > 10, `${pieces.length} pieces`);
    assert.ok(Buffer.concat(Array.from(manifestJson(rest, files), (p) => Buffer.from(p))).equals(bytes), 'deterministic: the digest in the summary is of the bytes stored');
  }
});

/** The pieces a scanner hands on, packed, from the JSON cut into chunks of `chunk` characters. */
function scan(json: string, chunk: number): { rest: Record<string, unknown>; files: PackedPieces } {
  const files = new PackedPieces();
  const scanner = new ManifestScanner((f) => files.push(f as ManifestFile));
  for (let at = 0; at < json.length; at += chunk) scanner.write(json.slice(at, at + chunk));
  return { rest: scanner.end(), files };
}

test('the scanner reads a manifest piece by piece, whatever the chunks, in the layout written now and before', () => {
  const m = manifest(300);
  m.files[7] = { ...m.files[7]!, path: 'base/5/"odd\\name]{', blockMap: undefined, blocks: 'AAAA' };
  delete m.files[7]!.blockMap;
  const { files, ...rest } = m;
  const now = Buffer.concat(Array.from(manifestJson(rest, files), (p) => Buffer.from(p))).toString('utf8');
  // Before pieces were written one by one, files sat among the fields (JSON.stringify's order).
  const before = JSON.stringify(m, null, 1);
  for (const json of [now, before]) {
    for (const chunk of [1, 7, 4096, json.length]) {
      const got = scan(json, chunk);
      assert.deepEqual(got.rest, { ...JSON.parse(json), files: [] }, `fields, chunks of ${chunk}`);
      assert.deepEqual([...got.files], files, `pieces, chunks of ${chunk}`);
    }
  }
});

test('a damaged or truncated manifest fails the scan, never yields a partial list', () => {
  const m = manifest(20);
  const { files, ...rest } = m;
  const json = Buffer.concat(Array.from(manifestJson(rest, files), (p) => Buffer.from(p))).toString('utf8');
  assert.throws(() => scan(json.slice(0, -40), 1000), ManifestSyntaxError, 'truncated');
  assert.throws(() => scan(json.replace('"files":[', '"files":[3,'), 1000), ManifestSyntaxError, 'a piece that is not an object');
  assert.throws(() => scan(json.replace('"files":[', '"nofiles":['), 1000), ManifestSyntaxError, 'no files at all');
  assert.throws(() => scan(json.replace('"mode":384', '"mode":384,,'), 1000), ManifestSyntaxError, 'a piece that is not JSON');
  assert.throws(() => scan(json.replace(/"sha256":"[0-9a-f]{64}"/, '"sha256":"zz"'), 1000), BadPieceError, 'a checksum that is not one');
  assert.throws(() => scan(json.replace('"size":8192', '"size":-1'), 1000), BadPieceError, 'a negative size');
});

test('packed pieces: every field comes back, tables translate, maps and mode can be left out or replaced', () => {
  const m = manifest(1500);
  const a = new PackedPieces();
  for (const f of m.files) a.push(f);
  assert.equal(a.count, 1500);
  assert.deepEqual([...a], m.files, 'each piece as it was pushed, across slabs');
  const b = new PackedPieces();
  b.push({ ...m.files[0]!, path: 'global/1', backup: 'OTHER' });
  b.pushFrom(a, 1499);
  b.pushFrom(a, 3, { maps: false, mode: 0o640 });
  const { blockMap: _m, ...plain } = m.files[3]!;
  assert.deepEqual([...b].slice(1), [m.files[1499], { ...plain, mode: 0o640 }]);
  // Through a worker message: plain data, the buffer as a Uint8Array.
  const d = b.data();
  const back = new PackedPieces({ ...d, records: new Uint8Array(d.records) as Buffer });
  assert.deepEqual([...back], [...b]);
  assert.deepEqual(back.pathList(), ['global/1', m.files[1499]!.path, m.files[3]!.path]);
  // Records read in order are given back a slab at a time; a released one can never be read by mistake.
  a.release(600);
  assert.throws(() => a.get(0), /released/);
  assert.throws(() => a.path(511), /released/);
  assert.deepEqual(a.get(512), m.files[512], 'the slab still in use is whole');
  a.release(1e9);
  assert.throws(() => a.get(1499), /released/);
});

test('spilled packed pieces: the same pieces from a file, in any order, released and closed like the rest', async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-spill-'));
  try {
    const m = manifest(20 * 512 + 17);
    const a = new PackedPieces(undefined, { spillDir: dir });
    for (const f of m.files) a.push(f);
    assert.deepEqual(readdirSync(dir), [], 'the spill file is unlinked as soon as it is open');
    assert.deepEqual([...a], m.files, 'in order');
    // Out of order, past the slabs kept in memory: each read comes back from the file.
    for (const i of [10_000, 3, 5000, 511, 512, 9000, 1, 10_256, 7777, 0, 10_256]) assert.deepEqual(a.get(i), m.files[i]);
    assert.equal(a.pathIndex(5000), a.pathList().indexOf(m.files[5000]!.path));
    // Copied out (carry-over) and sent to a worker whole.
    const b = new PackedPieces(undefined, { spillDir: dir });
    for (let i = m.files.length - 1; i >= 0; i -= 3) b.pushFrom(a, i);
    assert.deepEqual([...b], m.files.filter((_, i) => (m.files.length - 1 - i) % 3 === 0).reverse());
    assert.deepEqual([...new PackedPieces(a.data())], m.files);
    a.release(2048);
    assert.throws(() => a.get(100), /released/);
    assert.deepEqual(a.get(2048), m.files[2048]);
    a.close();
    assert.throws(() => a.get(9000), /released/);
    b.close();
    b.close(); // twice is harmless
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
