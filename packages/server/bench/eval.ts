// Benchmark (`npm run bench -- eval`): evaluations/s and p50/p99 in the SDK (local) and over HTTP
// (single and bulk), and server start-to-ready with 10,000 flags with and without Redis.
import { Agent, request } from 'node:http';
import { startPostgres, startRedis, waitUntil } from '@featuresignals/testkit';
import { evaluate, type FlagDef, type FlagState, type Ruleset } from '@featuresignals/sdk/eval';
import { startServer } from '../src/index.js';

interface Row { what: string; ops: number; perSec: number; p50us: number; p99us: number }

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

function summarise(what: string, latenciesNs: number[], totalMs: number, evalsPerOp = 1): Row {
  const s = [...latenciesNs].sort((a, b) => a - b);
  return { what, ops: latenciesNs.length * evalsPerOp, perSec: Math.round((latenciesNs.length * evalsPerOp) / (totalMs / 1000)), p50us: pct(s, 0.5) / 1000, p99us: pct(s, 0.99) / 1000 };
}

function syntheticRuleset(flags: number): Ruleset {
  const defs: FlagDef[] = [];
  const states: FlagState[] = [];
  for (let i = 0; i < flags; i++) {
    const key = `flag-${i}`;
    defs.push({ key, flag_type: 'boolean', default_value: false, prerequisites: [], mutual_exclusion_group: '', expires_at: null });
    states.push({ flag_key: key, enabled: true, default_value: true, percentage_rollout: 2500, variants: [], rules: [
      { priority: 0, conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], segment_keys: [], match_type: 'all', percentage: 5000, value: true },
      { priority: 1, conditions: [{ attribute: 'email', operator: 'endsWith', values: ['@corp.com'] }], segment_keys: [], match_type: 'all', percentage: 10000, value: true },
    ] });
  }
  return { env: { id: 'bench', slug: 'bench' }, version: 1, dbid: 'bench:1', flags: defs, states, segments: [] };
}

function benchLocal(): Row {
  const rs = syntheticRuleset(50);
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 200_000; i++) {
    const s = process.hrtime.bigint();
    evaluate(rs, `flag-${i % 50}`, { key: `user-${i}`, attributes: { country: i % 3 ? 'US' : 'DE', email: 'x@y.com' } });
    lat.push(Number(process.hrtime.bigint() - s));
  }
  return summarise('SDK local evaluate (50 flags, 2 rules each)', lat, performance.now() - t0);
}

