import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/util/worker-pool.js';

type Msg = { do: 'echo' | 'exit' | 'throw-async'; value?: number };
const script = new URL('../helpers/dying-worker.js', import.meta.url);

test('a worker that exits fails its task; the others keep serving', async () => {
  const pool = new WorkerPool<Msg, number>(script, {}, 2);
  try {
    await assert.rejects(pool.run({ do: 'exit' }), (e: Error & { code?: string }) => e.code === 'FSDR_WORKER_DIED' && /exited with code 3/.test(e.message));
    assert.deepEqual(await Promise.all([1, 2, 3].map((v) => pool.run({ do: 'echo', value: v }))), [1, 2, 3]);
  } finally {
    await pool.close();
  }
});

test('when every worker has died, queued and later tasks fail instead of hanging', async () => {
  const pool = new WorkerPool<Msg, number>(script, {}, 1);
  try {
    const dying = pool.run({ do: 'throw-async' });
    const queued = pool.run({ do: 'echo', value: 7 });
    await assert.rejects(dying, /uncaught in worker/);
    await assert.rejects(queued, /uncaught in worker/);
    await assert.rejects(pool.run({ do: 'echo' }), /uncaught in worker/);
  } finally {
    await pool.close();
  }
});

test('anyReady: false until a worker has loaded and installed serveTasks, then true', async () => {
  const pool = new WorkerPool<Msg, number>(script, {}, 1);
  try {
    assert.equal(pool.anyReady, false);
    for (let i = 0; i < 500 && !pool.anyReady; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pool.anyReady, true);
    assert.equal(await pool.run({ do: 'echo', value: 7 }), 7);
  } finally {
    await pool.close();
  }
});
