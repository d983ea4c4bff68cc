// The in-region HA setup the ha tests, drill and bench share: one etcd member, Patroni nodes on
// PostgreSQL 15 configured by `fsdr ha config` (fsdr archives, restores and builds replicas), and
// HAProxy in front routing to whichever node answers Patroni's GET /primary.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPgBinDir, freePort, startEtcd, startHaproxy, startPatroni, waitUntil, type EtcdHandle, type HaproxyHandle, type PatroniHandle } from '@featuresignals/testkit';
import pg from 'pg';
import { startServer, type RunningServer } from '@featuresignals/server';
import { fsdrOk, giveToPostgres, type Workspace } from './fsdr.js';
import { ADMIN_TOKEN, seedProject, type FeatureSignals, type SeededProject } from './featuresignals.js';

export interface HaNode {
  name: string;
  port: number;
  restApiPort: number;
  pgdata: string;
  configPath: string;
  patroniYml: string;
  patroni?: PatroniHandle;
  url(db?: string): string;
}

export interface HaCluster {
  etcd: EtcdHandle;
  nodes: HaNode[];
  haproxy?: HaproxyHandle;
  /** postgres://…@127.0.0.1:<haproxy>/db */
  proxyUrl(db?: string): string;
  startNode(n: HaNode): Promise<void>;
  /** The node whose Patroni answers 200 to /primary now, if exactly one does. */
  leader(): Promise<HaNode | undefined>;
  stop(): Promise<void>;
}

export interface HaOptions {
  names?: string[];
  synchronous?: boolean;
  ttl?: number;
  loopWait?: number;
  retryTimeout?: number;
  failsafeMode?: boolean;
  extra?: Record<string, unknown>;
}

/** Writes one fsdr.yaml per node (ha.self and cluster differ) and each node's patroni.yml via `fsdr ha config`. */
export async function prepareHa(ws: Workspace, o: HaOptions = {}): Promise<HaCluster> {
  const etcd = await startEtcd();
  const names = o.names ?? ['pg-a', 'pg-b'];
  const binDir = findPgBinDir();
  const specs = [];
  for (const name of names) {
    const dir = join(ws.dir, name);
    mkdirSync(dir, { recursive: true });
    giveToPostgres(dir);
    specs.push({ name, host: '127.0.0.1', port: await freePort(), restApiPort: await freePort(), pgdata: join(dir, 'data'), binDir });
  }
  const ha = {
    etcd: { hosts: [etcd.endpoint] },
    nodes: specs,
    synchronous: o.synchronous ?? false,
    ttl: o.ttl ?? 20, loopWait: o.loopWait ?? 5, retryTimeout: o.retryTimeout ?? 5,
    ...(o.failsafeMode === undefined ? {} : { failsafeMode: o.failsafeMode }),
    parameters: { unix_socket_directories: ws.dir, fsync: 'off', max_connections: 100 },
  };
  const nodes: HaNode[] = [];
  for (const s of specs) {
    const configPath = ws.writeConfig({
      cluster: { connection: `postgres://postgres@127.0.0.1:${s.port}/postgres`, pgdata: s.pgdata, binDir },
      repositories: { primary: { type: 'fs', path: ws.repoDir } },
      encryption: { masterKey: `file:${ws.keyFile}` },
      ha: { ...ha, self: s.name },
      ...o.extra,
    }, `fsdr-${s.name}.yaml`);
    const patroniYml = join(ws.dir, s.name, 'patroni.yml');
    await fsdrOk(['--config', configPath, 'ha', 'config', '--out', patroniYml]);
    giveToPostgres(patroniYml);
    nodes.push({ name: s.name, port: s.port, restApiPort: s.restApiPort, pgdata: s.pgdata, configPath, patroniYml, url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${s.port}/${db}` });
  }
  const cluster: HaCluster = {
    etcd, nodes,
    proxyUrl: (db = 'postgres') => `postgres://postgres@127.0.0.1:${cluster.haproxy!.port}/${db}`,
    async startNode(n) {
      n.patroni ??= await startPatroni({ configFile: n.patroniYml, restUrl: `http://127.0.0.1:${n.restApiPort}`, pgdata: n.pgdata, logFile: join(ws.dir, n.name, 'patroni.log') });
      await n.patroni.start();
    },
    async leader() {
      const up = [];
      for (const n of nodes) if (n.patroni && (await n.patroni.check('/primary')) === 200) up.push(n);
      return up.length === 1 ? up[0] : undefined;
    },
    async stop() {
      await cluster.haproxy?.stop();
      for (const n of nodes) await n.patroni?.stop();
      await etcd.stop();
    },
  };
  return cluster;
}

export async function startHaproxyFor(c: HaCluster): Promise<HaproxyHandle> {
  c.haproxy = await startHaproxy({ backends: c.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: n.port, checkPort: n.restApiPort })) });
  return c.haproxy;
}

