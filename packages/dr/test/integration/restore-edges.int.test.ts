// Restores that must work where they used to fail (issue 8, items 9–12): a source whose server log
// is a file named `log` inside the data directory, a target directory made by mkdir (0755), a
// tablespace restored as root, a config path with a space and a quote, a failed start that must
// leave nothing behind, and one unreadable manifest that must not block restoring another backup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresHandle } from '@featuresignals/testkit';
import { freePort } from '@featuresignals/testkit';
import { parse as parseYaml } from 'yaml';
import pg_ from 'pg';
import { archivingCluster } from '../helpers/cluster.js';
import { fsdrOk, giveToPostgres, makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';
import { switchWal, waitArchived } from '../helpers/pg-load.js';
import { amcheck, CONTENT_SQL, queryPort, stopRestored } from '../helpers/restored.js';

let ws: Workspace;
let pg: PostgresHandle;
let cfg: string;
let firstBackup: string;
const restored: string[] = [];
const PgClient = pg_.Client;
const SOURCE_LOG = 'a server log the source keeps inside its data directory\n';
const TS_SQL = `SELECT count(*)::int AS n, md5(string_agg(id || ':' || v, ',' ORDER BY id)) AS sum FROM in_tablespace`;

async function restore(name: string, args: string[], opts: { config?: string; mkdir?: boolean } = {}) {
  const pgdata = join(ws.dir, name);
  if (opts.mkdir) mkdirSync(pgdata, { mode: 0o755 });
  restored.push(pgdata);
  const port = await freePort();
  const run = await runFsdr(['--config', opts.config ?? cfg, 'restore', '--pgdata', pgdata, '--port', String(port), '--json', ...args]);
  return { pgdata, port, run };
}

async function expected() {
  return { status: (await pg.query(CONTENT_SQL)).rows[0], ts: (await pg.query(TS_SQL)).rows[0] };
}

async function actual(port: number) {
  return { status: (await queryPort(port, CONTENT_SQL))[0], ts: (await queryPort(port, TS_SQL))[0] };
}

before(async () => {
  ws = makeWorkspace();
  ({ pg, cfg } = await archivingCluster(ws, { backup: { processes: 2, bundleSizeMiB: 1 } }));
  const tsDir = join(ws.dir, 'tablespace-one');
  mkdirSync(tsDir, { mode: 0o700 });
  giveToPostgres(tsDir);
  await pg.query(`CREATE TABLESPACE one LOCATION '${tsDir}'`);
  await pg.query('CREATE TABLE status (id serial PRIMARY KEY, marker text NOT NULL)');
  await pg.query('CREATE TABLE in_tablespace (id int PRIMARY KEY, v text) TABLESPACE one');
  await pg.query("INSERT INTO in_tablespace SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g");
  await pg.query("INSERT INTO status (marker) VALUES ('before-backup')");
  // As with `pg_ctl -D $PGDATA -l $PGDATA/log start`: a regular file named log in the data directory.
  writeFileSync(join(pg.pgdata, 'log'), SOURCE_LOG);
  giveToPostgres(join(pg.pgdata, 'log'));
  firstBackup = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'])).id;
  await pg.query("INSERT INTO status (marker) VALUES ('after-backup')");
  await pg.query('UPDATE in_tablespace SET v = v || id WHERE id % 7 = 0');
  await waitArchived(pg, await switchWal(pg));
});

after(async () => {
  for (const d of restored) await stopRestored(d);
  await pg?.stop();
  ws?.cleanup();
});

test('into a mkdir-made 0755 directory, with a file named log in the source and a tablespace, as root: exact', async () => {
  const want = await expected();
  const r = await restore('into-mkdir', ['--latest'], { mkdir: true });
  assert.equal(r.run.code, 0, r.run.stderr);
  assert.deepEqual(await actual(r.port), want);
  assert.equal(statSync(r.pgdata).mode & 0o777, 0o700);
  assert.equal(readFileSync(join(r.pgdata, 'log'), 'utf8'), SOURCE_LOG, 'the source file named log is reproduced exactly');
  const result = JSON.parse(r.run.stdout);
  assert.ok(!result.logFile.startsWith(r.pgdata + '/'), `fsdr's own log ${result.logFile} is outside the data directory`);
  const check = amcheck(r.port);
  assert.equal(check.code, 0, check.output);
  await stopRestored(r.pgdata);
});

test('a config path with a space and a quote reaches restore_command intact', async () => {
  const odd = join(ws.dir, "it's a dir");
  mkdirSync(odd);
  giveToPostgres(odd);
  const oddCfg = ws.writeConfig(parseYaml(readFileSync(cfg, 'utf8')), "it's a dir/fsdr config.yaml");
  const want = await expected();
  const r = await restore('odd-config', ['--latest'], { config: oddCfg });
  assert.equal(r.run.code, 0, r.run.stderr);
  assert.deepEqual(await actual(r.port), want);
  await stopRestored(r.pgdata);
});

test('a start that fails leaves the directory as it was (empty) and the tablespace removed; a retry works', async () => {
  const bad = await restore('failed-start', ['--latest', '--set', 'shared_buffers=lots'], { mkdir: true });
  assert.notEqual(bad.run.code, 0);
  assert.match(bad.run.stderr, /^fsdr: the restored instance stopped during recovery: .*postgresql\.auto\.conf/m);
  assert.deepEqual(readdirSync(bad.pgdata), []);
  assert.equal(existsSync(`${bad.pgdata}_tblspc`), false);
  const want = await expected();
  const port = await freePort();
  const again = await runFsdr(['--config', cfg, 'restore', '--pgdata', bad.pgdata, '--port', String(port), '--latest']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await actual(port), want);
  await stopRestored(bad.pgdata);
});

test('one unreadable manifest does not block restoring another backup; info names it', async () => {
  await new Promise((r) => setTimeout(r, 1100));
  const second = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'])).id;
  await waitArchived(pg, await switchWal(pg));
  const manifestFile = join(ws.repoDir, 'backups', firstBackup, 'manifest.json');
  const bytes = readFileSync(manifestFile);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
  writeFileSync(manifestFile, bytes);
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.deepEqual(info.unreadableBackups.map((u: { id: string }) => u.id), [firstBackup]);
  assert.deepEqual(info.backups.map((b: { id: string }) => b.id), [second]);
  const want = await expected();
  const r = await restore('other-backup', ['--latest', '--backup', second]);
  assert.equal(r.run.code, 0, r.run.stderr);
  assert.deepEqual(await actual(r.port), want);
  await stopRestored(r.pgdata);
  const named = await restore('named-bad', ['--latest', '--backup', firstBackup]);
  assert.equal(named.run.code, 1);
  assert.match(named.run.stderr, new RegExp(`backups/${firstBackup}/manifest.json`));
});

test('failures that name their cause: a missing restore point, an aborted target transaction, a damaged WAL object', async () => {
  const noName = await restore('no-such-name', ['--target-name', 'never-created']);
  assert.equal(noName.run.code, 1);
  assert.match(noName.run.stderr, /^fsdr: restore point 'never-created' is not in the archive of timeline 1/m);
  assert.doesNotMatch(noName.run.stderr, /choose an earlier/);
  assert.equal(existsSync(noName.pgdata), false);

  const c = new PgClient({ connectionString: pg.connectionString });
  await c.connect();
  let xid: string;
  try {
    await c.query('BEGIN');
    await c.query("INSERT INTO status (marker) VALUES ('rolled-back')");
    xid = (await c.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]!.x;
    await c.query('ROLLBACK');
  } finally {
    await c.end();
  }
  await pg.query("INSERT INTO status (marker) VALUES ('after-the-rollback')");
  const seg = await switchWal(pg);
  await waitArchived(pg, seg);
  const aborted = await restore('aborted-xid', ['--target-xid', xid]);
  assert.equal(aborted.run.code, 1, aborted.run.stdout);
  assert.match(aborted.run.stderr, new RegExp(`^fsdr: transaction ${xid} aborted: recovery stopped after its abort`, 'm'));
  assert.equal(existsSync(aborted.pgdata), false);

  // One flipped byte in the newest segment: recovery must abort naming the object, not end early.
  const obj = join(ws.repoDir, 'wal', seg.slice(0, 16), seg);
  const original = readFileSync(obj);
  const damaged = Buffer.from(original);
  damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
  writeFileSync(obj, damaged);
  try {
    const r = await restore('damaged-wal', ['--latest']);
    assert.equal(r.run.code, 1, r.run.stdout);
    assert.match(r.run.stderr, new RegExp(`restore_command: object wal/${seg.slice(0, 16)}/${seg}`));
    assert.equal(existsSync(r.pgdata), false);
  } finally {
    writeFileSync(obj, original);
  }
});
