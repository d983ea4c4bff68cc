// NOTIFYs lost while the LISTEN connection is down are made up for by the version resync after
// reconnect (visible in /metrics); and the database identity is "<system identifier>:<timeline>" of the real cluster.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { waitUntil } from '@featuresignals/testkit';
import { readDbid } from '../src/index.js';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
before(async () => { s = await startStack(); seeded = await seed(s); await waitSynced(s, 'prod', seeded.keys.prod); });
after(async () => { await s?.stop(); });

const rulesetVersion = async () =>
  ((await (await fetch(`${s.url}/v1/ruleset/prod`, { headers: { 'X-API-Key': seeded.keys.prod } })).json()) as { version: number }).version;

test('a change committed while LISTEN was disconnected is picked up by the resync after reconnect', async () => {
  // One transaction kills the listener's backend and then writes, so the NOTIFY (sent at commit)
  // cannot reach it: PostgreSQL never replays it.
  const r = await s.pg.query<{ v: string }>(`WITH k AS (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'featuresignals-listen')
    UPDATE flag_states SET percentage_rollout = 4321 FROM k, flags f WHERE f.id = flag_states.flag_id AND f.key = 'new-checkout' AND flag_states.env_id = $1
    RETURNING (SELECT config_version FROM environments WHERE id = $1) AS v`, [seeded.envs.prod]);
  assert.equal(r.rowCount, 1);
  const want = Number((await s.pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE id = $1', [seeded.envs.prod])).rows[0].v);
  await waitUntil(async () => ((await rulesetVersion()) === want ? true : undefined), 15_000, `version ${want} after reconnect`);
  const rs = await (await fetch(`${s.url}/v1/ruleset/prod`, { headers: { 'X-API-Key': seeded.keys.prod } })).json() as { states: Array<{ flag_key: string; percentage_rollout: number }> };
  assert.equal(rs.states.find((x) => x.flag_key === 'new-checkout')!.percentage_rollout, 4321);
  await s.waitReady();
  // /metrics tells the same story: the reload came from the reconnect resync, not from a NOTIFY.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(metrics, /fs_resync_reloads_total\{why="reconnect"\} [1-9]/);
  assert.match(metrics, new RegExp(`fs_ruleset_version\\{env="prod"\\} ${want}`));
  assert.match(metrics, /fs_ready 1/);
});

test('dbid is the cluster system identifier and current timeline', async () => {
  const ctl = await s.pg.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
  const pool = new pg.Pool({ connectionString: s.pg.connectionString, max: 1 });
  try {
    assert.equal(await readDbid(pool), `${ctl.rows[0].id}:1`);
  } finally {
    await pool.end();
  }
  assert.equal((await s.server.readiness()).dbid, `${ctl.rows[0].id}:1`);
});
