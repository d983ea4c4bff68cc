// Logical dumps: fsdr dump streams pg_dump into the repository; restore-dump into a new instance
// reproduces row counts and content checksums, restores a single table alone, and refuses client
// tools older than the dump.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { fsdrOk, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { pgbench } from '../helpers/pg-load.js';

let ws: Workspace;
let src: PostgresHandle;
let cfg: string;
const SUM = (t: string) => `SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS sum FROM ${t} t`;

before(async () => {
  ws = makeWorkspace();
  src = await startPostgres();
  cfg = ws.writeConfig({
    cluster: { connection: src.connectionString, pgdata: src.pgdata },
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
  });
  await fsdrOk(['--config', cfg, 'init']);
  await src.query('CREATE DATABASE featuresignals');
  await src.query(`CREATE TABLE flags (key text PRIMARY KEY, enabled boolean, note text);
    INSERT INTO flags SELECT 'flag-' || g, g % 3 = 0, 'FSDR-DUMP-CANARY ' || g FROM generate_series(1, 500) g`, [], 'featuresignals');
  await src.query(`CREATE TABLE audit (id serial PRIMARY KEY, what text); INSERT INTO audit (what) SELECT 'change ' || g FROM generate_series(1, 300) g`, [], 'featuresignals');
  await pgbench(src, ['-i', '-s', '1', '-q']);
});

after(async () => {
  await src?.stop();
  ws?.cleanup();
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

test('a dump restored into a new instance has the same row counts and content checksums; one table can be restored alone', async () => {
  const m = JSON.parse(await fsdrOk(['--config', cfg, 'dump', '--json']));
  assert.deepEqual(m.databases.map((d: { name: string }) => d.name), ['featuresignals', 'postgres']);
  for (const f of walk(ws.repoDir)) assert.equal(readFileSync(f).includes('FSDR-DUMP-CANARY'), false, `${f} holds plaintext`);

  const dst = await startPostgres();
  try {
    await fsdrOk(['--config', cfg, 'restore-dump', '--connection', dst.connectionString]);
    for (const [db, table] of [['featuresignals', 'flags'], ['featuresignals', 'audit'], ['postgres', 'pgbench_accounts']] as const) {
      assert.deepEqual((await dst.query(SUM(table), [], db)).rows[0], (await src.query(SUM(table), [], db)).rows[0], `${db}.${table}`);
    }
  } finally {
    await dst.stop();
  }

  const one = await startPostgres();
  try {
    await fsdrOk(['--config', cfg, 'restore-dump', '--connection', one.connectionString, '--database', 'featuresignals', '--table', 'flags']);
    assert.deepEqual((await one.query(SUM('flags'), [], 'featuresignals')).rows[0], (await src.query(SUM('flags'), [], 'featuresignals')).rows[0]);
    const tables = (await one.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`, [], 'featuresignals')).rows.map((r) => r.tablename);
    assert.deepEqual(tables, ['flags'], 'only the chosen table');
  } finally {
    await one.stop();
  }
});

test('client tools older than the dump or the server are refused with a clear error', async () => {
  // A bin directory whose tools report PostgreSQL 14: the version checks must refuse them.
  const old = join(ws.dir, 'old-bin');
  mkdirSync(old);
  for (const tool of ['pg_dump', 'pg_dumpall', 'pg_restore', 'psql']) {
    writeFileSync(join(old, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) 14.11"\n`);
    chmodSync(join(old, tool), 0o755);
  }
  const oldCfg = ws.writeConfig({
    cluster: { connection: src.connectionString, pgdata: src.pgdata, binDir: old },
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
  }, 'old.yaml');
  let r = await runFsdr(['--config', oldCfg, 'dump']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /pg_dump 14 .* is older than the server, PostgreSQL 15/);
  r = await runFsdr(['--config', oldCfg, 'restore-dump', '--connection', src.connectionString]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /pg_restore 14 .* is older than the pg_dump that wrote this dump, 15/);
});
