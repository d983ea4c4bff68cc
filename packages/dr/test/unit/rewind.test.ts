// The pure parts of failback's pg_rewind decision: pg_rewind's divergence line, pg_controldata's
// fields, and which pg_waldump records are commits a client saw (an abort or a checkpoint is not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countCommits, parseControlData, parseDivergence } from '../../src/failover/rewind.js';

test('pg_rewind --dry-run output: where the servers diverged, or that nothing must be rewound', () => {
  assert.deepEqual(parseDivergence('pg_rewind: servers diverged at WAL location 0/5000000 on timeline 1\npg_rewind: rewinding from last common checkpoint at 0/40000D8 on timeline 1\n'), { lsn: '0/5000000', timeline: 1 });
  assert.equal(parseDivergence('pg_rewind: source and target cluster are on the same timeline\npg_rewind: no rewind required\n'), 'none');
  assert.equal(parseDivergence('pg_rewind: error: could not connect to server'), undefined);
});

test('pg_controldata fields by name', () => {
  const c = parseControlData('pg_control version number:            1300\nDatabase cluster state:               shut down\nwal_log_hints setting:                on\nData page checksum version:           0\n');
  assert.deepEqual([c.get('Database cluster state'), c.get('wal_log_hints setting'), c.get('Data page checksum version')], ['shut down', 'on', '0']);
});

test('only COMMIT records of the Transaction resource manager count as writes after the fork', () => {
  const out = [
    'rmgr: Heap        len (rec/tot):     59/    59, tx:        742, lsn: 0/05000028, prev 0/04000110, desc: INSERT off 3 flags 0x00, blkref #0: rel 1663/16384/16390 blk 0',
    'rmgr: Transaction len (rec/tot):     34/    34, tx:        742, lsn: 0/05000068, prev 0/05000028, desc: COMMIT 2026-12-03 06:51:02.123456 UTC',
    'rmgr: Transaction len (rec/tot):     34/    34, tx:        743, lsn: 0/05000090, prev 0/05000068, desc: ABORT 2026-12-03 06:51:02.223456 UTC',
    'rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/050000B8, prev 0/05000090, desc: CHECKPOINT_SHUTDOWN redo 0/50000B8; tli 1; prev tli 1; fpw true',
    'rmgr: Transaction len (rec/tot):    130/   130, tx:        744, lsn: 0/05000130, prev 0/050000B8, desc: COMMIT 2026-12-03 06:51:03.0 UTC; inval msgs: catcache 11',
  ].join('\n');
  assert.equal(countCommits(out), 2);
  assert.equal(countCommits('rmgr: XLOG len (rec/tot): 114/ 114, tx: 0, lsn: 0/050000B8, prev 0/05000090, desc: CHECKPOINT_SHUTDOWN redo 0/50000B8'), 0);
});
