// ha: a node's patroni.yml from fsdr.yaml — the lease settings, fsdr as archive/restore command and
// replica method, per-node addresses — and a bad ha: section is one line naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError, FsdrError } from '../../src/errors.js';
import { patroniConfig } from '../../src/ha/patroni-config.js';
import { parseCluster, parseHistory, parseNodeState } from '../../src/ha/patroni-rest.js';

const doc = (ha: string) => parse(`
repositories: { primary: { type: fs, path: /srv/repo } }
encryption: { masterKey: env:K }
ha:
${ha}`);

const TWO = `
  self: pg-b
  etcd: { hosts: ["10.0.0.9:2379"] }
  nodes:
    - { name: pg-a, host: 10.0.0.1, pgdata: /var/lib/postgresql/15/main }
    - { name: pg-b, host: 10.0.0.2, port: 5433, restApiPort: 8009, pgdata: /srv/pg/b, binDir: /usr/lib/postgresql/15/bin }
`;

const CMDS = { archive: 'fsdr wal-push %p', restore: 'fsdr wal-fetch %f %p', createReplica: 'fsdr ha create-replica' };

function rejects(ha: string, pattern: RegExp): void {
  assert.throws(() => validateConfig(doc(ha)), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'), `expected ${pattern}`);
}

test('defaults: the lease for an RTO under 60 s, failsafe on, async, fsdr then basebackup', () => {
  const ha = validateConfig(doc(TWO)).ha!;
  assert.deepEqual([ha.ttl, ha.loopWait, ha.retryTimeout, ha.primaryStartTimeout], [20, 5, 5, 0]);
  assert.equal(ha.synchronous, false);
  assert.equal(ha.failsafeMode, true);
  assert.deepEqual(ha.replicaMethods, ['fsdr', 'basebackup']);
  assert.equal(ha.nodes[0]!.port, 5432);
  assert.equal(ha.nodes[0]!.restApiPort, 8008);
});

test('a node\'s patroni.yml: its own addresses, etcd3, the lease in bootstrap.dcs, fsdr commands, rewind prerequisites', () => {
  const ha = validateConfig(doc(TWO + '  synchronous: true\n  ttl: 30\n  loopWait: 10\n  retryTimeout: 10\n  maximumLagOnFailover: 0\n  parameters: { max_connections: 200, archive_command: "cp %p /tmp" }\n')).ha!;
  const c = patroniConfig(ha, undefined, CMDS) as any;
  assert.equal(c.name, 'pg-b', 'ha.self is the default node');
  assert.equal(c.scope, 'featuresignals');
  assert.deepEqual(c.restapi, { listen: '10.0.0.2:8009', connect_address: '10.0.0.2:8009' });
  assert.deepEqual(c.etcd3, { hosts: ['10.0.0.9:2379'], protocol: 'http' });
  assert.equal(c.etcd, undefined, 'the v2 API is not used');
  const dcs = c.bootstrap.dcs;
  assert.deepEqual([dcs.ttl, dcs.loop_wait, dcs.retry_timeout, dcs.maximum_lag_on_failover, dcs.synchronous_mode, dcs.failsafe_mode, dcs.primary_start_timeout], [30, 10, 10, 0, true, true, 0]);
  assert.equal(dcs.postgresql.use_pg_rewind, true);
  assert.equal(dcs.postgresql.parameters.wal_log_hints, 'on');
  assert.equal(dcs.postgresql.parameters.archive_mode, 'on');
  assert.equal(dcs.postgresql.parameters.max_connections, 200, 'extra parameters pass through');
  assert.equal(dcs.postgresql.parameters.archive_command, undefined, 'an archive_command in ha.parameters never replaces fsdr\'s');
  assert.ok(c.bootstrap.initdb.includes('data-checksums'));
  const pg = c.postgresql;
  assert.equal(pg.listen, '10.0.0.2:5433');
  assert.equal(pg.data_dir, '/srv/pg/b');
  assert.equal(pg.bin_dir, '/usr/lib/postgresql/15/bin');
  assert.equal(pg.pgpass, '/srv/pg/b.pgpass');
  assert.equal(pg.parameters.archive_command, 'fsdr wal-push %p');
  assert.equal(pg.recovery_conf.restore_command, 'fsdr wal-fetch %f %p');
  assert.deepEqual(pg.create_replica_methods, ['fsdr', 'basebackup']);
  assert.deepEqual(pg.fsdr, { command: 'fsdr ha create-replica', no_leader: true });
  assert.deepEqual(pg.basebackup, { checkpoint: 'fast' });
  assert.ok(pg.pg_hba.includes('host replication replicator 10.0.0.1/32 trust'), 'no passwords: trust, and only the nodes replicate');
  assert.equal(pg.authentication.superuser.password, undefined);
  const withPw = patroniConfig(ha, 'pg-a', CMDS, { superuser: 's3cret', replication: 'r3pl' }) as any;
  assert.equal(withPw.name, 'pg-a');
  assert.equal(withPw.postgresql.listen, '10.0.0.1:5432');
  assert.equal(withPw.postgresql.bin_dir, undefined);
  assert.equal(withPw.postgresql.authentication.replication.password, 'r3pl');
  assert.ok(withPw.postgresql.pg_hba.every((l: string) => l.startsWith('local') || l.endsWith('scram-sha-256')));
});

test('replica methods as configured: basebackup only leaves fsdr out', () => {
  const ha = validateConfig(doc(TWO + '  replicaMethods: [basebackup]\n')).ha!;
  const pg = (patroniConfig(ha, 'pg-a', CMDS) as any).postgresql;
  assert.deepEqual(pg.create_replica_methods, ['basebackup']);
  assert.equal(pg.fsdr, undefined);
});

test('an unknown node, or none, is a usage error naming the nodes', () => {
  const ha = validateConfig(doc(TWO.replace('  self: pg-b\n', ''))).ha!;
  assert.throws(() => patroniConfig(ha, 'pg-z', CMDS), (e: unknown) => e instanceof FsdrError && e.exitCode === 2 && /no node "pg-z".*/.test(e.message) && /pg-a, pg-b/.test(e.hint!));
  assert.throws(() => patroniConfig(ha, undefined, CMDS), (e: unknown) => e instanceof FsdrError && /neither --node nor ha.self/.test(e.message));
});

test('bad ha: sections are refused, naming the key', () => {
  rejects(TWO + '  ttl: 10\n', /^ha\.ttl: must be at least loopWait \+ 2 x retryTimeout \(5 \+ 2 x 5 = 15\)/);
  rejects(TWO.replace('self: pg-b', 'self: pg-c'), /^ha\.self: no node "pg-c" under ha\.nodes \(have: pg-a, pg-b\)/);
  rejects(TWO.replace('name: pg-b', 'name: pg-a'), /^ha\.nodes\.1\.name: duplicate node name "pg-a"/);
  rejects(TWO.replace('host: 10.0.0.2, port: 5433, restApiPort: 8009', 'host: 10.0.0.1, port: 5432, restApiPort: 8009'), /^ha\.nodes\.1\.port: 10\.0\.0\.1:5432 is already used by pg-a\.port/);
  rejects(TWO.replace('"10.0.0.9:2379"', '"http://10.0.0.9:2379"'), /^ha\.etcd\.hosts\.0: expected host:port/);
  rejects(TWO.replace('name: pg-a', 'name: PG A'), /^ha\.nodes\.0\.name: expected a node name/);
  rejects(TWO + '  superuser: { username: postgres, password: hunter2 }\n', /^ha\.superuser\.password: expected env:NAME or file:\/path/);
  rejects(TWO + '  lease: 3\n', /^ha\.lease: unknown key/);
  rejects(TWO.replace('self: pg-b', 'self: pg-a').replace(/    - \{ name: pg-b.*\n/, '') + '  synchronous: true\n', /^ha\.synchronous: synchronous replication needs at least two nodes/);
  rejects('  etcd: { hosts: ["a:1"] }\n  nodes: []\n', /^ha\.nodes: /);
});

test('Patroni REST answers are read defensively: lag "unknown" is null, missing fields stay undefined', () => {
  const c = parseCluster({ members: [{ name: 'pg-a', role: 'leader', state: 'running', host: '10.0.0.1', port: 5432, timeline: 2 }, { name: 'pg-b', role: 'sync_standby', state: 'streaming', timeline: 2, lag: 0 }, { name: 'pg-c', role: 'replica', state: 'running', lag: 'unknown' }] });
  assert.deepEqual(c.members.map((m) => [m.name, m.role, m.lag]), [['pg-a', 'leader', null], ['pg-b', 'sync_standby', 0], ['pg-c', 'replica', null]]);
  const n = parseNodeState({ state: 'running', role: 'master', timeline: 3, dcs_last_seen: 1700000000, failsafe_mode_is_active: true, xlog: { location: 123 } });
  assert.deepEqual([n.role, n.timeline, n.dcsLastSeen, n.failsafeActive, n.xlog!.location, n.clusterUnlocked], ['master', 3, 1700000000, true, 123, false]);
  assert.deepEqual(parseHistory([[1, 25165984, 'no recovery target specified', '2026-12-03T06:30:00+00:00', 'pg-b'], 'junk']), [{ timeline: 1, lsn: 25165984, reason: 'no recovery target specified', at: '2026-12-03T06:30:00+00:00', newLeader: 'pg-b' }]);
});

test('the client outage of a failover runs from the last commit before the writer\'s first failure to its first commit after it', async () => {
  const { outageAround } = await import('../../src/drills/ha-writer.js');
  const log = { run: 'r', seqs: [1, 2, 3, 5], commits: [1000, 1100, 1201, 4300], failures: [{ at: 1300, error: 'terminating connection' }, { at: 2400, error: 'ECONNREFUSED' }] };
  // A commit acknowledged 1 ms after the kill was sent (1200) is before the failure: no reconnect.
  assert.deepEqual(outageAround(log, 1200), { failedAt: 1300, lastBefore: 1201, firstAfter: 4300, seconds: 3.099 });
  assert.deepEqual(outageAround(log, 5000), {}, 'no failure after it: no outage');
  assert.deepEqual(outageAround({ ...log, commits: [1000, 1100, 1201], seqs: [1, 2, 3] }, 1200), { failedAt: 1300, lastBefore: 1201, firstAfter: undefined, seconds: undefined });
});
