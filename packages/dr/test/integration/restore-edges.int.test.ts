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
import { Readable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { backupSummaryKey } from '../../src/repository/layout.js';
import { Repository } from '../../src/repository/repository.js';
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

/** Flips one byte in the middle of a repository object (fails authentication). */
function damage(...key: string[]): void {
  const file = join(ws.repoDir, ...key);
  const bytes = readFileSync(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
  writeFileSync(file, bytes);
}

test('one unreadable manifest does not block restoring another backup; info names it', async () => {
  await new Promise((r) => setTimeout(r, 1100));
  const second = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'])).id;
  await waitArchived(pg, await switchWal(pg));
  // Listings read summaries; with the summary damaged too, the listing reads the manifest, and fails.
  damage('backups', firstBackup, 'manifest.json');
  damage('backups', firstBackup, 'summary.json');
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

test('a damaged manifest behind an intact summary: verify names it, restore --latest passes it over for the one before', async () => {
  const ids = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).backups.map((b: { id: string }) => b.id) as string[];
  const before = ids[ids.length - 1]!;
  await new Promise((r) => setTimeout(r, 1100));
  const newest = JSON.parse(await fsdrOk(['--config', cfg, 'backup', '--json'])).id as string;
  await pg.query("INSERT INTO status (marker) VALUES ('after-newest-backup')");
  await waitArchived(pg, await switchWal(pg));
  damage('backups', newest, 'manifest.json');
  // The summary still lists it: the listing cannot know, verify does.
  const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
  assert.ok(info.backups.some((b: { id: string }) => b.id === newest));
  const v = await runFsdr(['--config', cfg, 'verify', '--backup', newest, '--json']);
  assert.equal(v.code, 1);
  assert.ok(JSON.parse(v.stdout).faults.some((f: { object: string }) => f.object === `backups/${newest}/manifest.json`), v.stdout);
  const want = await expected();
  const r = await restore('passed-over', ['--latest']);
  assert.equal(r.run.code, 0, r.run.stderr);
  assert.match(r.run.stderr, new RegExp(`backup ${newest} is unreadable and was not considered`));
  assert.equal(JSON.parse(r.run.stdout).backup, before);
  assert.deepEqual(await actual(r.port), want, 'the WAL after the earlier backup carries everything');
  await stopRestored(r.pgdata);
  const named = await restore('named-damaged', ['--latest', '--backup', newest]);
  assert.equal(named.run.code, 1);
  assert.match(named.run.stderr, new RegExp(`backups/${newest}/manifest.json`));
  assert.ok(!existsSync(named.pgdata) || readdirSync(named.pgdata).length === 0, 'nothing half-written');
});

test('a manifest that is not the one its summary describes (replaced or rolled back) is refused by restore and named by verify', async () => {
  const second = (JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json'])).backups as Array<{ id: string }>)[0]!.id;
  const repo = await Repository.open(loadConfig(cfg));
  const key = backupSummaryKey(second);
  const original = await repo.objects.getBuffer(key);
  const summary = JSON.parse(original.toString('utf8'));
  // What a summary written for another manifest of this backup looks like: a different digest.
  await repo.storage.delete([key]);
  await repo.objects.put(key, Readable.from([Buffer.from(JSON.stringify({ ...summary, manifestSha256: '0'.repeat(64) }))]));
  try {
    const r = await restore('summary-mismatch', ['--latest', '--backup', second]);
    assert.equal(r.run.code, 1);
    assert.match(r.run.stderr, new RegExp(`backups/${second}/manifest.json: does not match its summary`));
    const v = await runFsdr(['--config', cfg, 'verify', '--backup', second, '--json']);
    assert.equal(v.code, 1);
    assert.ok(JSON.parse(v.stdout).faults.some((f: { object: string }) => f.object === key), v.stdout);
  } finally {
    await repo.storage.delete([key]);
    await repo.objects.put(key, Readable.from([Buffer.from(JSON.stringify(summary))]));
    await repo.close();
  }
  assert.equal((await runFsdr(['--config', cfg, 'verify', '--backup', second])).code, 0);

  // A damaged summary alone is a lost shortcut: listed from the manifest, restorable, named by verify.
  const file = join(ws.repoDir, key);
  const intact = readFileSync(file);
  damage(key);
  try {
    const info = JSON.parse(await fsdrOk(['--config', cfg, 'info', '--json']));
    assert.ok(info.backups.some((b: { id: string }) => b.id === second), 'listed from its manifest');
    const v = await runFsdr(['--config', cfg, 'verify', '--backup', second, '--json']);
    assert.equal(v.code, 1);
    assert.deepEqual(JSON.parse(v.stdout).faults.map((f: { object: string }) => f.object), [key]);
    const want = await expected();
    const r = await restore('summary-damaged', ['--latest', '--backup', second]);
    assert.equal(r.run.code, 0, r.run.stderr);
    assert.deepEqual(await actual(r.port), want);
    await stopRestored(r.pgdata);
  } finally {
    writeFileSync(file, intact);
  }
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
