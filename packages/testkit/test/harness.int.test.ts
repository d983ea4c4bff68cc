// Proves the harnesses start real servers as a root caller, survive stop/start, and leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { freePort, startNamed, startPostgres, startRedis } from '../src/index.js';

test('freePort returns a bindable port', async () => {
  const p = await freePort();
  assert.ok(p > 0 && p < 65536);
});

test('startPostgres initdbs a cluster with extra settings, restarts it, and cleans up', async () => {
  const pg = await startPostgres({ settings: { application_name: 'testkit', wal_level: 'replica' } });
  try {
    const r = await pg.query<{ v: string; wal: string }>("SELECT current_setting('server_version_num') AS v, current_setting('wal_level') AS wal");
    assert.match(r.rows[0].v, /^15/);
    assert.equal(r.rows[0].wal, 'replica');
    await pg.query('CREATE TABLE t (x int)');
    await pg.query('INSERT INTO t VALUES (41)');
    await pg.stopServer();
    assert.equal(pg.isRunning(), false);
    await assert.rejects(pg.query('SELECT 1'));
    await pg.start();
    assert.equal((await pg.psql('SELECT x + 1 FROM t')).trim(), '42');
    await pg.kill();
    await pg.start(); // crash recovery
    assert.equal((await pg.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 1);
  } finally {
    await pg.stop();
    await pg.stop(); // idempotent
  }
  assert.equal(pg.isRunning(), false);
  assert.equal(existsSync(dirname(pg.pgdata)), false);
});

test('startRedis serves PING and stops idempotently', async () => {
  const r = await startRedis();
  try {
    assert.equal(await r.command('PING'), '+PONG');
    assert.equal(await r.command('SET a 1'), '+OK');
    await r.stopServer();
    await r.start();
    assert.equal(await r.command('GET a'), '$-1', 'no persistence: data is gone after restart');
  } finally {
    await r.stop();
    await r.stop();
  }
  await assert.rejects(r.command('PING'));
});

test('startNamed serves its zone on a free port, answers real queries, and leaves nothing behind', async () => {
  const n = await startNamed({ zone: 'kit.test', records: ['www 120 IN A 10.1.2.3'] });
  try {
    assert.deepEqual(await n.resolve4('www.kit.test'), [{ address: '10.1.2.3', ttl: 120 }]);
    assert.deepEqual(await n.resolve4('absent.kit.test'), []);
    assert.match(n.keySecret, /^[A-Za-z0-9+/]{43}=$/);
  } finally {
    await n.stop();
    await n.stop();
  }
  assert.equal(existsSync(dirname(n.logFile)), false);
  await assert.rejects(n.resolve4('www.kit.test'));
});
