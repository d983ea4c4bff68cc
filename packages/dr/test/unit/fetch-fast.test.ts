// bin/fsdr-fetch.sh, the restore_command fast path: it hands over only a segment the prefetcher
// left in a directory this user owns and nobody else can write, and runs the full wal-fetch
// (here a recording stand-in) for everything else, with the same %f %p.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../bin/fsdr-fetch.sh', import.meta.url));
const SEG = '000000010000000000000007';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-fetch-'));
  const inDir = join(dir, 'archive-in');
  mkdirSync(inDir, { mode: 0o700 });
  chmodSync(inDir, 0o700);
  // The prefetcher's marker: its files are good for this boot.
  writeFileSync(join(inDir, 'boot'), `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}\n`);
  const log = join(dir, 'fallback.log');
  const fallback = join(dir, 'fallback.sh');
  writeFileSync(fallback, `#!/bin/sh\necho "$1 $2" >> ${log}\nexit 1\n`, { mode: 0o755 });
  return { dir, inDir, log, fallback, dest: join(dir, 'pg_wal_RECOVERYXLOG') };
}
const run = (s: ReturnType<typeof setup>, name: string) => spawnSync(SCRIPT, [s.inDir, name, s.dest, s.fallback], { encoding: 'utf8' });

test('a prefetched segment is moved into place without the fallback', () => {
  const s = setup();
  writeFileSync(join(s.inDir, SEG), 'segment bytes');
  const r = run(s, SEG);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(s.dest, 'utf8'), 'segment bytes');
  assert.equal(existsSync(join(s.inDir, SEG)), false, 'consumed');
  assert.equal(existsSync(s.log), false, 'the fallback did not run');
});

test('a miss, a history file, or a directory others can write runs the full wal-fetch with %f %p', () => {
  const s = setup();
  assert.equal(run(s, SEG).status, 1);
  assert.equal(run(s, '00000002.history').status, 1, 'a history file not spooled');
  writeFileSync(join(s.inDir, SEG), 'planted');
  chmodSync(s.inDir, 0o770);
  assert.equal(run(s, SEG).status, 1, 'a group-writable spool is not trusted');
  assert.equal(existsSync(s.dest), false);
  assert.deepEqual(readFileSync(s.log, 'utf8').trim().split('\n'), [`${SEG} ${s.dest}`, `00000002.history ${s.dest}`, `${SEG} ${s.dest}`]);
});

test('without a fallback a miss is exit 1 (PostgreSQL: not in the archive)', () => {
  const s = setup();
  assert.equal(spawnSync(SCRIPT, [s.inDir, SEG, s.dest]).status, 1);
});

