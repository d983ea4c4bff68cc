// Block-level incremental's logic: which files are mapped, the prior map by block index, runs of
// stored and referenced blocks, and a bundle written against a prior map that stores only the
// changed blocks and still rebuilds the file exactly (through the real codec and bundle reader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockDigest, blockMapped, DigestList, ExtentBuilder, isRelationFile, PriorMap, BLOCK_DIGEST_BYTES } from '../../src/repository/block-map.js';
import type { ManifestFile } from '../../src/repository/manifest.js';
import { attachPrior, carryOver, mapBlocks, partition, priorOver } from '../../src/commands/backup/plan.js';
import { PackedPieces } from '../../src/repository/packed-pieces.js';
import { writeBundle, type FilePiece } from '../../src/commands/backup/bundle-writer.js';
import { readBundleFiles } from '../../src/repository/bundle-reader.js';
import { ObjectCodec } from '../../src/codec/object-codec.js';
import { ObjectStore } from '../../src/repository/object-store.js';
import { FsStorage } from '../../src/storage/fs/fs-storage.js';
import { backupBlockMapKey, backupBundleKey } from '../../src/repository/layout.js';
import { IntegrityError } from '../../src/errors.js';

const KB = 1024;
/** Digests as older manifests carried them inline (base64 of 16 bytes each, back to back). */
const formatDigests = (d: Buffer[]) => Buffer.concat(d).toString('base64');
const parseDigests = (b64: string) => {
  const all = Buffer.from(b64, 'base64');
  return Array.from({ length: all.length / BLOCK_DIGEST_BYTES }, (_, i) => all.subarray(i * BLOCK_DIGEST_BYTES, (i + 1) * BLOCK_DIGEST_BYTES));
};
/** Digests [from, to) of a list, as inline base64. */
const range = (l: DigestList, from = 0, to = l.count) => l.bytes().subarray(from * BLOCK_DIGEST_BYTES, to * BLOCK_DIGEST_BYTES).toString('base64');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('only large relation files are block-mapped', () => {
  for (const p of ['base/5/16384', 'base/5/16384.3', 'base/5/16384_fsm', 'base/5/16384_vm', 'global/1262', 'pg_tblspc/16390/PG_15_202209061/5/16391.1']) assert.ok(isRelationFile(p), p);
  for (const p of ['base/5/pg_filenode.map', 'base/5/PG_VERSION', 'pg_xact/0000', 'global/pg_control', 'base/5/16384_init', 'pg_wal/000000010000000000000001', 'base/5/t3_16384', 'postgresql.conf']) assert.ok(!isRelationFile(p), p);
  assert.ok(blockMapped('base/5/16384', 1024 * KB, 1024 * KB));
  assert.ok(!blockMapped('base/5/16384', 1024 * KB - 1, 1024 * KB), 'below the threshold: file-level');
  assert.ok(!blockMapped('base/5/16384', 1 << 30, 0), '0 turns it off');
  assert.ok(!blockMapped('pg_xact/0000', 1 << 30, 1), 'never a non-relation file');
});

test('digests round-trip, 16 bytes each', () => {
  const d = [blockDigest(Buffer.from('a')), blockDigest(Buffer.from('b')), blockDigest(Buffer.alloc(0))];
  assert.equal(d[0]!.length, BLOCK_DIGEST_BYTES);
  assert.deepEqual(parseDigests(formatDigests(d)).map((x) => x.toString('hex')), d.map((x) => x.toString('hex')));
  assert.deepEqual(parseDigests(''), []);
});

