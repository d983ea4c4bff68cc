// OpenAhead: a bundle's files are opened a few ahead of the one being written, every handle is
// closed by finish() or abort(), and nothing is left opening when abort() returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAhead } from '../../src/commands/restore/open-ahead.js';

const openFds = () => readdirSync('/proc/self/fd').length;

test('taking a file opens the next ones (created, with their mode) before they are taken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-open-ahead-'));
  try {
    const files = Array.from({ length: 20 }, (_, i) => ({ path: join(dir, `f${i}`), mode: 0o600 }));
    const o = new OpenAhead(files);
    const before = openFds();
    const first = await o.take(0);
    await first.write(Buffer.from('zero'), 0, 4, 0);
    o.release(first);
    // The next 8 were asked for with the first; give the thread pool a moment to create them.
    for (let t = 0; t < 100 && !existsSync(files[8]!.path); t++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(existsSync(files[8]!.path), 'file 8 opened ahead');
    assert.equal(existsSync(files[9]!.path), false, 'no further than 8 ahead');
    assert.equal(statSync(files[1]!.path).mode & 0o777, 0o600);
    for (let i = 1; i < files.length; i++) o.release(await o.take(i));
    await o.finish();
    assert.equal(openFds(), before, 'every handle closed');
    assert.equal(readFileSync(files[0]!.path, 'utf8'), 'zero');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('abort() closes what was opened ahead and waits for opens still running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-open-ahead-'));
  try {
    const files = Array.from({ length: 20 }, (_, i) => ({ path: join(dir, `f${i}`), mode: 0o600 }));
    // One that cannot be opened: its failure is the caller's when taken, and abort() survives it.
    files[3] = { path: join(dir, 'missing-dir', 'f3'), mode: 0o600 };
    const before = openFds();
    const o = new OpenAhead(files);
    o.release(await o.take(0));
    await assert.rejects(o.take(3), /ENOENT/);
    await o.abort();
    assert.equal(openFds(), before, 'nothing left open');
    // take(3) asked for files 4..11: abort() waited for those opens (and closed them).
    assert.ok(existsSync(files[11]!.path), 'the opens ahead had finished');
    assert.equal(existsSync(files[12]!.path), false, 'nothing opened beyond 8 ahead');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
