// Our SDK and golden set against our server started as stock FeatureSignals (FS_DISABLE_RULESET=1,
// so GET /v1/ruleset is a 404): the SDK falls back to server-side evaluation and gives the same
// values as against the normal server; stream changes still arrive in fallback mode; and a golden
// capture and compare work through the public API alone (issue 14 item 3).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntil } from '@featuresignals/testkit';
import { FlagClient } from '@featuresignals/sdk';
import { generateContexts, recordFromServer, verifyAgainst } from '../src/index.js';
import { ADMIN, seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
let stock: { url: string; proc: ChildProcess };
const clients: FlagClient[] = [];
const main = fileURLToPath(new URL('../src/main.js', import.meta.url));

/** The stock server's cache holds env at the database's version (its /metrics gauge). */
async function stockSynced(env: string): Promise<void> {
  const want = Number((await s.pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE slug = $1', [env])).rows[0].v);
  await waitUntil(async () => {
    const m = /fs_ruleset_version\{env="([^"]+)"\} (\d+)/g;
    const text = await (await fetch(`${stock.url}/metrics`)).text();
    for (const [, e, v] of text.matchAll(m)) if (e === env && Number(v) >= want) return true;
    return undefined;
  }, 10_000, `stock server at ${env} version ${want}`);
}

before(async () => {
  s = await startStack();
  seeded = await seed(s);
  // Flags targeting by attribute, by key and by rollout, so values depend on the whole context.
  const P = `/v1/projects/${seeded.projectId}`;
  for (let i = 0; i < 6; i++) {
    await s.admin('POST', `${P}/flags`, { key: `gen-${i}`, name: `gen ${i}`, flag_type: 'string', default_value: 'off' });
    await s.admin('PUT', `${P}/flags/gen-${i}/environments/${seeded.envs.prod}`, {
      enabled: true, default_value: 'on', percentage_rollout: 1000 * (i + 2),
      rules: [{ priority: 0, conditions: [{ attribute: ['country', 'plan', 'key'][i % 3], operator: 'in', values: ['US', 'beta', 'golden-7'] }], value: `r${i}`, percentage: 10000 - 1000 * i }],
    });
  }
  await waitSynced(s, 'prod', seeded.keys.prod);
  await waitSynced(s, 'staging', seeded.keys.staging);
  const port = await freePort();
  const proc = spawn(process.execPath, [main], {
    env: { ...process.env, DATABASE_URL: s.pg.connectionString, FS_ADMIN_TOKEN: ADMIN, PORT: String(port), HOST: '127.0.0.1', FS_DISABLE_RULESET: '1', LOG_LEVEL: 'warn', FS_SCHEDULER: 'off' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  stock = { url: `http://127.0.0.1:${port}`, proc };
  await waitUntil(async () => ((await fetch(`${stock.url}/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, 'stock server /ready');
  await stockSynced('prod');
  await stockSynced('staging');
});

after(async () => {
  for (const c of clients) c.close();
  if (stock?.proc.exitCode === null) {
    stock.proc.kill('SIGTERM');
    await new Promise((r) => stock.proc.once('exit', r));
  }
  await s?.stop();
});

const client = (baseURL: string, extra: Partial<ConstructorParameters<typeof FlagClient>[0]> = {}): FlagClient => {
  const c = new FlagClient({ baseURL, sdkKey: seeded.keys.prod, envKey: 'prod', pollingIntervalMs: 600_000, sseRetryMs: 200, ...extra });
  clients.push(c);
  return c;
};

test('the stock server has no /v1/ruleset; the SDK falls back and gives the same values as against the normal server', async () => {
  assert.equal((await fetch(`${stock.url}/v1/ruleset/prod`, { headers: { 'X-API-Key': seeded.keys.prod } })).status, 404);
  const local = client(s.url, { streaming: false });
  const fallback = client(stock.url, { streaming: false });
  await local.ready();
  await fallback.ready();
  assert.equal(local.evaluationMode, 'local');
  assert.equal(fallback.evaluationMode, 'server');
  const rs = local.currentRuleset()!;
  assert.deepEqual(fallback.flagKeys(), local.flagKeys().sort());
  assert.ok(rs.flags.length >= 15, `flags ${rs.flags.length}`);
  // Contexts with attributes over every attribute the rules use, boundary keys, and bare keys.
  const contexts = generateContexts([rs], { count: 120, seed: 5 });
  let compared = 0;
  let bare = 0;
  for (const ctx of contexts) {
    const want = local.evaluateAll({ key: ctx.key, attributes: ctx.attributes });
    const got = await fallback.evaluateAllAsync({ key: ctx.key, attributes: ctx.attributes });
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), ctx.label);
    for (const k of Object.keys(want)) {
      assert.deepEqual(got[k].value, want[k].value, `${ctx.label} ${k}`);
      // Bare keys come from GET /v1/client/{env}/flags (values only, as FS's SDKs see them).
      if (got[k].reason === 'CACHED') bare++;
      else assert.equal(got[k].reason, want[k].reason, `${ctx.label} ${k}`);
      compared++;
    }
  }
  assert.ok(compared > 2000, `compared ${compared}`);
  assert.ok(bare > 50, `bare-key evaluations ${bare}`);
  // The synchronous getters agree once the context is held.
  const ctx = { key: 'golden-7' };
  fallback.evaluate('gen-2', ctx);
  await waitUntil(async () => (fallback.evaluate('gen-2', ctx).reason === 'CACHED' ? true : undefined), 5000, 'context fetched');
  for (const f of ['gen-0', 'gen-2', 'gen-5', 'banner', 'experiment']) assert.equal(fallback.getString(f, ctx, 'x'), local.getString(f, ctx, 'y'), f);
});

test('in fallback mode a change reaches a streaming SDK over the stream (no polling)', async () => {
  const c = client(stock.url, { contexts: [{ key: 'u' }, { key: 'u', attributes: { seats: 60 } }] });
  await c.ready();
  assert.equal(c.evaluationMode, 'server');
  await waitUntil(async () => (c.isStreaming ? true : undefined), 10_000, 'stream connected');
  assert.equal(c.getNumber('limit', { key: 'u' }, -1), 100);
  assert.equal(c.getNumber('limit', { key: 'u', attributes: { seats: 60 } }, -1), 1000);
  const r = await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/limit/environments/${seeded.envs.prod}`, { default_value: 321 });
  assert.equal(r.status, 200);
  // pollingIntervalMs is 10 minutes: only the stream's flag-update can deliver this in time.
  await waitUntil(async () => (c.getNumber('limit', { key: 'u' }, -1) === 321 ? true : undefined), 10_000, 'update over the stream');
  assert.equal(c.getNumber('limit', { key: 'u', attributes: { seats: 60 } }, -1), 1000);
  await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/limit/environments/${seeded.envs.prod}`, { default_value: 100 });
  await waitUntil(async () => (c.getNumber('limit', { key: 'u' }, -1) === 100 ? true : undefined), 10_000, 'restored over the stream');
});

test('golden capture and compare through the public API of the stock server; a rollout change is caught', async () => {
  await stockSynced('prod');
  const target = { url: stock.url, keys: seeded.keys, contextCount: 80 };
  const golden = await recordFromServer(target);
  assert.deepEqual(Object.values(golden.envs).map((e) => e.source), ['public', 'public']);
  assert.equal(golden.envs.prod.rulesetSha256, '');
  assert.ok(golden.envs.prod.flags.includes('gen-0') && golden.envs.prod.flags.includes('golden-missing-1'));
  assert.ok(golden.lines.some((l) => l.includes('\tNOT_FOUND\t')));
  assert.ok(golden.contexts.every((c) => Object.keys(c.attributes ?? {}).length === 0), 'no ruleset: contexts carry keys only');
  const same = await verifyAgainst(golden, target);
  assert.equal(same.server.equal, true, JSON.stringify(same.server.differences.slice(0, 3)));
  assert.equal(same.sdk.equal, true, JSON.stringify(same.sdk.differences.slice(0, 3)));
  // The same record checks against the normal server too (same evaluations, full lines).
  const normal = await verifyAgainst(golden, { ...target, url: s.url });
  assert.equal(normal.server.equal, true);
  assert.equal(normal.sdk.equal, true);

  const r = await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/new-checkout/environments/${seeded.envs.prod}`, { percentage_rollout: 6000 });
  assert.equal(r.status, 200);
  await stockSynced('prod');
  const v = await verifyAgainst(golden, target);
  for (const c of [v.server, v.sdk]) {
    assert.equal(c.equal, false);
    assert.deepEqual(c.rulesetChanges, [], 'no ruleset digest without /v1/ruleset');
    assert.ok(c.differences.length >= 1);
    assert.ok(c.differences.every((d) => d.env === 'prod' && (d.flag === 'new-checkout' || d.flag === 'child')), JSON.stringify(c.differences.slice(0, 3)));
  }
  assert.match(v.server.differences.find((d) => d.flag === 'new-checkout')!.actual!, /^true\tROLLOUT/);
  await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/new-checkout/environments/${seeded.envs.prod}`, { percentage_rollout: 2500 });
});
