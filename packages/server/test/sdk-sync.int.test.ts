// The SDK against a real server: a change reaches a connected SDK within 1 s, a change made while
// its stream was cut is picked up after reconnect with one ruleset fetch, and SDK and server agree on a generated set.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTcpProxy, waitUntil } from '@featuresignals/testkit';
import { FlagClient, type EvalResult } from '@featuresignals/sdk';
import { generateContexts } from '../src/index.js';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
const clients: FlagClient[] = [];
before(async () => {
  s = await startStack();
  seeded = await seed(s);
  await waitSynced(s, 'prod', seeded.keys.prod);
});
after(async () => { for (const c of clients) c.close(); await s?.stop(); });

const client = (baseURL: string, extra: Partial<ConstructorParameters<typeof FlagClient>[0]> = {}): FlagClient => {
  // A long polling interval, so only the stream (or a reconnect) can deliver changes in time.
  const c = new FlagClient({ baseURL, sdkKey: seeded.keys.prod, envKey: 'prod', pollingIntervalMs: 600_000, sseRetryMs: 200, ...extra });
  clients.push(c);
  return c;
};
const setLimit = async (value: number) => {
  const r = await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/limit/environments/${seeded.envs.prod}`, { default_value: value });
  assert.equal(r.status, 200);
};
const streaming = (c: FlagClient) => waitUntil(async () => (c.isStreaming ? true : undefined), 10_000, 'SDK stream connected');

test('a flag change through the API reaches a connected SDK within 1 second', async () => {
  const c = client(s.url);
  await c.ready();
  await streaming(c);
  assert.equal(c.getNumber('limit', { key: 'u' }, -1), 100);
  const changed = new Promise<number>((resolve) => c.on('update', () => { if (c.getNumber('limit', { key: 'u' }, -1) === 250) resolve(Date.now()); }));
  const t0 = Date.now();
  await setLimit(250);
  const t1 = await Promise.race([changed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no update within 1 s')), 1000))]);
  assert.ok(t1 - t0 <= 1000);
});

test('a change made while the SDK stream was cut is picked up after it reconnects', async () => {
  const proxy = await startTcpProxy(s.server.port);
  try {
    const c = client(`http://127.0.0.1:${proxy.port}`);
    await c.ready();
    await streaming(c);
    const before = c.getNumber('limit', { key: 'u' }, -1);
    proxy.cut();
    await setLimit(before + 1);
    await waitSynced(s, 'prod', seeded.keys.prod);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(c.getNumber('limit', { key: 'u' }, -1), before, 'no path to the server while cut');
    // Count the SDK's ruleset fetches from here: the server follows `connected` with a flag-update (for FS's SDKs),
    // which ours skips, so a reconnect costs one fetch, not a second (304) one.
    const realFetch = globalThis.fetch;
    let fetches = 0;
    globalThis.fetch = (input, init) => { if (String(input).includes('/v1/ruleset/')) fetches++; return realFetch(input, init); };
    try {
      proxy.restore();
      await waitUntil(async () => (c.getNumber('limit', { key: 'u' }, -1) === before + 1 ? true : undefined), 10_000, 'refetch after reconnect');
      await streaming(c);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.equal(fetches, 1, 'one ruleset fetch per reconnect');
  } finally {
    await proxy.close();
  }
});

test('typed getters fall back on a missing flag or a wrong type', async () => {
  const c = client(s.url, { streaming: false });
  await c.ready();
  assert.equal(c.getBoolean('nope', { key: 'u' }, true), true);
  assert.equal(c.getString('limit', { key: 'u' }, 'x'), 'x');
  assert.deepEqual(c.getJSON('config', { key: 'u' }, {}), { theme: 'dark', size: 2 });
  assert.equal(c.getString('banner', { key: 'u', attributes: { email: 'a@corp.com' } }, 'x'), 'beta-banner');
});

test('SDK and server agree on every evaluation of a generated set of flags and contexts', async () => {
  // Random extra flags with random rules, rollouts and variants.
  let seedN = 7;
  const rnd = (n: number) => { seedN = (seedN * 1103515245 + 12345) % 2147483648; return seedN % n; };
  const ops = ['eq', 'neq', 'in', 'notIn', 'gt', 'lt', 'contains', 'startsWith', 'exists'];
  for (let i = 0; i < 12; i++) {
    const key = `gen-${i}`;
    const type = ['boolean', 'string', 'ab'][i % 3];
    await s.admin('POST', `/v1/projects/${seeded.projectId}/flags`, { key, name: key, flag_type: type, default_value: type === 'boolean' ? false : 'off' });
    const rules = Array.from({ length: rnd(3) }, (_, j) => ({
      priority: rnd(2), percentage: [10000, 0, rnd(10000)][rnd(3)], value: type === 'boolean' ? true : `r${j}`,
      conditions: [{ attribute: ['country', 'age', 'plan'][rnd(3)], operator: ops[rnd(ops.length)], values: [['US', '18', 'beta', '1000000'][rnd(4)]] }],
    }));
    const w = rnd(10000);
    await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/${key}/environments/${seeded.envs.prod}`, {
      enabled: rnd(5) > 0, default_value: type === 'boolean' ? true : 'on', percentage_rollout: type === 'ab' ? 0 : rnd(10001), rules,
      variants: type === 'ab' ? [{ key: 'x', value: 'X', weight: w }, { key: 'y', value: 'Y', weight: 10000 - w }] : [],
    });
  }
  await waitSynced(s, 'prod', seeded.keys.prod);
  const c = client(s.url, { streaming: false });
  await c.ready();
  const rs = c.currentRuleset()!;
  assert.ok(rs.flags.length >= 20);
  const contexts = generateContexts([rs], { count: 150, seed: 3 });
  contexts.push({ label: 'million', key: 'm', attributes: { age: 1000000, country: 'US' } });
  let compared = 0;
  for (const ctx of contexts) {
    const res = await fetch(`${s.url}/v1/evaluate/bulk`, { method: 'POST', headers: { 'X-API-Key': seeded.keys.prod, 'content-type': 'application/json' },
      body: JSON.stringify({ flag_keys: rs.flags.map((f) => f.key), context: { key: ctx.key, attributes: ctx.attributes } }) });
    const server = (await res.json()) as Record<string, EvalResult>;
    const local = c.evaluateAll({ key: ctx.key, attributes: ctx.attributes });
    assert.deepEqual(local, server, `context ${ctx.label}`);
    compared += Object.keys(server).length;
  }
  assert.ok(compared > 3000, `compared ${compared}`);
});
