// The console's "alerts now firing" when the agent has no evaluator: judged from /status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksFiring } from '../../src/console/alerts.js';

const healthy = {
  jobs: [{ name: 'backup', lastRun: { ok: true, finishedAt: '2026-01-01T00:00:00Z' } }],
  exposure: {
    checkedAt: '2026-01-01T00:00:00Z', lastBackupAt: '2026-01-01T00:00:00Z', wal: { gaps: [] },
    storage: { freeBytes: 50, totalBytes: 100 }, drills: [{ kind: 'verify', lastId: 'x', lastOk: true }],
    objectives: [{ scenario: 'database_corruption', objective: 'rpo', limitSeconds: 300, exposureSeconds: 10, ok: true }],
  },
};

test('a healthy status fires nothing', () => {
  assert.deepEqual(checksFiring(healthy), []);
});

test('each problem the agent computes is one named alert', () => {
  const names = checksFiring({
    jobs: [{ name: 'backup', lastRun: { ok: false, error: 'disk full', finishedAt: '2026-01-01T00:00:00Z' } }],
    exposure: {
      ...healthy.exposure, lastBackupAt: undefined, error: 'repository unreachable',
      wal: { gaps: [{}], firstMissing: '000000010000000000000007' }, storage: { freeBytes: 5, totalBytes: 100 },
      drills: [{ kind: 'verify', lastId: 'd1', lastOk: false }, { kind: 'restore', error: 'authentication failed' }],
      objectives: [
        { scenario: 'database_corruption', objective: 'rpo', limitSeconds: 300, exposureSeconds: 900, ok: false },
        { scenario: 'region_failure', objective: 'rpo', limitSeconds: 3600, ok: false },
      ],
    },
  });
  assert.deepEqual(names.map((a) => [a.name, a.severity]), [
    ['FsdrMonitorFailing', 'critical'], ['FsdrObjectiveMissed', 'critical'], ['FsdrObjectiveMissed', 'critical'], ['FsdrRecoveryBlocked', 'critical'],
    ['FsdrNoBackup', 'critical'], ['FsdrJobFailed', 'critical'], ['FsdrDrillFailed', 'critical'], ['FsdrDrillUnreadable', 'critical'], ['FsdrStorageFilling', 'critical'],
  ]);
  assert.match(names[1]!.summary, /database corruption: RPO exposure 15 min is over the objective 5 min/);
  assert.match(names[2]!.summary, /not measured/);
});

test('storage: a warning at 80 %, critical at 90 %; a hole that does not block recovery is a warning', () => {
  const at = (free: number) => checksFiring({ ...healthy, exposure: { ...healthy.exposure, storage: { freeBytes: free, totalBytes: 100 } } }).map((a) => a.severity);
  assert.deepEqual(at(21), []);
  assert.deepEqual(at(15), ['warning']);
  assert.deepEqual(at(10), ['critical']);
  assert.deepEqual(checksFiring({ ...healthy, exposure: { ...healthy.exposure, wal: { gaps: [{}] } } }).map((a) => a.name), ['FsdrWalGap']);
});
