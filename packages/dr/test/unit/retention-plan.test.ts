// The retention planner over generated history: 40 days of daily backups, incrementals, dumps, WAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRetention, type BackupFacts, type WalFacts } from '../../src/retention/plan.js';

const DAY = 86_400_000;
const now = new Date('2026-11-27T04:00:00Z');
const id = (t: number, k = 'F') => new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z') + '-' + k;

function history(days: number) {
  const backups: BackupFacts[] = [];
  const wal: WalFacts[] = [];
  for (let d = days - 1; d >= 0; d--) {
    const t = Date.parse('2026-11-27T03:00:00Z') - d * DAY;
    const seg = (days - 1 - d) * 10;
    backups.push({ id: id(t), stopTime: new Date(t + 60_000).toISOString(), references: [id(t)], startSegment: seg });
    for (let s = seg; s < seg + 10; s++) wal.push({ key: `wal/${s}`, kind: 'segment', segment: s });
  }
  wal.push({ key: 'wal/00000002.history', kind: 'history' });
  return { backups, wal };
}

test('40 days of daily backups: exactly the last 30 days are kept, with the WAL they need', () => {
  const { backups, wal } = history(40);
  const dumps = backups.map((b) => ({ id: b.id.replace(/F$/, 'D'), stopTime: b.stopTime }));
  const p = planRetention({ days: 30, minBackups: 1, dumpDays: 30 }, now, backups, dumps, wal);
  assert.equal(p.keepBackups.length, 30);
  assert.equal(p.expireBackups.length, 10);
  for (const k of p.keepBackups) assert.ok(now.getTime() - Date.parse(backups.find((b) => b.id === k)!.stopTime) <= 30 * DAY);
  for (const e of p.expireBackups) assert.ok(now.getTime() - Date.parse(backups.find((b) => b.id === e)!.stopTime) > 30 * DAY);
  assert.equal(p.walKeepFrom, 100, 'WAL from the start of the oldest kept backup');
  assert.equal(p.expireWal.length, 100);
  assert.ok(!p.expireWal.includes('wal/00000002.history'), 'history files are kept');
  assert.ok(!p.expireWal.includes('wal/100'));
  assert.equal(p.keepDumps.length, 30);
});

test('an incremental keeps the backups it reads from; minBackups keeps the newest even when all are old', () => {
  const base = Date.parse('2026-10-01T03:00:00Z');
  const full = { id: id(base), stopTime: new Date(base).toISOString(), references: [id(base)], startSegment: 5 };
  const incr = { id: id(base + 40 * DAY, 'I'), stopTime: new Date(base + 40 * DAY).toISOString(), references: [id(base), id(base + 40 * DAY, 'I')], startSegment: 50 };
  const p = planRetention({ days: 30, minBackups: 1, dumpDays: 30 }, new Date(base + 41 * DAY), [full, incr], [], []);
  assert.deepEqual(p.keepBackups, [full.id, incr.id]);
  assert.equal(p.walKeepFrom, 5);
  const old = planRetention({ days: 30, minBackups: 1, dumpDays: 30 }, new Date(base + 400 * DAY), [full, incr], [], []);
  assert.deepEqual(old.keepBackups, [full.id, incr.id], 'the newest (and what it needs) survives');
});

test('no backups: WAL is left alone', () => {
  const p = planRetention({ days: 30, minBackups: 1, dumpDays: 30 }, now, [], [], [{ key: 'wal/1', kind: 'segment', segment: 1 }]);
  assert.deepEqual(p.expireWal, []);
});