test('the prior map places every block of every piece, and refuses what it cannot use', () => {
  const bs = 16 * KB;
  const dig = (n: number) => Array.from({ length: n }, (_, i) => blockDigest(Buffer.from([i, n])));
  const piece = (fileOffset: number, size: number, backup: string, bundle: number, offset: number, blocks?: string): ManifestFile => ({ path: 'base/5/1', size, ...(fileOffset ? { fileOffset } : {}), mode: 0o600, mtimeMs: 0, sha256: '', backup, bundle, offset, blocks });
  const a = dig(2);
  const b = dig(3);
  // Listed out of order, as a manifest sorted by path and offset need not be per file.
  const pieces = [piece(2 * bs, 2 * bs + 5, 'I', 4, 7, formatDigests(b)), piece(0, 2 * bs, 'F', 0, 100, formatDigests(a))];
  const m = PriorMap.of(pieces, bs, bs)!;
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => { const x = m.at(i)!; return [x.backup, x.bundle, x.offset, x.length]; }), [['F', 0, 100, bs], ['F', 0, 100 + bs, bs], ['I', 4, 7, bs], ['I', 4, 7 + bs, bs], ['I', 4, 7 + 2 * bs, 5]]);
  assert.equal(m.at(5), undefined, 'beyond the prior file');
  const block = (n: number) => Buffer.alloc(n);
  assert.deepEqual(m.same(3, block(bs), b[1]!), m.at(3), 'same digest and length: the prior copy');
  assert.equal(m.same(3, block(bs), b[0]!), undefined, 'another digest');
  assert.equal(m.same(4, block(bs), b[2]!), undefined, 'the prior block was 5 bytes, not a whole block');
  assert.deepEqual(m.same(4, block(5), b[2]!), m.at(4));
  assert.equal(m.same(9, block(bs), b[2]!), undefined);
  assert.equal(PriorMap.of(pieces, bs, 8 * KB), undefined, 'another block size');
  assert.equal(PriorMap.of([pieces[1]!, { ...pieces[0]!, blocks: undefined }], bs, bs), undefined, 'a piece without a map');
  assert.equal(PriorMap.of([piece(100, bs, 'F', 0, 0, formatDigests(dig(1)))], bs, bs), undefined, 'not on a block boundary');
  assert.equal(PriorMap.of([piece(0, 2 * bs, 'F', 0, 0, formatDigests(dig(1)))], bs, bs), undefined, 'digest count does not match the size');
});

test('a digest list holds 16 bytes per block in one buffer, grows, and formats any range', () => {
  const d = Array.from({ length: 100 }, (_, i) => blockDigest(Buffer.from([i])));
  const l = new DigestList(1);
  for (const x of d) l.push(x);
  assert.equal(l.count, 100);
  assert.equal(range(l), formatDigests(d));
  assert.equal(range(l, 10, 20), formatDigests(d.slice(10, 20)));
  assert.equal(range(l, 5, 5), '');
});

test('extents: consecutive new blocks and back-to-back reused blocks are one run each', () => {
  const bs = 4;
  const blk = (s: string) => Buffer.from(s);
  const map = new DigestList();
  map.push(blockDigest(blk('before')));
  const b = new ExtentBuilder(map);
  const prior = (offset: number, bundle = 0) => ({ length: bs, backup: 'F', bundle, offset });
  b.add(0, blk('aaaa'), blockDigest(blk('aaaa')), prior(0), 0);
  b.add(4, blk('bbbb'), blockDigest(blk('bbbb')), prior(4), 0);
  b.add(8, blk('cccc'), blockDigest(blk('cccc')), undefined, 0);
  b.add(12, blk('dddd'), blockDigest(blk('dddd')), undefined, 4);
  b.add(16, blk('eeee'), blockDigest(blk('eeee')), prior(16), 0);
  b.add(20, blk('ffff'), blockDigest(blk('ffff')), prior(40), 0); // not back to back there: a new run
  b.add(24, blk('gg'), blockDigest(blk('gg')), prior(44, 1), 0); // another bundle: a new run
  const e = b.finish();
  assert.deepEqual(e.map((x) => [x.fileOffset, x.size, x.backup ?? 'new', x.bundle ?? -1, x.offset]), [[0, 8, 'F', 0, 0], [8, 8, 'new', -1, 0], [16, 4, 'F', 0, 16], [20, 4, 'F', 0, 40], [24, 2, 'F', 1, 44]]);
  assert.equal(e[0]!.sha256, sha(blk('aaaabbbb')), 'the full SHA-256 of the bytes read');
  assert.deepEqual(e.map((x) => x.first), [1, 3, 5, 6, 7], 'each run points at its first digest in the task map');
  assert.equal(map.count, 8, 'every block digest, in file order, after what the map held');
  assert.equal(range(map, 3, 5), formatDigests([blockDigest(blk('cccc')), blockDigest(blk('dddd'))]));
  assert.equal(new ExtentBuilder(new DigestList()).finish().length, 0);
});

/** Pieces packed, as a backup holds its prior manifest, with the index of each file's pieces. */
function packedPrior(pieces: ManifestFile[]): { packed: PackedPieces; index: Map<string, number[]> } {
  const packed = new PackedPieces();
  const index = new Map<string, number[]>();
  for (const p of pieces) {
    index.set(p.path, [...(index.get(p.path) ?? []), packed.count]);
    packed.push(p);
  }
  return { packed, index };
}

const SHA0 = '0'.repeat(64);