/** Waits until `n`'s Patroni reports PostgreSQL running in `role` (primary: holds the leader lock). */
export async function waitRole(n: HaNode, role: 'primary' | 'replica', timeoutMs = 60_000): Promise<void> {
  await waitUntil(async () => ((await n.patroni!.check(role === 'primary' ? '/primary' : '/replica')) === 200 ? true : undefined), timeoutMs, `${n.name} ${role}`);
}

export function patroniLog(n: HaNode): string {
  try {
    return readFileSync(join(n.pgdata, '..', 'patroni.log'), 'utf8').slice(-3000);
  } catch {
    return '';
  }
}

/** One query through HAProxy on a short-lived connection. */
export async function proxyQuery<R extends pg.QueryResultRow>(c: HaCluster, sql: string, params: unknown[] = [], db = 'postgres'): Promise<pg.QueryResult<R>> {
  const cl = new pg.Client({ connectionString: c.proxyUrl(db), connectionTimeoutMillis: 2000 });
  cl.on('error', () => undefined);
  await cl.connect();
  try {
    return await cl.query<R>(sql, params);
  } finally {
    await cl.end().catch(() => undefined);
  }
}

export async function clusterView(n: HaNode): Promise<Array<{ name: string; role: string; state: string; timeline?: number }>> {
  const r = await fetch(`http://127.0.0.1:${n.restApiPort}/cluster`, { signal: AbortSignal.timeout(1500) });
  return ((await r.json()) as { members: Array<{ name: string; role: string; state: string; timeline?: number }> }).members;
}

export interface HaStack {
  c: HaCluster;
  a: HaNode;
  b: HaNode;
  server: RunningServer;
  seeded: SeededProject;
}

/**
 * The whole stack: pg-a bootstrapped by Patroni, the repository initialised and backed up, pg-b
 * restored from it by `fsdr ha create-replica` (and, synchronous, named the sync standby), HAProxy,
 * and the FeatureSignals server connected through HAProxy with the seeded project.
 */
export async function startHaStack(ws: Workspace, o: HaOptions = {}): Promise<HaStack> {
  const c = await prepareHa(ws, o);
  try {
    const [a, b] = c.nodes as [HaNode, HaNode];
    await c.startNode(a);
    await waitRole(a, 'primary', 60_000).catch((e) => { throw new Error(`${e.message}\n${patroniLog(a)}`); });
    await fsdrOk(['--config', a.configPath, 'init']);
    await fsdrOk(['--config', a.configPath, 'backup']);
    await c.startNode(b);
    await waitRole(b, 'replica', 90_000).catch((e) => { throw new Error(`${e.message}\n${patroniLog(b)}`); });
    if (o.synchronous) await waitUntil(async () => ((await clusterView(a)).find((m) => m.name === b.name)?.role === 'sync_standby' ? true : undefined), 30_000, `${b.name} sync_standby`);
    await startHaproxyFor(c);
    await waitUntil(async () => { const s = await c.haproxy!.servers(); return s[a.name] === 'UP' && s[b.name]!.startsWith('DOWN') ? true : undefined; }, 10_000, `haproxy: ${a.name} up, ${b.name} down`);
    await proxyQuery(c, 'CREATE DATABASE featuresignals');
    const server = await startServer({ databaseUrl: c.proxyUrl('featuresignals'), adminToken: ADMIN_TOKEN, port: 0, host: '127.0.0.1' });
    await waitUntil(async () => ((await fetch(server.url + '/ready')).status === 200 ? true : undefined), 20_000, '/ready');
    const fs: FeatureSignals = {
      server, url: server.url, close: () => server.close(),
      async admin(method, path, body) {
        const res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined });
        const text = await res.text();
        if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
        return text ? JSON.parse(text) : undefined;
      },
    };
    // seedProject reads config_version through `query` only: the database behind HAProxy.
    const seeded = await seedProject(fs, { query: (sql: string, params?: unknown[], db?: string) => proxyQuery(c, sql, params, db) } as never);
    return { c, a, b, server, seeded };
  } catch (err) {
    await c.stop();
    throw err;
  }
}
