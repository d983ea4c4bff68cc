// Streaming archiving's pure parts (issue 12, item 2): the <segment>.stream.partial name, a
// trailing partial as the archive's end (not a hole) in the restore plan and in info, how far a
// partial holds WAL (page headers), the RPO exposure with the stream's stored position, the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWalName, segmentFromNumber, streamPartialName } from '../../src/postgres/wal-name.js';
import { parseWalKey, walKey } from '../../src/repository/layout.js';
import { coverage, trailingStreamPartials } from '../../src/repository/timelines.js';
import { summariseWal } from '../../src/commands/info/wal-summary.js';
import { planWal } from '../../src/commands/restore/wal-plan.js';
import type { ArchivedWal } from '../../src/repository/wal-archive.js';
import type { BackupManifest } from '../../src/repository/manifest.js';
import { writtenExtent } from '../../src/streaming/wal-pages.js';
import { UnarchivedWalClock } from '../../src/monitoring/unarchived-wal.js';
import type { ArchiverStatus } from '../../src/postgres/archiver-status.js';
import { configSchema } from '../../src/config/schema.js';

const SEG = 16 * 1024 * 1024;
const seg = (n: number, tli = 1) => segmentFromNumber(tli, n, SEG);
const archived = (name: string): ArchivedWal => ({ ...parseWalName(name)!, key: walKey(parseWalName(name)!), storedSize: 100, lastModified: new Date('2026-01-01T00:00:00Z') });

test('a streamed partial has its own name and key, never PostgreSQL\'s <segment>.partial', () => {
  const name = streamPartialName(seg(5));
  assert.equal(name, '000000010000000000000005.stream.partial');
  const w = parseWalName(name)!;
  assert.equal(w.kind, 'stream-partial');
  assert.equal(w.seg, 5);
  assert.equal(walKey(w), 'wal/0000000100000000/000000010000000000000005.stream.partial');
  assert.deepEqual(parseWalKey(walKey(w)), w);
  assert.equal(parseWalName(`${seg(5)}.partial`)!.kind, 'partial');
});

test('trailingStreamPartials: only the newest partial past every full segment of its timeline', () => {
  const names = [seg(2), seg(3), streamPartialName(seg(3)), streamPartialName(seg(4)), seg(7, 2), streamPartialName(seg(6, 2))];
  assert.deepEqual([...trailingStreamPartials(names, SEG)], [seg(4)]);
  assert.deepEqual([...trailingStreamPartials([seg(2), streamPartialName(seg(3)), streamPartialName(seg(5))], SEG)], [seg(5)]);
  // With the trailing partial, coverage ends there; two partials past the last full one leave a hole.
  const present = new Set([seg(2), seg(3), ...trailingStreamPartials(names, SEG)]);
  const c = coverage(2, 1, new Map(), present, SEG);
  assert.equal(c.lastSegment, seg(4));
  assert.equal(c.firstMissing, undefined);
  const holed = new Set([seg(2), ...trailingStreamPartials([seg(2), streamPartialName(seg(3)), streamPartialName(seg(5))], SEG)]);
  assert.equal(coverage(2, 1, new Map(), holed, SEG).firstMissing, seg(3));
});

test('restore plan: --latest must reach the trailing partial\'s segment; info shows it and no gap', () => {
  const m = { id: 'b1', timeline: 1, walSegmentSize: SEG, startWal: seg(2), startLsn: '0/2000028' } as unknown as BackupManifest;
  const wal = [seg(2), seg(3), streamPartialName(seg(4))].map(archived);
  const plan = planWal(m, { kind: 'latest' } as never, undefined, wal, new Map(), false);
  assert.equal(plan.coverage.lastSegment, seg(4));
  assert.equal(plan.mustReach, 4n * BigInt(SEG));
  const sum = summariseWal(wal, SEG).timelines[0]!;
  assert.equal(sum.last, seg(3));
  assert.deepEqual(sum.gaps, []);
  assert.equal(sum.streamed?.partial, streamPartialName(seg(4)));
  const gapped = summariseWal([seg(2), streamPartialName(seg(5))].map(archived), SEG).timelines[0]!;
  assert.deepEqual(gapped.gaps, [{ from: seg(3), to: seg(4) }]);
  assert.throws(() => planWal(m, { kind: 'latest' } as never, undefined, [seg(2), streamPartialName(seg(5))].map(archived), new Map(), false), /hole: WAL segment 000000010000000000000003 is missing/);
});

function page(b: Buffer, off: number, addr: bigint, long: boolean) {
  b.writeUInt16LE(0xd110, off);
  b.writeUInt16LE(long ? 2 : 0, off + 2);
  b.writeUInt32LE(1, off + 4);
  b.writeBigUInt64LE(addr, off + 8);
  if (long) {
    b.writeBigUInt64LE(7123456789n, off + 24);
    b.writeUInt32LE(SEG, off + 32);
    b.writeUInt32LE(8192, off + 36);
  }
}

test('writtenExtent: the pages carrying this segment\'s own addresses, zeros or an old segment\'s pages after', () => {
  const start = 5n * BigInt(SEG);
  const b = Buffer.alloc(SEG);
  page(b, 0, start, true);
  for (let i = 1; i < 10; i++) page(b, i * 8192, start + BigInt(i * 8192), false);
  // The last page: a record continued from page 8 (100 bytes), then records of 60 and 200 bytes, then zeros.
  const last = 9 * 8192;
  b.writeUInt32LE(100, last + 16);
  b.writeUInt32LE(60, last + 24 + 104);
  b.writeUInt32LE(200, last + 24 + 104 + 64);
  assert.deepEqual(writtenExtent(b), { segmentStart: start, lastPageLsn: start + 9n * 8192n, pages: 10, endLsn: start + BigInt(last + 24 + 104 + 64 + 200) });
  page(b, 10 * 8192, start - BigInt(SEG) + 10n * 8192n, false); // a recycled file's older WAL
  assert.equal(writtenExtent(b)!.pages, 10);
  assert.equal(writtenExtent(Buffer.alloc(SEG)), undefined);
});