/** The script run in the background, with this test process standing in for the live prefetcher. */
function ask(s: ReturnType<typeof setup>, name: string) {
  writeFileSync(join(s.inDir, 'prefetcher.pid'), `${process.pid}\n`);
  const child = spawn(SCRIPT, ['-w', '60', s.inDir, name, s.dest, s.fallback], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const want = join(s.inDir, `${name}.want.${child.pid}`);
  const asked = async () => {
    while (!existsSync(want)) {
      assert.equal(child.exitCode, null, `exited before asking: ${stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const exit = async () => { const [code] = await once(child, 'exit'); return { code: code as number, stderr }; };
  return { child, want, asked, exit };
}

test('a segment not spooled yet is asked of the live prefetcher and waited for, not fetched by a second process', async () => {
  const s = setup();
  const claim = join(s.inDir, `${SEG}.tmp`);
  writeFileSync(claim, '');
  const a = ask(s, SEG);
  await a.asked();
  assert.equal(a.child.exitCode, null, 'still waiting');
  writeFileSync(claim, 'segment bytes');
  renameSync(claim, join(s.inDir, SEG));
  const r = await a.exit();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(s.dest, 'utf8'), 'segment bytes');
  assert.equal(existsSync(a.want), false, 'the request is withdrawn');
  assert.equal(existsSync(s.log), false, 'the fallback did not run');
});

test('the prefetcher answers "absent" (exit 1, no Node), "fallback" (the full wal-fetch), or a history file', async () => {
  const s = setup();
  let a = ask(s, SEG);
  await a.asked();
  writeFileSync(join(s.inDir, `${SEG}.absent.${a.child.pid}`), '');
  let r = await a.exit();
  assert.equal(r.code, 1, r.stderr);
  assert.equal(existsSync(s.log), false, 'absent: no fallback');
  assert.deepEqual(readdirSync(s.inDir).filter((n) => n.includes('.want.') || n.includes('.absent.')), [], 'request and answer removed');
  a = ask(s, SEG);
  await a.asked();
  writeFileSync(join(s.inDir, `${SEG}.fallback.${a.child.pid}`), '');
  r = await a.exit();
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(readFileSync(s.log, 'utf8').trim().split('\n'), [`${SEG} ${s.dest}`], 'fallback: the full wal-fetch ran');
  a = ask(s, '00000002.history');
  await a.asked();
  writeFileSync(join(s.inDir, '00000002.history'), '1\t0/3000000\tno recovery target specified\n');
  r = await a.exit();
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(s.dest, 'utf8'), /no recovery target/);
});

test('a prefetcher killed while a call waits for it: the call falls back to the full wal-fetch', async () => {
  const s = setup();
  const stand = spawn('sleep', ['60']);
  const child = spawn(SCRIPT, ['-w', '60', s.inDir, SEG, s.dest, s.fallback], { stdio: 'ignore' });
  writeFileSync(join(s.inDir, 'prefetcher.pid'), `${stand.pid}\n`);
  // (Written after the spawn: the call may see no prefetcher at all, and fall back at once.)
  while (!existsSync(join(s.inDir, `${SEG}.want.${child.pid}`)) && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
  stand.kill('SIGKILL');
  // The call may have ended during the wait above: its 'exit' was emitted then, not again.
  const code = child.exitCode ?? ((await once(child, 'exit')) as [number])[0];
  assert.equal(code, 1);
  assert.deepEqual(readFileSync(s.log, 'utf8').trim().split('\n'), [`${SEG} ${s.dest}`]);
  assert.deepEqual(readdirSync(s.inDir).filter((n) => n.includes('.want.')), [], 'its request withdrawn');
});

test('a claim whose prefetcher is dead, a claim given up, or no -w: the full wal-fetch runs', async () => {
  const s = setup();
  writeFileSync(join(s.inDir, `${SEG}.tmp`), '');
  const dead = spawn('true');
  await once(dead, 'exit');
  writeFileSync(join(s.inDir, 'prefetcher.pid'), `${dead.pid}\n`);
  assert.equal(spawnSync(SCRIPT, ['-w', '60', s.inDir, SEG, s.dest, s.fallback]).status, 1, 'killed prefetcher (kill -9 leaves its claim and pid file)');
  writeFileSync(join(s.inDir, 'prefetcher.pid'), `${process.pid}\n`);
  assert.equal(run(s, SEG).status, 1, 'without -w nothing is waited for');
  writeFileSync(join(s.inDir, 'prefetcher.pid'), 'garbage');
  assert.equal(spawnSync(SCRIPT, ['-w', '60', s.inDir, SEG, s.dest, s.fallback]).status, 1, 'an unreadable pid file');
  assert.equal(readFileSync(s.log, 'utf8').trim().split('\n').length, 3);
});

test('-w takes whole seconds only', () => {
  const s = setup();
  for (const bad of ['', '1.5', '-3', 'x']) {
    const r = spawnSync(SCRIPT, ['-w', bad, s.inDir, SEG, s.dest, s.fallback], { encoding: 'utf8' });
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /-w needs a number of seconds/);
  }
  assert.equal(existsSync(s.log), false);
});

test('a spool marked for another boot (files written without fsync before a power cut) or unmarked is never read', () => {
  const s = setup();
  writeFileSync(join(s.inDir, SEG), 'maybe zeros after the crash');
  writeFileSync(join(s.inDir, 'boot'), '00000000-0000-0000-0000-000000000000\n');
  assert.equal(run(s, SEG).status, 1, 'another boot');
  writeFileSync(join(s.inDir, 'boot'), '\n');
  assert.equal(run(s, SEG).status, 1, 'an empty marker');
  rmSync(join(s.inDir, 'boot'));
  assert.equal(run(s, SEG).status, 1, 'no marker');
  assert.equal(readFileSync(join(s.inDir, SEG), 'utf8'), 'maybe zeros after the crash', 'left alone');
  writeFileSync(join(s.inDir, 'boot'), 'durable\n');
  assert.equal(run(s, SEG).status, 0, 'fsynced files (no boot id on this system) are good in any boot');
  assert.equal(readFileSync(s.log, 'utf8').trim().split('\n').length, 3);
});
