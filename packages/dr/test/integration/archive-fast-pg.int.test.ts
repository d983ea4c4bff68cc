// The fast archive_command (bin/fsdr-archive.sh, as `fsdr archive-command` prints it) under a real
// PostgreSQL 15: segments the background pusher stored ahead are confirmed by the shell alone (the
// fallback, the full wal-push, never starts for them); under pgbench both paths archive together
// with no failure; and the archive is complete: a restore of the latest point reproduces every
// row exactly and passes pg_amcheck.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startPostgres, type PostgresHandle } from '@featuresignals/testkit';
import { asPostgres, FSDR_BIN, fsdrOk, giveToPostgres, makeWorkspace, type Workspace } from '../helpers/fsdr.js';
import { archiverStats, pgbench, switchWal, waitArchived } from '../helpers/pg-load.js';
import { amcheck, CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';
import { loadConfig } from '../../src/config/load.js';
import { archiveCommandFor } from '../../src/commands/wal-push/archive-command.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let fastLine: string;
let fallbackLog: string;
const restored: string[] = [];

const sqlQuote = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function setArchiveCommand(cmd: string): Promise<void> {
  await pg.query(`ALTER SYSTEM SET archive_command = ${sqlQuote(cmd)}`);
  await pg.query('SELECT pg_reload_conf()');
  await new Promise((r) => setTimeout(r, 300));
}

const fallbacks = (): string[] => (existsSync(fallbackLog) ? readFileSync(fallbackLog, 'utf8').split('\n').filter(Boolean) : []);

/** The background pusher as the agent runs it (as the postgres user, like the archiver). */
async function runPusher(): Promise<void> {
  const child = spawn(process.execPath, [FSDR_BIN, '--config', cfg, 'archive-push-async', '--pg-wal', join(pg.pgdata, 'pg_wal')], { ...asPostgres(), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, err);
}

before(async () => {
  ws = makeWorkspace();
  const doc = {
    cluster: { connection: 'postgres://postgres@127.0.0.1:1/postgres', pgdata: '/unused' },
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    archive: { async: true, processes: 2, spoolPath: join(ws.dir, 'spool'), timeoutSeconds: 60 },
  };
  cfg = ws.writeConfig(doc);
  // Archiving paused (archive_mode on, empty command: PostgreSQL keeps every .ready) until set.
  pg = await startPostgres({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: '' } });
  ws.writeConfig({ ...doc, cluster: { connection: pg.connectionString, pgdata: pg.pgdata } });
  await fsdrOk(['--config', cfg, 'init']);
  // The line fsdr archive-command prints, with its fallback wrapped to log each segment it gets.
  const line = await archiveCommandFor(loadConfig(cfg));
  const fallback = line.command.slice(line.command.indexOf('%p') + 3);
  fallbackLog = join(ws.dir, 'fallbacks.log');
  const wrapper = join(ws.dir, 'fallback.sh');
  writeFileSync(wrapper, `#!/bin/sh\necho "\${1##*/}" >> ${fallbackLog}\nexec ${fallback} "$1"\n`);
  chmodSync(wrapper, 0o755);
  giveToPostgres(wrapper);
  fastLine = line.command.slice(0, line.command.indexOf('%p') + 2) + ` ${wrapper}`;
  assert.match(fastLine, /fsdr-archive\.sh .*archive-status.* %p /);
  await setArchiveCommand(fastLine);
  await pg.query('CREATE TABLE status (id int PRIMARY KEY, marker text NOT NULL)');
  await pg.query(`INSERT INTO status SELECT g, 'base-' || g FROM generate_series(1, 1000) g`);
  await fsdrOk(['--config', cfg, 'backup', '--type', 'full']);
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('segments the pusher stored ahead are confirmed by the shell alone: the fallback never runs for them', async () => {
  await setArchiveCommand('');
  await pg.query(`CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 30) AS pad FROM generate_series(1, 60000) g`);
  await pg.query(`INSERT INTO status SELECT g, 'ahead-' || g FROM generate_series(1001, 2000) g`);
  const last = await switchWal(pg);
  // Segments only: a backup's .backup file (the previous test's, when its archiving had not run
  // yet) always takes the full wal-push — the shell confirms nothing but a 24-hex segment name.
  const ready = (await pg.query<{ f: string }>(`SELECT replace(name, '.ready', '') AS f FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready' ORDER BY 1`)).rows.map((r) => r.f).filter((f) => /^[0-9A-F]{24}$/.test(f));
  assert.ok(ready.length >= 4, `segments waiting: ${ready.join(' ')}`);
  assert.ok(ready.includes(last));
  // The pusher pushes every waiting segment while PostgreSQL's archiver is paused.
  await runPusher();
  const before = fallbacks().length;
  assert.ok(before > 0, 'the wrapper logs the fallback (it archived the backup\'s WAL, before any pusher ran)');
  await setArchiveCommand(fastLine);
  await waitArchived(pg, last);
  const used = fallbacks().slice(before);
  assert.deepEqual(used.filter((n) => ready.includes(n)), [], `the fallback ran for segments the pusher had stored: ${used.join(' ')}`);
  assert.equal((await archiverStats(pg)).failed_count, 0);
});

test('under pgbench both paths archive together with no failure, and the latest restore is exact and passes pg_amcheck', async () => {
  await pgbench(pg, ['-i', '-s', '3', '-q']);
  // The pusher is started by the fallback (archive.async) and then runs ahead of the archiver.
  await pgbench(pg, ['-n', '-T', '6', '-c', '2', '-j', '2']);
  await pg.query(`INSERT INTO status SELECT g, 'end-' || g FROM generate_series(2001, 2500) g`);
  await waitArchived(pg, await switchWal(pg));
  assert.equal((await archiverStats(pg)).failed_count, 0, 'no archive_command failure');
  const want = (await pg.query<{ n: number; sum: string }>(CONTENT_SQL)).rows[0]!;
  const bench = (await pg.query<{ s: string }>(`SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) AS s FROM pgbench_accounts`)).rows[0]!.s;
  const filler = (await pg.query<{ s: string }>(`SELECT md5(string_agg(id || pad, ',' ORDER BY id)) AS s FROM filler`)).rows[0]!.s;
  const pgdata = join(ws.dir, 'restored');
  restored.push(pgdata);
  const port = await freePort();
  await fsdrOk(['--config', cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--latest']);
  // archive.async restores fetch through the shell fast path (the prefetcher's spool), falling back to wal-fetch.
  assert.match(readFileSync(join(pgdata, 'postgresql.auto.conf'), 'utf8'), /restore_command = '[^\n]*fsdr-fetch\.sh [^\n]*archive-in %f %p [^\n]*wal-fetch --repo primary/);
  assert.deepEqual((await queryPort<{ n: number; sum: string }>(port, CONTENT_SQL))[0], want);
  assert.equal((await queryPort<{ s: string }>(port, `SELECT md5(string_agg(aid || ':' || abalance, ',' ORDER BY aid)) AS s FROM pgbench_accounts`))[0]!.s, bench);
  assert.equal((await queryPort<{ s: string }>(port, `SELECT md5(string_agg(id || pad, ',' ORDER BY id)) AS s FROM filler`))[0]!.s, filler);
  const check = amcheck(port);
  assert.equal(check.code, 0, check.output);
  const verify = await fsdrOk(['--config', cfg, 'verify']);
  assert.match(verify, /no faults/);
});
