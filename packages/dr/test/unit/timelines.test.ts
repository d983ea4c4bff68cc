// Timeline tree logic: where recovery along a timeline must end, the first hole, and forks where
// two timelines both continue (which recovery_target_timeline = 'latest' would resolve silently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coverage, latestTimeline, liveBranches, parseHistory } from '../../src/repository/timelines.js';
import { segmentFromNumber } from '../../src/postgres/wal-name.js';

const SEG = 16 * 1024 * 1024;
const names = (tli: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => segmentFromNumber(tli, from + i, SEG));

test('parseHistory reads PostgreSQL history lines and rejects garbage', () => {
  const h = parseHistory('1\t0/5000060\tno recovery target specified\n\n2\t0/9000000\tbefore 2026-01-01\n');
  assert.deepEqual(h.map((e) => [e.parent, e.switchLsn]), [[1, 0x5000060n], [2, 0x9000000n]]);
  assert.throws(() => parseHistory('x y z'), /malformed/);
});

test('coverage: a contiguous archive ends at its last segment; a hole is named with the point before it', () => {
  const present = new Set(names(1, 2, 9));
  const c = coverage(2, 1, new Map(), present, SEG);
  assert.equal(c.lastSegment, segmentFromNumber(1, 9, SEG));
  assert.equal(c.firstMissing, undefined);
  present.delete(segmentFromNumber(1, 5, SEG));
  const g = coverage(2, 1, new Map(), present, SEG);
  assert.equal(g.firstMissing, segmentFromNumber(1, 5, SEG));
  assert.equal(g.reachableLsn, 5n * BigInt(SEG));
});

test('coverage follows the history: the switch segment is read from the child timeline', () => {
  const histories = new Map([[2, parseHistory('1\t0/5000060\tpromoted')]]);
  const present = new Set([...names(1, 2, 5), ...names(2, 5, 7)]);
  assert.equal(latestTimeline(1, histories), 2);
  const c = coverage(2, 2, histories, present, SEG);
  assert.equal(c.firstMissing, undefined);
  assert.equal(c.lastSegment, segmentFromNumber(2, 7, SEG));
  present.delete(segmentFromNumber(2, 5, SEG));
  assert.equal(coverage(2, 2, histories, present, SEG).firstMissing, segmentFromNumber(2, 5, SEG));
  // Along timeline 1 the same archive ends at its own last segment.
  assert.equal(coverage(2, 1, histories, present, SEG).lastSegment, segmentFromNumber(1, 5, SEG));
});

test('liveBranches: a parent that kept writing after a fork is a second history', () => {
  const histories = new Map([[2, parseHistory('1\t0/5000060\tpromoted')]]);
  const promoted = new Set([...names(1, 2, 5), ...names(2, 5, 7)]);
  assert.deepEqual(liveBranches(1, histories, promoted, SEG).map((b) => b.timeline), [2]);
  const forked = new Set([...promoted, ...names(1, 6, 8)]);
  const b = liveBranches(1, histories, forked, SEG);
  assert.deepEqual(b.map((x) => x.timeline), [1, 2]);
  assert.deepEqual(b[1]!.forkedFrom, { timeline: 1, lsn: '0/5000060' });
});

test('liveBranches: a fork on a segment boundary makes the parent segment starting there its own future', () => {
  // pg_switch_wal then recovery: the switch point is the first byte of segment 6.
  const histories = new Map([[2, parseHistory('1\t0/6000000\tpromoted')]]);
  const promoted = new Set([...names(1, 2, 5), ...names(2, 6, 7)]);
  assert.deepEqual(liveBranches(1, histories, promoted, SEG).map((b) => b.timeline), [2]);
  const continued = new Set([...promoted, segmentFromNumber(1, 6, SEG)]);
  assert.deepEqual(liveBranches(1, histories, continued, SEG).map((b) => b.timeline), [1, 2]);
});