async function benchHttp(url: string, key: string, flags: number): Promise<Row[]> {
  // node:http with a keep-alive agent: fetch's per-request overhead would dominate the figures.
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const { hostname, port } = new URL(url);
  const post = (path: string, payload: string) => new Promise<number>((resolve, reject) => {
    const req = request({ agent, hostname, port, path, method: 'POST', headers: { 'X-API-Key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
  const run = async (n: number, concurrency: number, body: (i: number) => unknown, path: string): Promise<{ lat: number[]; ms: number }> => {
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = process.hrtime.bigint();
        const status = await post(path, JSON.stringify(body(i)));
        if (status !== 200) throw new Error(`${path} answered ${status}`);
        lat.push(Number(process.hrtime.bigint() - s));
      }
    }));
    return { lat, ms: performance.now() - t0 };
  };
  const single = (i: number) => ({ flag_key: `flag-${i % flags}`, context: { key: `user-${i}`, attributes: { country: 'US' } } });
  const allKeys = Array.from({ length: Math.min(flags, 100) }, (_, i) => `flag-${i}`);
  const bulk = (i: number) => ({ flag_keys: allKeys, context: { key: `user-${i}`, attributes: { country: 'US' } } });
  await run(300, 4, single, '/v1/evaluate'); // warm-up (JIT, keep-alive sockets)
  const a = await run(4000, 1, single, '/v1/evaluate');
  const b = await run(8000, 16, single, '/v1/evaluate');
  const c = await run(2000, 8, bulk, '/v1/evaluate/bulk');
  agent.destroy();
  return [
    summarise('HTTP POST /v1/evaluate, 1 client', a.lat, a.ms),
    summarise('HTTP POST /v1/evaluate, 16 concurrent', b.lat, b.ms),
    summarise(`HTTP POST /v1/evaluate/bulk (${flags} flags), 8 concurrent`, c.lat, c.ms, flags),
  ];
}

async function seedFlags(pg: Awaited<ReturnType<typeof startPostgres>>, flags: number): Promise<string> {
  const org = (await pg.query<{ id: string }>("INSERT INTO organizations (slug, name) VALUES ('bench', 'bench') RETURNING id")).rows[0].id;
  const proj = (await pg.query<{ id: string }>("INSERT INTO projects (org_id, slug, name) VALUES ($1, 'bench', 'bench') RETURNING id", [org])).rows[0].id;
  const env = (await pg.query<{ id: string }>("INSERT INTO environments (project_id, org_id, slug, name) VALUES ($1, $2, 'bench', 'bench') RETURNING id", [proj, org])).rows[0].id;
  // Bulk rows in one statement each; the triggers still bump and notify per row, as in production.
  await pg.query(`INSERT INTO flags (project_id, org_id, key, name) SELECT $1, $2, 'flag-' || g, 'flag ' || g FROM generate_series(0, $3 - 1) g`, [proj, org, flags]);
  await pg.query(`INSERT INTO flag_states (flag_id, env_id, org_id, enabled, default_value, percentage_rollout, rules)
    SELECT f.id, $1, $2, true, 'true', 2500, '[{"priority":0,"conditions":[{"attribute":"country","operator":"in","values":["US","CA"]}],"segment_keys":[],"match_type":"all","percentage":5000,"value":true}]'
    FROM flags f WHERE f.project_id = $3`, [env, org, proj]);
  return env;
}

export async function run(): Promise<void> {
  const rows: Row[] = [benchLocal()];
  const pg = await startPostgres();
  const redis = await startRedis();
  const startup: Array<{ what: string; ms: number }> = [];
  try {
    // Small project for the HTTP figures.
    let server = await startServer({ databaseUrl: pg.connectionString, adminToken: 'bench' }, { waitForWarm: true });
    const envId = await seedFlags(pg, 50);
    const key = await fetch(`${server.url}/v1/environments/${envId}/api-keys`, { method: 'POST', headers: { authorization: 'Bearer bench', 'content-type': 'application/json' }, body: '{"name":"bench"}' });
    const raw = ((await key.json()) as { key: string }).key;
    await waitUntil(async () => ((await fetch(`${server.url}/v1/ruleset/bench`, { headers: { 'X-API-Key': raw } })).ok ? true : undefined), 10_000, 'ruleset');
    rows.push(...(await benchHttp(server.url, raw, 50)));
    await server.close();

    // 10,000 flags: start-to-ready, three runs each, interleaved.
    await pg.query('DELETE FROM organizations');
    await seedFlags(pg, 10_000);
    for (let i = 0; i < 3; i++) {
      for (const withRedis of [false, true]) {
        if (withRedis) await redis.command('FLUSHALL');
        const t0 = performance.now();
        server = await startServer({ databaseUrl: pg.connectionString, adminToken: 'bench', redisUrl: withRedis ? redis.url : undefined });
        await waitUntil(async () => ((await fetch(`${server.url}/ready`)).status === 200 ? true : undefined), 120_000, '/ready');
        startup.push({ what: `start-to-ready, 10,000 flags, ${withRedis ? 'with Redis (refilled from empty)' : 'without Redis'}`, ms: performance.now() - t0 });
        await server.close();
      }
    }
  } finally {
    await redis.stop();
    await pg.stop();
  }
  const fmt = (n: number, w: number) => String(n).padStart(w);
  console.log(`\n${'measurement'.padEnd(58)} ${'evals'.padStart(8)} ${'evals/s'.padStart(10)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)}`);
  for (const r of rows) console.log(`${r.what.padEnd(58)} ${fmt(r.ops, 8)} ${fmt(r.perSec, 10)} ${fmt(Math.round(r.p50us * 10) / 10, 9)} ${fmt(Math.round(r.p99us * 10) / 10, 9)}`);
  console.log('');
  const byWhat = new Map<string, number[]>();
  for (const s of startup) byWhat.set(s.what, [...(byWhat.get(s.what) ?? []), s.ms]);
  for (const [what, ms] of byWhat) console.log(`${what.padEnd(58)} runs ${ms.map((m) => Math.round(m)).join(', ')} ms (median ${Math.round([...ms].sort((a, b) => a - b)[1])} ms)`);
}

// Allow `node packages/server/dist/bench/eval.js` directly as well as the root bench runner.
if (import.meta.url === `file://${process.argv[1]}`) await run();
