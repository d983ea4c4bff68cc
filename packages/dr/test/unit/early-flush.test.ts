import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EarlyFlush } from '../../src/util/early-flush.js';

test('EarlyFlush: background flushes while writing, and a final flush that must succeed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-flush-'));
  try {
    writeFileSync(join(dir, 'f'), Buffer.alloc(1 << 20));
    const f = new EarlyFlush([dir], 1 << 20);
    f.add(1 << 20); // starts one
    f.add(1 << 20); // one at a time: none started beside it
    await f.finish();
    // A directory that is gone: restore must not say "restored".
    const gone = new EarlyFlush([join(dir, 'missing')]);
    await assert.rejects(gone.finish(), (e: Error & { code?: string }) => e.code === 'FSDR_SYNC_FAILED' && e.message.includes('missing'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
