// The in-region HA setup the ha tests, drill and bench share: one etcd member, Patroni nodes on
// PostgreSQL 15 configured by `fsdr ha config` (fsdr archives, restores and builds replicas), and
// HAProxy in front routing to whichever node answers Patroni's GET /primary.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPgBinDir, freePort, startEtcd, startHaproxy, startPatroni, waitUntil, type EtcdHandle, type HaproxyHandle, type PatroniHandle } from '@featuresignals/testkit';
import { fsdrOk, giveToPostgres, type Workspace } from './fsdr.js';

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
