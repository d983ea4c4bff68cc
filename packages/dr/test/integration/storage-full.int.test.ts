// A repository directory on a full filesystem (a real 1 MiB tmpfs): the write fails in one line
// that says the disk is full and what to do, and leaves no temp file behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { FsStorage } from '../../src/storage/fs/fs-storage.js';

const asRoot = process.getuid?.() === 0;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fsdr-full-'));
  if (asRoot) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
});

after(() => {
  if (asRoot) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

test('ENOSPC: a one-line error with the hint, nothing half-written left', { skip: !asRoot && 'mounting a tmpfs needs root' }, async () => {
  const storage = new FsStorage(dir);
  await storage.put('small', Readable.from([randomBytes(1000)]), { ifAbsent: true });
  await assert.rejects(storage.put('wal/0000000100000000/000000010000000000000001', Readable.from([randomBytes(2 << 20)]), { ifAbsent: true }), (e: Error & { code?: string; hint?: string }) =>
    e.code === 'FSDR_STORAGE_ERROR' && /ENOSPC/.test(e.message) && /filesystem is full/.test(e.hint ?? ''));
  const left: string[] = [];
  for await (const l of storage.leftovers()) left.push(l.key);
  assert.deepEqual(left, []);
  assert.deepEqual(readdirSync(join(dir, 'wal', '0000000100000000')), []);
  assert.deepEqual((await storage.head('small'))?.size, 1000);
});
