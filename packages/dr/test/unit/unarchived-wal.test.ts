// The live RPO exposure clock (monitoring/unarchived-wal.ts): a quiet database that still writes
// WAL of its own (the bgwriter's running-xacts record) has exposure 0; a committed transaction in
// the unarchived WAL counts from the sample that first saw it; a .ready segment counts whatever it holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnarchivedWalClock } from '../../src/monitoring/unarchived-wal.js';
import type { ArchiverStatus } from '../../src/postgres/archiver-status.js';

const SEG = 16 * 1024 * 1024;
const P = 2n * BigInt(SEG); // start of segment 000000010000000000000002
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

function status(insertLsn: bigint, xid: bigint | undefined, ready: ArchiverStatus['ready'] = []): ArchiverStatus {
  return { archivedCount: 1, failedCount: 0, ready, insertLsn, completedXidHorizon: xid, walSegmentSize: SEG };
}

test('an idle server writing its own records after a switch: unarchived bytes, exposure 0', () => {
  const c = new UnarchivedWalClock();
  assert.deepEqual(c.observe(status(P + 0x28n, 740n), at(0)), { readyFiles: 0, oldestReadySeconds: 0, bytes: 0, exposureSeconds: 0 });
  // 15 s later the bgwriter logs running transactions (56 bytes); no transaction completed.
  for (const s of [15, 60, 600, 3600]) {
    const u = c.observe(status(P + 0x60n, 740n), at(s))!;
    assert.equal(u.bytes, 0x60, "the segment so far is unarchived");
    assert.equal(u.exposureSeconds, 0, `at ${s} s`);
  }
});

test('a commit in the current segment counts from the first sample that saw it, and grows', () => {
  const c = new UnarchivedWalClock();
  c.observe(status(P + 0x28n, 740n), at(0));
  c.observe(status(P + 0x60n, 740n), at(15));
  assert.equal(c.observe(status(P + 0x400n, 741n), at(30))!.exposureSeconds, 0);
  assert.equal(c.observe(status(P + 0x400n, 741n), at(60))!.exposureSeconds, 30);
  assert.equal(c.observe(status(P + 0x900n, 745n), at(90))!.exposureSeconds, 60);
  // The segment is switched and archived: the next one is empty again.
  assert.equal(c.observe(status(P + BigInt(SEG) + 0x28n, 745n), at(95))!.exposureSeconds, 0);
});

test('agent start in a segment already written: quiet until a transaction completes', () => {
  const c = new UnarchivedWalClock();
  assert.equal(c.observe(status(P + 0x60n, 900n), at(0))!.exposureSeconds, 0);
  assert.equal(c.observe(status(P + 0x60n, 900n), at(300))!.exposureSeconds, 0);
  c.observe(status(P + 0x200n, 901n), at(310));
  assert.equal(c.observe(status(P + 0x200n, 901n), at(330))!.exposureSeconds, 20);
});

test('a .ready segment is exposure from when it was seen or marked ready, whatever it holds', () => {
  const c = new UnarchivedWalClock();
  c.observe(status(P + 0x28n, 740n), at(0));
  const ready = [{ name: '000000010000000000000002', readyAt: at(20) }];
  c.observe(status(P + BigInt(SEG) + 0x28n, 740n, ready), at(30));
  const u = c.observe(status(P + BigInt(SEG) + 0x28n, 740n, ready), at(90))!;
  assert.equal(u.readyFiles, 1);
  assert.equal(u.oldestReadySeconds, 70);
  assert.equal(u.exposureSeconds, 70, 'from the ready mark (earlier than the sample that saw it)');
});

test('without a transaction horizon any WAL past the segment start counts', () => {
  const c = new UnarchivedWalClock();
  c.observe(status(P + 0x28n, undefined), at(0));
  c.observe(status(P + 0x60n, undefined), at(15));
  assert.equal(c.observe(status(P + 0x60n, undefined), at(45))!.exposureSeconds, 30);
});
