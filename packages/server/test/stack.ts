// Test stack: a real PostgreSQL (+ optional redis-server) and the server, with helpers for the
// management API and a seeded project whose flags cover every evaluation step.
import { startPostgres, startRedis, waitUntil, type PostgresHandle, type RedisHandle } from '@featuresignals/testkit';
import { startServer, type RunningServer, type StartServerConfig } from '../src/index.js';

export const ADMIN = 'test-admin-token';

export interface Stack {
  pg: PostgresHandle;
  redis?: RedisHandle;
  server: RunningServer;
  url: string;
  admin<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  restartServer(overrides?: Partial<StartServerConfig>): Promise<void>;
  waitReady(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(opts: { redis?: boolean; server?: Partial<StartServerConfig> } = {}): Promise<Stack> {
  const pg = await startPostgres();
  const redis = opts.redis ? await startRedis() : undefined;
  const boot = (overrides: Partial<StartServerConfig> = {}) =>
    startServer({ databaseUrl: pg.connectionString, adminToken: ADMIN, redisUrl: redis?.url, resyncIntervalMs: 60_000, ...opts.server, ...overrides });
  const stack: Stack = {
    pg, redis,
    server: await boot(),
    get url() { return this.server.url; },
    async admin(method, path, body) {
      const res = await fetch(stack.server.url + path, {
        method, headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async restartServer(overrides) {
      await stack.server.close();
      stack.server = await boot(overrides);
    },
    async waitReady() {
      await waitUntil(async () => ((await fetch(stack.server.url + '/ready')).status === 200 ? true : undefined), 20_000, '/ready 200');
    },
    async stop() {
      await stack.server.close();
      await redis?.stop();
      await pg.stop();
    },
  };
  await stack.waitReady();
  return stack;
}

export interface Seeded { projectId: string; envs: Record<string, string>; keys: Record<string, string> }

async function ok<T>(p: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await p;
  if (r.status >= 300) throw new Error(`setup request failed ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A project with prod and staging, a server key each, and flags using rules, segments,
 * rollouts, variants, prerequisites and a mutex group. */
export async function seed(s: Stack): Promise<Seeded> {
  const project = await ok<any>(s.admin('POST', '/v1/projects', { name: 'Shop', slug: 'shop' }));
  const envs: Record<string, string> = {};
  const keys: Record<string, string> = {};
  for (const slug of ['prod', 'staging']) {
    const env = await ok<any>(s.admin('POST', `/v1/projects/${project.id}/environments`, { name: slug, slug }));
    envs[slug] = env.id;
    keys[slug] = (await ok<any>(s.admin('POST', `/v1/environments/${env.id}/api-keys`, { name: 'sdk', type: 'server' }))).key;
  }
  const P = `/v1/projects/${project.id}`;
  await ok(s.admin('POST', `${P}/segments`, { key: 'beta', name: 'Beta', match_type: 'any', rules: [{ attribute: 'email', operator: 'endsWith', values: ['@corp.com'] }, { attribute: 'plan', operator: 'eq', values: ['beta'] }] }));
  const flags: Array<[any, Record<string, any>]> = [
    [{ key: 'new-checkout', name: 'New checkout' }, { enabled: true, default_value: true, percentage_rollout: 2500, rules: [{ priority: 0, conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], value: true, percentage: 5000 }] }],
    [{ key: 'banner', name: 'Banner', flag_type: 'string', default_value: 'none' }, { enabled: true, default_value: 'blue', rules: [{ priority: 1, segment_keys: ['beta'], value: 'beta-banner' }, { priority: 2, conditions: [{ attribute: 'age', operator: 'gte', values: ['18'] }], value: 'adult' }] }],
    [{ key: 'limit', name: 'Limit', flag_type: 'number', default_value: 10 }, { enabled: true, default_value: 100, rules: [{ conditions: [{ attribute: 'seats', operator: 'gt', values: ['50'] }], value: 1000 }] }],
    [{ key: 'experiment', name: 'Experiment', flag_type: 'ab', default_value: 'control' }, { enabled: true, variants: [{ key: 'a', value: 'A', weight: 3333 }, { key: 'b', value: 'B', weight: 3333 }, { key: 'c', value: 'C', weight: 3334 }] }],
    [{ key: 'config', name: 'Config', flag_type: 'json', default_value: { theme: 'light' } }, { enabled: true, default_value: { theme: 'dark', size: 2 } }],
    [{ key: 'child', name: 'Child', prerequisites: ['new-checkout'] }, { enabled: true, default_value: true }],
    [{ key: 'mx-a', name: 'Mutex A', mutual_exclusion_group: 'g1' }, { enabled: true, default_value: true }],
    [{ key: 'mx-b', name: 'Mutex B', mutual_exclusion_group: 'g1' }, { enabled: true, default_value: true }],
    [{ key: 'killed', name: 'Killed' }, { enabled: false, default_value: true }],
  ];
  for (const [flag, state] of flags) {
    await ok(s.admin('POST', `${P}/flags`, flag));
    for (const envId of Object.values(envs)) await ok(s.admin('PUT', `${P}/flags/${flag.key}/environments/${envId}`, state));
  }
  // staging differs: the checkout rollout is wider there.
  await ok(s.admin('PUT', `${P}/flags/new-checkout/environments/${envs.staging}`, { percentage_rollout: 7500 }));
  return { projectId: project.id, envs, keys };
}

/** Waits until the server's cache holds this environment at (at least) the DB's version. */
export async function waitSynced(s: Stack, envSlug: string, key: string): Promise<void> {
  const want = Number((await s.pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE slug = $1', [envSlug])).rows[0].v);
  await waitUntil(async () => {
    const r = await fetch(`${s.url}/v1/ruleset/${envSlug}`, { headers: { 'X-API-Key': key } });
    return r.ok && ((await r.json()) as { version: number }).version >= want ? true : undefined;
  }, 10_000, `${envSlug} at version ${want}`);
}
