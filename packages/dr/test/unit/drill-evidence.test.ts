// Pure parts of drills: evidence keys and ids (only drills/<id>.json is evidence; golden captures
// will live deeper), the first failing step becomes the drill's failure, and the recovered point
// is judged against the end of the archive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drillEvidenceKey, parseDrillEvidenceKey } from '../../src/repository/layout.js';
import { drillKindOf, drillStartOf, newDrillId } from '../../src/repository/drill-catalog.js';
import { DrillSteps } from '../../src/drills/steps.js';
import { judgeRecoveredPoint } from '../../src/drills/recovered-point.js';
import { IntegrityError } from '../../src/errors.js';
import type { ArchivedWal } from '../../src/repository/wal-archive.js';
import { parseWalName } from '../../src/postgres/wal-name.js';

const SEG = 16 * 1024 * 1024;

test('drill ids sort by time, carry their kind, and map to drills/<id>.json only', () => {
  const id = newDrillId('verify', new Date('2026-11-29T06:00:01.250Z'));
  assert.match(id, /^20261129T060001Z-verify-[0-9a-f]{6}$/);
  assert.equal(drillKindOf(id), 'verify');
  assert.equal(drillStartOf(id).toISOString(), '2026-11-29T06:00:01.000Z');
  assert.equal(parseDrillEvidenceKey(drillEvidenceKey(id)), id);
  assert.equal(parseDrillEvidenceKey('drills/golden/20261129T060001Z.json'), undefined);
  assert.equal(drillKindOf('20261129T060001Z-bogus-abcdef'), undefined);
});

test('the first failed step is the drill\'s failure, naming the object; a throwing step is recorded, not fatal', async () => {
  const s = new DrillSteps();
  assert.equal(await s.run('verify', async () => ({ ok: true, detail: {} })), true);
  assert.equal(await s.run('restore', async () => { throw new IntegrityError('backups/X/bundle-00001', 'fails authentication'); }), false);
  await s.run('amcheck', async () => ({ ok: false, detail: {}, failure: { object: 'db.public.t', message: 'corrupt' } }));
  assert.deepEqual(s.steps.map((x) => [x.name, x.ok]), [['verify', true], ['restore', false], ['amcheck', false]]);
  assert.equal(s.failure!.step, 'restore');
  assert.equal(s.failure!.object, 'backups/X/bundle-00001');
  assert.match(s.failure!.message, /object backups\/X\/bundle-00001: fails authentication/);
});

function wal(name: string, at: string): ArchivedWal {
  return { ...parseWalName(name)!, key: `wal/${name.slice(0, 16)}/${name}`, storedSize: 1, lastModified: new Date(at) };
}

test('the recovered point must reach the last archived segment; its age is the RPO exposure', () => {
  const archive = [wal('000000010000000000000003', '2026-11-29T05:58:00Z'), wal('000000010000000000000004', '2026-11-29T05:59:00Z')];
  const followed = { timeline: 1, lastSegment: '000000010000000000000004' };
  const restoredAt = new Date('2026-11-29T06:01:00Z');
  const ok = judgeRecoveredPoint({ lsn: '0/5000100', endOfRecovery: '0/5000000', time: null, timeline: 2 }, followed, archive, SEG, restoredAt);
  assert.equal(ok.ok, true);
  assert.equal(ok.rpoExposureSeconds, 120);
  const short = judgeRecoveredPoint({ lsn: '0/3FFFFF0', endOfRecovery: '0/3FFFF00', time: null, timeline: 2 }, followed, archive, SEG, restoredAt);
  assert.equal(short.ok, false);
  assert.equal(short.failure!.object, 'wal 000000010000000000000004');
  const hole = judgeRecoveredPoint({ lsn: '0/5000100', time: null, timeline: 2 }, { ...followed, firstMissing: '000000010000000000000005' }, archive, SEG, restoredAt);
  assert.match(hole.failure!.message, /hole at 000000010000000000000005/);
});