test('partition + mapBlocks + attachPrior: large relation pieces are mapped, a usable prior map is attached per range', () => {
  const MB = 1 << 20;
  const f = (path: string, size: number) => ({ path, abs: `/pg/${path}`, size, mode: 0o600, mtimeMs: 0 });
  const groups = partition([f('base/5/1', 3 * MB), f('base/5/2', 100 * KB), f('pg_xact/0000', 2 * MB), f('base/5/3', 2 * MB)], MB);
  const { packed, index } = packedPrior([
    ...[0, 1, 2].map((i) => ({ path: 'base/5/1', size: MB, ...(i ? { fileOffset: i * MB } : {}), mode: 0o600, mtimeMs: 0, sha256: SHA0, backup: 'F', bundle: i, offset: 0, blockMap: { backup: 'F', bundle: i, first: 0 } })),
    { path: 'base/5/3', size: 2 * MB, mode: 0o600, mtimeMs: 0, sha256: SHA0, backup: 'F', bundle: 9, offset: 0 },
  ]);
  mapBlocks(groups, 16 * KB, MB);
  assert.ok(groups.flat().every((p) => p.prior === undefined), 'no prior pieces until a worker takes the task');
  const pieces = groups.flatMap((g) => attachPrior(g, packed, (p) => priorOver(p, packed, index, 16 * KB))).map((p) => ({ ...p, prior: p.prior ? [...new PackedPieces(p.prior)] : undefined }));
  const of = (p: string) => pieces.filter((x) => x.file.path === p);
  assert.ok(of('base/5/1').every((p) => p.blockSize === 16 * KB && p.prior?.length === 1 && (p.prior[0]!.fileOffset ?? 0) === p.start && p.prior[0]!.blockMap?.bundle === p.start / MB));
  assert.ok(of('base/5/2').every((p) => p.blockSize === undefined), 'small: file-level');
  assert.ok(of('pg_xact/0000').every((p) => p.blockSize === undefined), 'not a relation: file-level');
  assert.ok(of('base/5/3').every((p) => p.blockSize === 16 * KB && p.prior === undefined), 'prior copy had no map: copied whole, mapped now');
  const again = partition([f('base/5/1', 3 * MB)], MB);
  mapBlocks(again, 16 * KB, MB);
  assert.ok(again.flatMap((g) => attachPrior(g, packed, (p) => priorOver(p, packed, index, 8 * KB))).every((p) => p.blockSize === 16 * KB && p.prior === undefined), 'block size changed: copied whole');
});

test('an unchanged file keeps its map only while the block size stays the same', () => {
  const piece: ManifestFile = { path: 'base/5/1', size: 32 * KB, mode: 0o600, mtimeMs: 1, sha256: SHA0, backup: 'F', bundle: 0, offset: 0, blocks: formatDigests([Buffer.alloc(16), Buffer.alloc(16)]) };
  const pointing: ManifestFile = { ...piece, blocks: undefined, blockMap: { backup: 'F', bundle: 3, first: 40 } };
  delete pointing.blocks;
  const { packed } = packedPrior([piece, pointing]);
  const carried = (i: number, mode: number, priorBs: number, bs: number) => {
    const out = new PackedPieces();
    carryOver(out, packed, i, mode, priorBs, bs);
    return out.get(0);
  };
  assert.deepEqual(carried(0, 0o640, 16 * KB, 16 * KB), { ...piece, mode: 0o640 });
  assert.equal(carried(0, 0o600, 16 * KB, 32 * KB).blocks, undefined, 'another block size: no map carried');
  assert.deepEqual(carried(1, 0o600, 16 * KB, 16 * KB), pointing, 'still pointing at the map it was listed in');
  assert.equal(carried(1, 0o600, 16 * KB, 32 * KB).blockMap, undefined);
});

/** Rebuild a file from manifest pieces spread over bundles, through the decoder and checksums. */
async function rebuild(objects: ObjectStore, pieces: ManifestFile[], size: number): Promise<Buffer> {
  const out = Buffer.alloc(size);
  const byKey = new Map<string, ManifestFile[]>();
  for (const p of pieces) byKey.set(backupBundleKey(p.backup, p.bundle), [...(byKey.get(backupBundleKey(p.backup, p.bundle)) ?? []), p]);
  for (const [key, entries] of byKey) {
    let at = 0;
    await readBundleFiles(key, await objects.open(key), entries, {
      begin: async (f) => { at = f.fileOffset ?? 0; },
      data: async (_f, bytes) => { bytes.copy(out, at); at += bytes.length; },
      end: async () => {},
    });
  }
  return out;
}

