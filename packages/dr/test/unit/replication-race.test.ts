// Replication racing retention: an object listed on the primary and expired before it is read is
// skipped (counted as vanished), never a failed run; everything else is still copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { replicate } from '../../src/replication/replicator.js';
import { FsStorage } from '../../src/storage/fs/fs-storage.js';
import type { Storage } from '../../src/storage/storage.js';

test('an object expired between listing and copying is skipped, the rest copied', async () => {
  const primary = new FsStorage(mkdtempSync(join(tmpdir(), 'fsdr-prim-')));
  const replica = new FsStorage(mkdtempSync(join(tmpdir(), 'fsdr-repl-')));
  for (const k of ['repo.json', 'wal/0000000100000000/000000010000000000000001', 'wal/0000000100000000/000000010000000000000002']) {
    await primary.put(k, Readable.from([Buffer.from(k)]), { ifAbsent: true });
  }
  const doomed = 'wal/0000000100000000/000000010000000000000001';
  // Retention (another agent's expire) deletes the segment right after replication listed it.
  const racing: Storage = Object.assign(Object.create(primary) as Storage, {
    get: async (key: string) => {
      if (key === doomed) await primary.delete([doomed]);
      return primary.get(key);
    },
  });
  const r = await replicate(racing, replica, 'standby');
  assert.equal(r.vanished, 1);
  assert.equal(r.copied, 2);
  assert.equal(await replica.head(doomed), undefined);
  assert.ok(await replica.head('wal/0000000100000000/000000010000000000000002'));
});