test('RPO exposure with streaming: WAL the stream stored is not exposure, the rest counts as before', () => {
  const P = 2n * BigInt(SEG);
  const st = (insertLsn: bigint, xid: bigint, ready: ArchiverStatus['ready'] = []): ArchiverStatus => ({ archivedCount: 1, failedCount: 0, ready, insertLsn, completedXidHorizon: xid, walSegmentSize: SEG });
  const at = (s: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000);
  const c = new UnarchivedWalClock();
  c.observe(st(P + 0x28n, 10n), at(0), P + 0x28n);
  c.observe(st(P + 0x8000n, 11n), at(1), P);
  // A minute without the stream moving: the commit at 1 s is exposed for 59 s.
  assert.equal(c.observe(st(P + 0x8000n, 11n), at(60), P)!.exposureSeconds, 59);
  // The partial now holds it: exposure 0, though archive_command has not archived a byte of the segment.
  assert.equal(c.observe(st(P + 0x8000n, 11n), at(61), P + 0x8000n)!.exposureSeconds, 0);
  // A .ready segment the stream stored whole is not exposure either.
  const ready = [{ name: seg(2), readyAt: at(62) }];
  const c2 = new UnarchivedWalClock();
  assert.equal(c2.observe(st(P + BigInt(SEG) + 0x28n, 20n, ready), at(100), P + BigInt(SEG) + 0x28n)!.exposureSeconds, 0);
  assert.equal(new UnarchivedWalClock().observe(st(P + BigInt(SEG) + 0x28n, 20n, ready), at(100))!.exposureSeconds, 38);
});

test('config: archive.streaming is off by default, true takes the defaults, an object sets them', () => {
  const base = { repositories: { primary: { type: 'fs', path: '/r' } }, encryption: { masterKey: 'env:K' } };
  assert.deepEqual(configSchema.parse(base).archive.streaming, { enabled: false, slot: 'fsdr', synchronous: false, partialSeconds: 2 });
  assert.deepEqual(configSchema.parse({ ...base, archive: { streaming: true } }).archive.streaming, { enabled: true, slot: 'fsdr', synchronous: false, partialSeconds: 2 });
  assert.deepEqual(configSchema.parse({ ...base, archive: { streaming: { partialSeconds: 1, synchronous: true, slot: 'dr_eu' } } }).archive.streaming, { enabled: true, slot: 'dr_eu', synchronous: true, partialSeconds: 1 });
  assert.throws(() => configSchema.parse({ ...base, archive: { streaming: { slot: 'Bad-Slot' } } }));
  assert.throws(() => configSchema.parse({ ...base, archive: { streaming: { partialSecond: 1 } } }));
});

test('shipper pass: history files first, segments in order and once each, the newest kept in the spool, its stale partial dropped', async () => {
  const { mkdtempSync, writeFileSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join, basename } = await import('node:path');
  const { Shipper } = await import('../../src/streaming/shipper.js');
  const spool = mkdtempSync(join(tmpdir(), 'fsdr-shipper-'));
  try {
    for (const n of [seg(3, 2), seg(2, 1), '00000002.history']) writeFileSync(join(spool, n), 'x');
    const pushed: string[] = [];
    const dropped: string[] = [];
    const repo = { readInfo: async () => ({ walSegmentSize: SEG }), wal: { dropStreamPartial: async (w: { name: string }) => void dropped.push(w.name) } };
    const sh = new Shipper(repo as never, { spool, partialSeconds: 1, push: async (p) => void pushed.push(basename(p)), mayWrite: async () => undefined });
    await sh.tick();
    assert.deepEqual(pushed, ['00000002.history', seg(2, 1), seg(3, 2)]);
    assert.deepEqual(dropped, [seg(2, 1), seg(3, 2)]);
    assert.deepEqual(readdirSync(spool).sort(), ['00000002.history', seg(3, 2)].sort(), 'the newest segment stays for pg_receivewal to resume after');
    assert.equal(sh.state.storedLsn, 4n * BigInt(SEG));
    await sh.tick();
    assert.equal(pushed.length, 3, 'nothing pushed twice');
  } finally {
    rmSync(spool, { recursive: true, force: true });
  }
});

test('fsdr check streaming: a missing, idle or lost slot fails; unlimited max_slot_wal_keep_size warns; held is ok', async () => {
  const { streamingCheck } = await import('../../src/checks/streaming.js');
  assert.equal(streamingCheck('fsdr', undefined, '-1').status, 'fail');
  assert.match(streamingCheck('fsdr', { active: false, walStatus: 'reserved' }, '10240').message, /not held by a receiver/);
  assert.equal(streamingCheck('fsdr', { active: true, walStatus: 'lost' }, '10240').status, 'fail');
  assert.equal(streamingCheck('fsdr', { active: true, walStatus: 'reserved' }, '-1').status, 'warn');
  assert.equal(streamingCheck('fsdr', { active: true, walStatus: 'reserved' }, '10240').status, 'ok');
});
