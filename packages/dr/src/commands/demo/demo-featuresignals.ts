// The demo's FeatureSignals: redis-server (when installed) and the real server from
// packages/server on the demo cluster, a project seeded through the management API as an operator
// would, and the SDK (streaming) as an application would use it. Nothing here talks to the
// server except through its public HTTP API.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '@featuresignals/server';
import { FlagClient } from '@featuresignals/sdk';
import { FsdrError } from '../../errors.js';
import { freeLoopbackPort } from '../../util/free-port.js';

/** The server's start command, as stack.start runs it on the recovered database. */
export const SERVER_MAIN = fileURLToPath(new URL('./main.js', import.meta.resolve('@featuresignals/server')));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DemoRedis { url: string; stop(): Promise<void> }

function findRedis(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat('/usr/bin', '/usr/sbin')) {
    const p = join(dir, 'redis-server');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(1000);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

/** A throwaway redis-server (no persistence) on a free port, or undefined when none is installed. */
export async function startDemoRedis(): Promise<DemoRedis | undefined> {
  const bin = findRedis();
  if (!bin) return undefined;
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await ping(port)); i++) await sleep(50);
  if (!(await ping(port))) { child.kill('SIGKILL'); throw new FsdrError('FSDR_DEMO', `redis-server did not answer on port ${port}`); }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

export interface DemoServer { server: RunningServer; url: string; admin<T = any>(method: string, path: string, body?: unknown): Promise<T> }

export async function startDemoServer(databaseUrl: string, adminToken: string, redisUrl?: string): Promise<DemoServer> {
  const server = await startServer({ databaseUrl, adminToken, redisUrl, port: 0, host: '127.0.0.1', logLevel: 'silent', scheduler: false });
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, {
      method, headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 300) throw new FsdrError('FSDR_DEMO', `the demo server answered ${method} ${path} with ${res.status}: ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : undefined;
  };
  for (let i = 0; i < 200; i++) {
    if ((await fetch(server.url + '/ready').then((r) => r.status, () => 0)) === 200) return { server, url: server.url, admin };
    await sleep(100);
  }
  await server.close();
  throw new FsdrError('FSDR_DEMO', 'the demo FeatureSignals server never answered /ready 200');
}

export interface Shop { projectId: string; envId: string; key: string; flags: string[] }

/** Project "shop", environment prod with a server key, a segment and `count` flags of every kind
 * (24 for the demo; the recover benchmark seeds 10,000, `concurrency` requests at a time). */
export async function seedShop(fs: DemoServer, count = 24, concurrency = 1): Promise<Shop> {
  const project = await fs.admin('POST', '/v1/projects', { name: 'Shop', slug: 'shop' });
  const env = await fs.admin('POST', `/v1/projects/${project.id}/environments`, { name: 'Production', slug: 'prod' });
  const key = (await fs.admin('POST', `/v1/environments/${env.id}/api-keys`, { name: 'dr-verifier', type: 'server' })).key as string;
  const P = `/v1/projects/${project.id}`;
  await fs.admin('POST', `${P}/segments`, { key: 'beta', name: 'Beta', match_type: 'any', rules: [{ attribute: 'plan', operator: 'eq', values: ['beta'] }] });
  const width = Math.max(2, String(count).length);
  const flags = Array.from({ length: count }, (_, i) => `flag-${String(i + 1).padStart(width, '0')}`);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) await createFlag(fs, P, env.id, flags[i]!, i + 1);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { projectId: project.id, envId: env.id, key, flags };
}

async function createFlag(fs: DemoServer, P: string, envId: string, k: string, i: number): Promise<void> {
  const kind = i % 4;
  const flag = kind === 1 ? { key: k, name: k, flag_type: 'string', default_value: 'none' } : kind === 2 ? { key: k, name: k, flag_type: 'ab', default_value: 'control' } : { key: k, name: k };
  const state = kind === 0
    ? { enabled: true, default_value: true, percentage_rollout: (i * 409) % 10000, rules: [{ priority: 0, conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], value: true, percentage: 5000 }] }
    : kind === 1
      ? { enabled: true, default_value: 'blue', rules: [{ priority: 1, segment_keys: ['beta'], value: 'beta-banner' }] }
      : kind === 2
        ? { enabled: true, variants: [{ key: 'a', value: 'A', weight: 5000 }, { key: 'b', value: 'B', weight: 5000 }] }
        : { enabled: i % 3 !== 0, default_value: true };
  await fs.admin('POST', `${P}/flags`, flag);
  await fs.admin('PUT', `${P}/flags/${k}/environments/${envId}`, state);
}

export const demoUsers = (n: number) => Array.from({ length: n }, (_, i) => ({
  key: `user-${i}`, attributes: { country: ['US', 'DE', 'CA', 'IN'][i % 4]!, plan: i % 5 === 0 ? 'beta' : 'free' },
}));

/** What an application sees: every flag for every user, as the SDK evaluates them locally. */
export function sdkView(client: FlagClient, flags: string[], users: ReturnType<typeof demoUsers>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const u of users) for (const f of flags) {
    const r = client.evaluate(f, u);
    out[`${u.key}/${f}`] = r.reason === 'NOT_FOUND' ? 'NOT_FOUND' : r.value;
  }
  return out;
}

/** Waits until the server serves prod at the database's config_version (it follows by NOTIFY). */
export async function waitSynced(baseURL: string, key: string, version: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(`${baseURL}/v1/ruleset/prod`, { headers: { 'X-API-Key': key } }).catch(() => undefined);
    if (r?.ok && ((await r.json()) as { version: number }).version >= version) return;
    await sleep(50);
  }
  throw new FsdrError('FSDR_DEMO', `the demo server never reached config version ${version}`);
}

/** The same view from the server's own evaluation (POST /v1/evaluate/bulk through the SDK's remote mode). */
export async function serverView(baseURL: string, key: string, flags: string[], users: ReturnType<typeof demoUsers>): Promise<Record<string, unknown>> {
  const remote = new FlagClient({ baseURL, sdkKey: key, envKey: 'prod', mode: 'remote' });
  const out: Record<string, unknown> = {};
  try {
    for (const u of users) {
      const got = await remote.evaluateBulkRemote(u, flags);
      for (const f of flags) out[`${u.key}/${f}`] = got[f]?.reason === 'NOT_FOUND' || !got[f] ? 'NOT_FOUND' : got[f]!.value;
    }
  } finally { remote.close(); }
  return out;
}

export async function connectSdk(baseURL: string, key: string): Promise<FlagClient> {
  const client = new FlagClient({ baseURL, sdkKey: key, envKey: 'prod', streaming: true, pollingIntervalMs: 1000 });
  await client.ready(20_000);
  return client;
}

/** Waits until the SDK's view satisfies `done` (it follows the server's stream). */
export async function waitView(client: FlagClient, flags: string[], users: ReturnType<typeof demoUsers>, done: (v: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const v = sdkView(client, flags, users);
    if (done(v)) return v;
    await sleep(100);
  }
  throw new FsdrError('FSDR_DEMO', `the SDK never saw ${what}`);
}
