// WAL names and the WAL summary: parse/format round trips, log rollover, gaps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSegmentName, parseWalName, segmentFromNumber, segmentNumber } from '../../src/postgres/wal-name.js';
import { parseWalKey, walKey } from '../../src/repository/layout.js';
import { summariseWal } from '../../src/commands/info/wal-summary.js';

const SEG = 16 * 1024 * 1024;

test('parse and format every kind of WAL file name', () => {
  assert.deepEqual(parseWalName('0000000200000001000000FF'), { name: '0000000200000001000000FF', kind: 'segment', timeline: 2, log: 1, seg: 255 });
  assert.equal(parseWalName('00000002.history')!.kind, 'history');
  assert.equal(parseWalName('000000010000000000000003.partial')!.kind, 'partial');
  assert.equal(parseWalName('000000010000000000000002.00000028.backup')!.kind, 'backup-history');
  for (const bad of ['00000001000000000000000g', '0000000100000000000000', 'x.history', '../../etc/passwd', '000000010000000000000003.partial.x']) {
    assert.equal(parseWalName(bad), undefined, bad);
  }
  assert.equal(formatSegmentName(1, 0, 0xff), '0000000100000000000000FF');
});

test('segment numbers roll over from FF to the next log', () => {
  const last = parseWalName('0000000100000000000000FF')!;
  const n = segmentNumber(last, SEG);
  assert.equal(segmentFromNumber(1, n + 1, SEG), '000000010000000100000000');
});

test('object keys round-trip and reject foreign keys', () => {
  for (const name of ['000000010000000000000003', '00000002.history', '000000020000000A00000001.partial']) {
    const w = parseWalName(name)!;
    assert.deepEqual(parseWalKey(walKey(w)), w);
  }
  assert.equal(walKey(parseWalName('000000010000000A00000003')!), 'wal/000000010000000A/000000010000000A00000003');
  assert.equal(parseWalKey('wal/0000000100000000/000000010000000100000003'), undefined, 'segment in the wrong directory');
});

test('the summary finds the gaps, across a log boundary', () => {
  const names = ['0000000100000000000000FE', '0000000100000000000000FF', '000000010000000100000002', '000000020000000100000003', '00000002.history'];
  const files = names.map((n) => ({ ...parseWalName(n)!, key: '', storedSize: 10, lastModified: new Date(0) }));
  const s = summariseWal(files, SEG);
  assert.equal(s.timelines.length, 2);
  assert.deepEqual(s.timelines[0]!.gaps, [{ from: '000000010000000100000000', to: '000000010000000100000001' }]);
  assert.equal(s.timelines[1]!.gaps.length, 0);
  assert.deepEqual(s.historyFiles, ['00000002.history']);
});
