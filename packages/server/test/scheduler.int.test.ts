// Scheduled enable/disable: applied by the scheduler when it runs, listed but never applied in
// drill/verify mode (scheduler off), so a PITR cannot change evaluations before the golden check.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { waitUntil } from '@featuresignals/testkit';
import { overdueSchedules } from '../src/index.js';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
before(async () => { s = await startStack({ server: { scheduler: false } }); seeded = await seed(s); await waitSynced(s, 'prod', seeded.keys.prod); });
after(async () => { await s?.stop(); });

const killedValue = async () => {
  const r = await fetch(`${s.url}/v1/evaluate`, { method: 'POST', headers: { 'X-API-Key': seeded.keys.prod, 'content-type': 'application/json' },
    body: JSON.stringify({ flag_key: 'killed', context: { key: 'u' } }) });
  return (await r.json()) as { value: unknown; reason: string };
};

test('with the scheduler off an overdue schedule is listed, not applied; with it on it is applied and audited', async () => {
  const past = new Date(Date.now() - 60_000).toISOString();
  const r = await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/killed/environments/${seeded.envs.prod}`, { scheduled_enable_at: past });
  assert.equal(r.status, 200);
  await waitSynced(s, 'prod', seeded.keys.prod);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal((await killedValue()).reason, 'DISABLED');
  const pool = new pg.Pool({ connectionString: s.pg.connectionString, max: 1 });
  try {
    const due = await overdueSchedules(pool);
    assert.deepEqual(due.map((d) => [d.flag_key, d.kind]), [['killed', 'enable']]);
  } finally {
    await pool.end();
  }

  await s.restartServer({ scheduler: true, schedulerIntervalMs: 100 });
  await s.waitReady();
  await waitUntil(async () => ((await killedValue()).reason === 'FALLTHROUGH' ? true : undefined), 10_000, 'scheduled enable applied');
  const audit = await s.pg.query("SELECT count(*)::int AS n FROM audit_logs WHERE action = 'flag.scheduled_enable' AND actor = 'scheduler'");
  assert.equal(audit.rows[0].n, 1);
  const left = await s.pg.query('SELECT count(*)::int AS n FROM flag_states WHERE scheduled_enable_at IS NOT NULL');
  assert.equal(left.rows[0].n, 0, 'applied once, then cleared');
});
