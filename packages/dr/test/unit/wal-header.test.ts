// The page header check wal-fetch and verify make before a segment reaches PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWalSegmentHeader, segmentHeaderProblem } from '../../src/postgres/wal-header.js';
import { parseWalName } from '../../src/postgres/wal-name.js';

const SEG = 16 * 1024 * 1024;
const SYSID = '7301234567890123456';

/** The first 40 bytes of a segment: long page header (PostgreSQL 15 layout, little-endian). */
function header(tli: number, pageaddr: bigint, sysid = SYSID, segSize = SEG, info = 0x0002): Buffer {
  const b = Buffer.alloc(40);
  b.writeUInt16LE(0xd110, 0);
  b.writeUInt16LE(info, 2);
  b.writeUInt32LE(tli, 4);
  b.writeBigUInt64LE(pageaddr, 8);
  b.writeBigUInt64LE(BigInt(sysid), 24);
  b.writeUInt32LE(segSize, 32);
  return b;
}

const name = (n: string) => parseWalName(n)!;
const problem = (n: string, h: Buffer) => segmentHeaderProblem(name(n), parseWalSegmentHeader(h), { walSegmentSize: SEG, systemIdentifier: SYSID });

test('a segment whose first page is the one its name says passes, across a log boundary', () => {
  assert.equal(problem('000000010000000000000005', header(1, 0x5000000n)), undefined);
  assert.equal(problem('000000010000000100000000', header(1, 0x100000000n)), undefined);
  assert.equal(problem('0000000300000002000000FF', header(3, 0x2FF000000n)), undefined);
});

test("another segment's content is named for what it holds", () => {
  assert.match(problem('000000010000000000000005', header(1, 0x6000000n))!, /the WAL of segment 000000010000000000000006 \(first page at 0\/6000000 on timeline 1; 000000010000000000000005 starts at 0\/5000000/);
});

test("a new timeline's first segment may begin with its parent's pages, never a later timeline's", () => {
  assert.equal(problem('000000020000000000000005', header(1, 0x5000000n)), undefined);
  assert.match(problem('000000010000000000000005', header(2, 0x5000000n))!, /on timeline 2/);
});

test('another cluster, another segment size, or no long header are refused', () => {
  assert.match(problem('000000010000000000000005', header(1, 0x5000000n, '42'))!, /cluster 42/);
  assert.match(problem('000000010000000000000005', header(1, 0x5000000n, SYSID, 64 * 1024 * 1024))!, /67108864 bytes/);
  assert.match(problem('000000010000000000000005', header(1, 0x5000000n, SYSID, SEG, 0))!, /no long page header/);
  assert.match(problem('000000010000000000000005', Buffer.alloc(10))!, /no long page header/);
});

test('without a known system identifier or segment size, the header is checked against itself', () => {
  const h = parseWalSegmentHeader(header(1, 0x6000000n, '42'));
  assert.equal(segmentHeaderProblem(name('000000010000000000000006'), h, {}), undefined);
  assert.match(segmentHeaderProblem(name('000000010000000000000005'), h, {})!, /segment 000000010000000000000006/);
});
