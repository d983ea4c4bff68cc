// One node's patroni.yml from the `ha:` section, as plain data (pure: the commands that go in it
// are computed by commands/ha and passed in). fsdr plugs into Patroni the way pgBackRest and WAL-G
// do: archive_command and restore_command are fsdr's, and a new replica is restored from the
// repository (`fsdr ha create-replica`) before Patroni falls back to pg_basebackup from the leader.
import type { HaConfig, HaNodeConfig } from '../config/schema.js';
import { FsdrError } from '../errors.js';

export interface PatroniCommands {
  /** archive_command: only the leader runs it (archive_mode = on archives on the primary alone). */
  archive: string;
  /** restore_command: replicas fall back to the repository when streaming cannot serve them. */
  restore: string;
  /** The replica creation method (Patroni adds --scope --role --datadir --connstring). */
  createReplica: string;
}

export interface PatroniPasswords {
  superuser?: string;
  replication?: string;
}

export function haNode(ha: HaConfig, name: string | undefined): HaNodeConfig {
  const want = name ?? ha.self;
  if (!want) {
    throw new FsdrError('FSDR_HA_NODE', 'which node? neither --node nor ha.self is given', { hint: `pass --node with one of: ${ha.nodes.map((n) => n.name).join(', ')}`, exitCode: 2 });
  }
  const node = ha.nodes.find((n) => n.name === want);
  if (!node) throw new FsdrError('FSDR_HA_NODE', `no node "${want}" under ha.nodes`, { hint: `use one of: ${ha.nodes.map((n) => n.name).join(', ')}`, exitCode: 2 });
  return node;
}

/** host/32 (or /128) for pg_hba, so only the cluster's own nodes may replicate. */
function hbaAddress(host: string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return `${host}/32`;
  if (host.includes(':')) return `${host.replace(/^\[|\]$/g, '')}/128`;
  return host; // a host name: pg_hba resolves it
}

/**
 * The node's Patroni configuration. Settings PostgreSQL must agree on across nodes go in
 * bootstrap.dcs (Patroni keeps them in etcd); per-node ones in postgresql.
 */
export function patroniConfig(ha: HaConfig, nodeName: string | undefined, cmds: PatroniCommands, pw: PatroniPasswords = {}): Record<string, unknown> {
  const node = haNode(ha, nodeName);
  // Without passwords connections can only be trusted: acceptable on a private loopback test, so
  // the file says which one it is. With them, SCRAM for everything that is not the local socket.
  const method = pw.superuser && pw.replication ? 'scram-sha-256' : 'trust';
  const hba = [
    'local all all trust',
    ...ha.nodes.map((n) => `host replication ${ha.replication.username} ${hbaAddress(n.host)} ${method}`),
    `host all all 0.0.0.0/0 ${method}`,
    `host all all ::/0 ${method}`,
  ];
  const auth = (a: { username: string }, p: string | undefined) => (p ? { username: a.username, password: p } : { username: a.username });
  const methods: Record<string, unknown> = {};
  for (const m of ha.replicaMethods) {
    if (m === 'basebackup') methods.basebackup = { checkpoint: 'fast' };
    // no_leader: a replica can be restored from the repository while no leader is there.
    else methods.fsdr = { command: cmds.createReplica, no_leader: true };
  }
  const dcsParameters: Record<string, string | number | boolean> = {
    wal_level: 'replica',
    hot_standby: 'on',
    // pg_rewind needs hint bits in WAL (or checksums, which initdb enables below too).
    wal_log_hints: 'on',
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: '128MB',
    archive_mode: 'on',
    // The plan: WAL leaves the host at least every 60 s.
    archive_timeout: 60,
    ...ha.parameters,
  };
  // fsdr's archive_command wins over ha.parameters: it is what makes the repository continuous.
  delete dcsParameters.archive_command;
  return {
    scope: ha.scope,
    namespace: ha.namespace,
    name: node.name,
    restapi: { listen: `${node.host}:${node.restApiPort}`, connect_address: `${node.host}:${node.restApiPort}` },
    etcd3: { hosts: ha.etcd.hosts, protocol: ha.etcd.protocol },
    bootstrap: {
      dcs: {
        ttl: ha.ttl,
        loop_wait: ha.loopWait,
        retry_timeout: ha.retryTimeout,
        maximum_lag_on_failover: ha.maximumLagOnFailover,
        primary_start_timeout: ha.primaryStartTimeout,
        synchronous_mode: ha.synchronous,
        synchronous_mode_strict: ha.synchronousStrict,
        failsafe_mode: ha.failsafeMode,
        postgresql: { use_pg_rewind: true, use_slots: true, parameters: dcsParameters },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'data-checksums'],
    },
    postgresql: {
      listen: `${node.host}:${node.port}`,
      connect_address: `${node.host}:${node.port}`,
      data_dir: node.pgdata,
      ...(node.binDir ? { bin_dir: node.binDir } : {}),
      pgpass: node.pgpass ?? `${node.pgdata.replace(/\/+$/, '')}.pgpass`,
      authentication: { superuser: auth(ha.superuser, pw.superuser), replication: auth(ha.replication, pw.replication) },
      parameters: { archive_command: cmds.archive },
      recovery_conf: { restore_command: cmds.restore },
      create_replica_methods: ha.replicaMethods,
      ...methods,
      pg_hba: hba,
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}
