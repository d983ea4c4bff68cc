// DirectWriter: the bytes land exactly where the ordinary writes would put them, through O_DIRECT
// where the filesystem has it, the ordinary way where it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_ALIGN, DirectWriter, directBytesWritten } from '../../src/util/direct-write.js';

/** Whether `dir`'s filesystem takes O_DIRECT opens (tmpfs does not). */
function directSupported(dir: string): boolean {
  const p = join(dir, 'probe');
  try {
    closeSync(openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(p, { force: true });
  }
}

/** Writes `data` as a piece at `position` of `path`, handed over in uneven chunks. */
function writePiece(path: string, position: number, data: Buffer): boolean {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    const w = DirectWriter.open(path, position, fd);
    if (!w) {
      writeSync(fd, data, 0, data.length, position);
      return false;
    }
    const steps = [777, 65536, 3, 300_000, 1 << 20];
    for (let at = 0, k = 0; at < data.length; k++) {
      const n = Math.min(steps[k % steps.length]!, data.length - at);
      w.write(data.subarray(at, at + n));
      at += n;
    }
    w.finish();
    return true;
  } finally {
    closeSync(fd);
  }
}

test('pieces of every size and aligned offset are written byte for byte, beside ordinary writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-direct-'));
  try {
    const supported = directSupported(dir);
    const before = directBytesWritten();
    for (const size of [1 << 20, (3 << 20) + 4095, (2 << 20) + 1, 5 * DIRECT_ALIGN, 10]) {
      const path = join(dir, `f-${size}`);
      // A file another writer is filling too: an unaligned head written the ordinary way, then the piece.
      const head = randomBytes(3 * DIRECT_ALIGN);
      const piece = randomBytes(size);
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
      writeSync(fd, head, 0, head.length, 0);
      closeSync(fd);
      assert.equal(writePiece(path, head.length, piece), supported);
      assert.ok(readFileSync(path).equals(Buffer.concat([head, piece])), `file of a ${size}-byte piece`);
    }
    if (supported) assert.ok(directBytesWritten() - before > 6 << 20, 'the aligned bytes went out direct');
    // An unaligned position is never taken direct.
    assert.equal(DirectWriter.open(join(dir, 'f-10'), 100, 0), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
