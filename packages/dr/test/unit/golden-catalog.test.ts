// Golden captures in the repository: keys under drills/golden/ that drill evidence never claims,
// ids that sort by time, written once, and the newest capture at or before a time (what recover
// compares a restore to T against) found from the listing and at most a couple of reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goldenCaptureKey, parseDrillEvidenceKey, parseGoldenCaptureKey } from '../../src/repository/layout.js';
import { GoldenCatalog, goldenTimeOf, newGoldenId, type GoldenCapture } from '../../src/repository/golden-catalog.js';
import { ObjectStore } from '../../src/repository/object-store.js';
import { ObjectCodec } from '../../src/codec/object-codec.js';
import { FsStorage } from '../../src/storage/fs/fs-storage.js';

test('golden keys: drills/golden/<id>.json, never mistaken for drill evidence', () => {
  const id = newGoldenId(new Date('2026-12-02T16:00:07.900Z'));
  assert.match(id, /^20261202T160007Z-[0-9a-f]{6}$/);
  assert.equal(goldenTimeOf(id)!.toISOString(), '2026-12-02T16:00:07.000Z');
  assert.equal(goldenCaptureKey(id), `drills/golden/${id}.json`);
  assert.equal(parseGoldenCaptureKey(goldenCaptureKey(id)), id);
  assert.equal(parseDrillEvidenceKey(goldenCaptureKey(id)), undefined);
  assert.equal(parseGoldenCaptureKey(`drills/${id}.json`), undefined);
  assert.equal(parseGoldenCaptureKey(`drills/golden/x/${id}.json`), undefined);
  assert.equal(goldenTimeOf('not-an-id'), undefined);
});

function capture(at: string): GoldenCapture {
  const record = { format: 1, asOf: at, hash: { algo: 'murmur3_x86_32', key: 'flagKey.key', seed: 0, buckets: 10000 }, envs: {}, contexts: [], fingerprint: 'f', envDigests: {}, flagDigests: {}, lines: [] } as GoldenCapture['record'];
  return { format: 1, id: newGoldenId(new Date(at)), capturedAt: at, server: 'http://fs', envs: {}, fingerprint: 'f', record };
}

test('the catalog lists oldest first, refuses a second write, and finds the newest capture at or before a time', async () => {
  const storage = new FsStorage(mkdtempSync(join(tmpdir(), 'fsdr-golden-')));
  const cat = new GoldenCatalog(new ObjectStore(storage, new ObjectCodec(randomBytes(32), { algorithm: 'zstd', level: 3 })));
  const [a, b, c] = [capture('2026-12-02T10:00:00.000Z'), capture('2026-12-02T11:00:00.500Z'), capture('2026-12-02T12:00:00.000Z')];
  for (const x of [c, a, b]) await cat.write(x);
  assert.deepEqual(await cat.ids(), [a.id, b.id, c.id]);
  assert.deepEqual(await cat.read(b.id), b);
  await assert.rejects(cat.write(b), 'written once');
  const at = async (t: string) => (await cat.newestAtOrBefore(new Date(t)))?.id;
  assert.equal(await at('2026-12-02T09:59:59Z'), undefined);
  assert.equal(await at('2026-12-02T10:00:00Z'), a.id, 'at the capture time itself');
  assert.equal(await at('2026-12-02T11:00:00.400Z'), a.id, 'b\'s id says 11:00:00 but it was taken at .500');
  assert.equal(await at('2026-12-02T11:00:00.500Z'), b.id);
  assert.equal(await at('2026-12-02T11:59:59Z'), b.id);
  assert.equal(await at('2027-01-01T00:00:00Z'), c.id);
});