test('a bundle written against the prior map stores only the changed blocks and rebuilds the file exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-block-'));
  try {
    const objects = new ObjectStore(new FsStorage(join(dir, 'repo')), new ObjectCodec(randomBytes(32), { algorithm: 'zstd', level: 1 }));
    const bs = 16 * KB;
    const size = 200 * bs + 1234; // a partial last block
    const data = randomBytes(size);
    const abs = join(dir, '16384');
    writeFileSync(abs, data);
    const file = () => ({ path: 'base/5/16384', abs, size: statSync(abs).size, mode: 0o600, mtimeMs: statSync(abs).mtimeMs });
    // Two pieces, as a large file spread over two bundles.
    const full0 = await writeBundle(objects, 'F', 0, [{ file: file(), start: 0, length: 128 * bs, blockSize: bs }], () => {});
    const full1 = await writeBundle(objects, 'F', 1, [{ file: file(), start: 128 * bs, length: size - 128 * bs, blockSize: bs }], () => {});
    const fullPieces = [...full0.files, ...full1.files];
    assert.equal(full0.bundle.size + full1.bundle.size, size);
    // The digests are not in the manifest's pieces: each points into its task's map object.
    assert.deepEqual(fullPieces.map((p) => [p.blocks, p.blockMap]), [[undefined, { backup: 'F', bundle: 0, first: 0 }], [undefined, { backup: 'F', bundle: 1, first: 0 }]]);
    const maps = [await objects.getBuffer(backupBlockMapKey('F', 0)), await objects.getBuffer(backupBlockMapKey('F', 1))];
    assert.deepEqual(maps.map((m) => m.length / BLOCK_DIGEST_BYTES), [128, 73]);
    assert.ok(maps[0]!.subarray(3 * 16, 4 * 16).equals(blockDigest(data.subarray(3 * bs, 4 * bs))));

    // Change three scattered blocks, one of them the partial last one, and grow the file by a block.
    for (const at of [3 * bs + 10, 150 * bs, size - 5]) data[at] = data[at]! ^ 0xff;
    const grown = Buffer.concat([data, randomBytes(bs)]);
    writeFileSync(abs, grown);
    const pieces: FilePiece[] = [{ file: file(), start: 0, length: grown.length, blockSize: bs, prior: fullPieces }];
    const incr = await writeBundle(objects, 'I', 0, pieces, () => {});
    // Changed: block 3, block 150, the old partial last block (now whole) and the new partial one.
    assert.equal(incr.bundle.size, 3 * bs + 1234, `stored ${incr.bundle.size} bytes`);
    assert.ok(incr.files.every((p) => p.fileOffset === undefined || p.fileOffset % bs === 0));
    assert.deepEqual([...new Set(incr.files.map((p) => p.backup))].sort(), ['F', 'I']);
    assert.equal(incr.files.reduce((a, p) => a + p.size, 0), grown.length, 'every byte once');
    assert.ok((await rebuild(objects, incr.files, grown.length)).equals(grown), 'rebuilt from both backups, bit for bit');

    // The next incremental against that one's map: nothing changed, nothing stored, still exact.
    const again = await writeBundle(objects, 'J', 0, [{ file: file(), start: 0, length: grown.length, blockSize: bs, prior: incr.files }], () => {});
    assert.equal(again.bundle.size, 0);
    assert.ok((await rebuild(objects, again.files, grown.length)).equals(grown));

    assert.ok(incr.files.every((p) => p.blockMap?.backup === 'I' && p.blockMap.bundle === 0), 'every run, stored or referenced, points into the task map');

    // A manifest written before maps left it (digests inline) is read the same way.
    const inline = fullPieces.map(({ blockMap, ...p }, i) => ({ ...p, blocks: maps[i]!.toString('base64') }));
    const fromInline = await writeBundle(objects, 'K', 0, [{ file: file(), start: 0, length: grown.length, blockSize: bs, prior: inline }], () => {});
    assert.equal(fromInline.bundle.size, 3 * bs + 1234);
    assert.ok((await rebuild(objects, fromInline.files, grown.length)).equals(grown));

    // A map that is gone costs a whole copy (every block stored), never a wrong file.
    await objects.storage.delete([backupBlockMapKey('I', 0)]);
    const whole = await writeBundle(objects, 'L', 0, [{ file: file(), start: 0, length: grown.length, blockSize: bs, prior: incr.files }], () => {});
    assert.equal(whole.bundle.size, grown.length);
    assert.deepEqual(whole.unusableMaps, [{ key: backupBlockMapKey('I', 0), path: 'base/5/16384' }], 'reported, for the main thread to warn');
    assert.ok((await rebuild(objects, whole.files, grown.length)).equals(grown));

    // A referenced block that does not match its piece's checksum is refused, naming the object.
    const forged = incr.files.map((p) => (p.backup === 'F' ? { ...p, offset: p.offset + bs } : p));
    await assert.rejects(rebuild(objects, forged, grown.length), (e: unknown) => e instanceof IntegrityError && /does not match its checksum|ends before/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
