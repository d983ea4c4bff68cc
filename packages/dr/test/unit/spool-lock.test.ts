// The spool lock is a listening unix socket: held while its process lives, free the moment it
// dies (kill -9 included), whatever pid file or reused pid is lying around, and exclusive when
// several contenders find a dead holder's socket at once.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockHeld, lockSocketPath, SpoolLock } from '../../src/commands/wal-push/spool-lock.js';

const MODULE = fileURLToPath(new URL('../../src/commands/wal-push/spool-lock.js', import.meta.url));

/** A child process that takes the lock and keeps it until killed. */
async function holder(spool: string) {
  const code = `import { SpoolLock } from ${JSON.stringify(MODULE)};
    const l = await SpoolLock.acquire(${JSON.stringify(spool)}, 'archive-push');
    console.log(l ? 'held' : 'busy'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, state: line.toString().trim() };
}

async function kill9(child: ReturnType<typeof spawn>): Promise<void> {
  child.kill('SIGKILL');
  await once(child, 'exit');
}

const dirs: string[] = [];
function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fsdr-lock-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('held by one holder at a time; free again once released', async () => {
  const spool = spoolDir();
  const a = await SpoolLock.acquire(spool, 'archive-push');
  assert.ok(a);
  assert.equal(await SpoolLock.acquire(spool, 'archive-push'), undefined);
  assert.equal(await lockHeld(spool, 'archive-push'), true);
  assert.equal(await lockHeld(spool, 'archive-get'), false, 'the two locks are separate');
  await a.release();
  assert.equal(existsSync(lockSocketPath(spool, 'archive-push')), false, 'release removes the socket');
  assert.equal(await lockHeld(spool, 'archive-push'), false);
  const b = await SpoolLock.acquire(spool, 'archive-push');
  assert.ok(b);
  await b.release();
});

test('kill -9 of the holder frees the lock, whatever pid file is left (pid 1, our own pid)', async () => {
  for (const stalePid of [1, process.pid]) {
    const spool = spoolDir();
    const h = await holder(spool);
    assert.equal(h.state, 'held');
    assert.equal(await lockHeld(spool, 'archive-push'), true);
    assert.equal(await SpoolLock.acquire(spool, 'archive-push'), undefined, 'a live holder keeps it');
    await kill9(h.child);
    assert.ok(existsSync(lockSocketPath(spool, 'archive-push')), 'a crash leaves the socket file');
    // What an old version's crash leaves after a reboot: a pid now used by a live process.
    writeFileSync(join(spool, 'archive-push.lock'), String(stalePid));
    assert.equal(await lockHeld(spool, 'archive-push'), false);
    const l = await SpoolLock.acquire(spool, 'archive-push');
    assert.ok(l, `taken over (stale pid ${stalePid})`);
    assert.equal(existsSync(join(spool, 'archive-push.lock')), false, 'the old pid file is removed');
    await l.release();
  }
});

test('contenders racing for a dead holder\'s socket: exactly one wins', async () => {
  const spool = spoolDir();
  for (let round = 0; round < 5; round++) {
    const h = await holder(spool);
    await kill9(h.child);
    const got = await Promise.all(Array.from({ length: 6 }, () => SpoolLock.acquire(spool, 'archive-push')));
    const winners = got.filter((l) => l !== undefined);
    assert.equal(winners.length, 1, `round ${round}: ${winners.length} holders`);
    const other = await holder(spool);
    assert.equal(other.state, 'busy', 'another process sees the winner');
    await kill9(other.child);
    await winners[0]!.release();
  }
});

test('a spool path too long for a socket address still locks (through /proc/self/fd)', async () => {
  const spool = join(spoolDir(), 'x'.repeat(60), 'y'.repeat(60));
  mkdirSync(spool, { recursive: true });
  assert.ok(lockSocketPath(spool, 'archive-push').length > 108);
  const h = await holder(spool);
  assert.equal(h.state, 'held');
  assert.ok(existsSync(lockSocketPath(spool, 'archive-push')), 'the socket is in the spool, not truncated elsewhere');
  assert.equal(await lockHeld(spool, 'archive-push'), true);
  await kill9(h.child);
  const l = await SpoolLock.acquire(spool, 'archive-push');
  assert.ok(l);
  await l.release();
  assert.equal(existsSync(lockSocketPath(spool, 'archive-push')), false);
});
