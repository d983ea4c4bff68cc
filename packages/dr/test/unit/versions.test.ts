// Reading object versions: which version an as-of view serves, what counts as a foreign write,
// and whether retention still keeps an object someone else deleted. Versions are listed from an
// in-memory history in S3's order (per key, newest first; delete markers after the versions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versionsAsOf } from '../../src/storage/as-of.js';
import type { ObjectVersionInfo, VersionedStorage } from '../../src/storage/storage.js';
import { scanVersions } from '../../src/repository/tampering.js';
import { markerId } from '../../src/repository/expire-journal.js';
import { keptByRetention } from '../../src/retention/foreign.js';
import type { RetentionPlan } from '../../src/retention/plan.js';

const t = (s: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, s));

function history(rows: Array<[key: string, versionId: string, second: number, marker?: boolean]>): VersionedStorage {
  const latest = new Map<string, number>();
  for (const [k, , s] of rows) latest.set(k, Math.max(latest.get(k) ?? -1, s));
  const versions: ObjectVersionInfo[] = rows.map(([key, versionId, s, marker]) => ({ key, versionId, lastModified: t(s), isDeleteMarker: !!marker, isLatest: latest.get(key) === s, size: marker ? 0 : 10 }));
  return {
    async *listVersions(prefix: string) {
      const sorted = [...versions].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || Number(a.isDeleteMarker) - Number(b.isDeleteMarker) || b.lastModified.getTime() - a.lastModified.getTime());
      yield* sorted.filter((v) => v.key.startsWith(prefix));
    },
  } as unknown as VersionedStorage;
}

const attacked = history([
  ['repo.json', 'r1', 1], ['repo.json', 'r2', 50], ['repo.json', 'rm', 51, true],
  ['wal/1', 'w1', 10], ['wal/1', 'w2', 50],
  ['wal/2', 'x1', 20], ['wal/2', 'xm', 52, true],
  ['wal/3', 'y1', 60],
  ['backups/old/manifest.json', 'o1', 5], ['backups/old/manifest.json', 'om', 30, true],
  ['leases/backup/x', 'l1', 40], ['leases/backup/x', 'l2', 41],
]);

test('as of a time, each key is its newest version not newer than the time; a delete marker hides it', async () => {
  const at = await versionsAsOf(attacked, '', t(49));
  assert.equal(at.get('repo.json')!.versionId, 'r1');
  assert.equal(at.get('wal/1')!.versionId, 'w1');
  assert.equal(at.get('wal/2')!.versionId, 'x1');
  assert.equal(at.has('wal/3'), false, 'written after the time');
  assert.equal(at.get('backups/old/manifest.json')!.isDeleteMarker, true);
  assert.equal((await versionsAsOf(attacked, '', t(60))).get('repo.json')!.isDeleteMarker, true);
  assert.equal((await versionsAsOf(attacked, 'wal/1', t(60), 'wal/1')).size, 1);
});

test('a second version or an unjournalled marker is a foreign write; the first one dates the attack', async () => {
  const scan = await scanVersions(attacked, async () => new Set([markerId('backups/old/manifest.json', 'om')]));
  assert.deepEqual(scan.overwritten.map((o) => o.key).sort(), ['repo.json', 'wal/1']);
  assert.deepEqual(scan.foreignDeletes.map((d) => [d.key, d.markerVersionId, d.hiddenVersionId]).sort(), [['repo.json', 'rm', 'r2'], ['wal/2', 'xm', 'x1']]);
  assert.equal(scan.lastGoodTime, new Date(t(50).getTime() - 1).toISOString());
  const unjournalled = await scanVersions(attacked, async () => { throw new Error('garbage'); });
  assert.equal(unjournalled.foreignDeletes.length, 3, 'without a journal every marker is foreign');
  assert.match(unjournalled.journalProblem!, /garbage/);
  assert.equal(unjournalled.lastGoodTime, new Date(t(30).getTime() - 1).toISOString());
});

test('retention keeps a foreign-deleted object unless the plan expires what it belongs to', () => {
  const plan = { expireBackups: ['old'], expireDumps: ['d-old'], walKeepFrom: 100 } as RetentionPlan;
  assert.equal(keptByRetention(plan, { key: 'backups/old/bundle-00000', backup: 'old' }), false);
  assert.equal(keptByRetention(plan, { key: 'backups/new/manifest.json', backup: 'new' }), true);
  assert.equal(keptByRetention(plan, { key: 'dumps/d-old/manifest.json', dump: 'd-old' }), false);
  assert.equal(keptByRetention(plan, { key: 'wal/a', wal: { kind: 'segment', segment: 99 } }), false);
  assert.equal(keptByRetention(plan, { key: 'wal/b', wal: { kind: 'segment', segment: 100 } }), true);
  assert.equal(keptByRetention(plan, { key: 'wal/c', wal: { kind: 'history' } }), true);
  assert.equal(keptByRetention(plan, { key: 'repo.json' }), true);
});
