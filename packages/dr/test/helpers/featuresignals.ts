// The real FeatureSignals server (startServer from @featuresignals/server) on a database of a test
// cluster, and a small project seeded through its management API, as an operator would.
import { waitUntil, type PostgresHandle } from '@featuresignals/testkit';
import { startServer, type RunningServer } from '@featuresignals/server';

export const ADMIN_TOKEN = 'fsdr-test-admin-token';

export interface FeatureSignals {
  server: RunningServer;
  url: string;
  admin<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/** Starts the server on database `featuresignals` of `pg` (created here) and waits for /ready. */
export async function startFeatureSignals(pg: PostgresHandle): Promise<FeatureSignals> {
  await pg.query('CREATE DATABASE featuresignals');
  const server = await startServer({ databaseUrl: pg.url('featuresignals'), adminToken: ADMIN_TOKEN, port: 0, host: '127.0.0.1' });
  const fs: FeatureSignals = {
    server,
    url: server.url,
    async admin(method, path, body) {
      const res = await fetch(server.url + path, {
        method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    close: () => server.close(),
  };
  await waitUntil(async () => ((await fetch(server.url + '/ready')).status === 200 ? true : undefined), 20_000, '/ready 200');
  return fs;
}

export interface SeededProject { projectId: string; envs: Record<string, string>; keys: Record<string, string> }

/** Project "shop": prod and staging with a server key each, a segment, and flags using a rule
 * rollout, a segment rule, variants and a prerequisite; staging's rollout differs. */
export async function seedProject(fs: FeatureSignals, pg: PostgresHandle): Promise<SeededProject> {
  const project = await fs.admin('POST', '/v1/projects', { name: 'Shop', slug: 'shop' });
  const envs: Record<string, string> = {};
  const keys: Record<string, string> = {};
  for (const slug of ['prod', 'staging']) {
    envs[slug] = (await fs.admin('POST', `/v1/projects/${project.id}/environments`, { name: slug, slug })).id;
    keys[slug] = (await fs.admin('POST', `/v1/environments/${envs[slug]}/api-keys`, { name: 'dr-verifier', type: 'server' })).key;
  }
  const P = `/v1/projects/${project.id}`;
  await fs.admin('POST', `${P}/segments`, { key: 'beta', name: 'Beta', match_type: 'any', rules: [{ attribute: 'plan', operator: 'eq', values: ['beta'] }] });
  const flags: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{ key: 'new-checkout', name: 'New checkout' }, { enabled: true, default_value: true, percentage_rollout: 2500, rules: [{ priority: 0, conditions: [{ attribute: 'country', operator: 'in', values: ['US', 'CA'] }], value: true, percentage: 5000 }] }],
    [{ key: 'banner', name: 'Banner', flag_type: 'string', default_value: 'none' }, { enabled: true, default_value: 'blue', rules: [{ priority: 1, segment_keys: ['beta'], value: 'beta-banner' }] }],
    [{ key: 'experiment', name: 'Experiment', flag_type: 'ab', default_value: 'control' }, { enabled: true, variants: [{ key: 'a', value: 'A', weight: 5000 }, { key: 'b', value: 'B', weight: 5000 }] }],
    [{ key: 'child', name: 'Child', prerequisites: ['new-checkout'] }, { enabled: true, default_value: true }],
    [{ key: 'killed', name: 'Killed' }, { enabled: false, default_value: true }],
  ];
  for (const [flag, state] of flags) {
    await fs.admin('POST', `${P}/flags`, flag);
    for (const envId of Object.values(envs)) await fs.admin('PUT', `${P}/flags/${flag.key}/environments/${envId}`, state);
  }
  await fs.admin('PUT', `${P}/flags/new-checkout/environments/${envs.staging}`, { percentage_rollout: 7500 });
  for (const env of Object.keys(envs)) await waitSynced(fs, pg, env, keys[env]!);
  return { projectId: project.id, envs, keys };
}

/** Waits until the server serves this environment at the database's config_version. */
export async function waitSynced(fs: FeatureSignals, pg: PostgresHandle, env: string, key: string): Promise<void> {
  const want = Number((await pg.query<{ v: string }>('SELECT config_version AS v FROM environments WHERE slug = $1', [env], 'featuresignals')).rows[0]!.v);
  await waitUntil(async () => {
    const r = await fetch(`${fs.url}/v1/ruleset/${env}`, { headers: { 'X-API-Key': key } });
    return r.ok && ((await r.json()) as { version: number }).version >= want ? true : undefined;
  }, 10_000, `${env} at version ${want}`);
}
