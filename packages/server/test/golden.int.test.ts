// The golden evaluation set: recording twice gives identical records, a later run through the
// server and the SDK matches, and a 1-basis-point rollout change is caught (library and CLI).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bucketUser } from '@featuresignals/sdk';
import { compareGolden, recordFromServer, verifyAgainst, type GoldenRecord } from '../src/index.js';
import { seed, startStack, waitSynced, type Seeded, type Stack } from './stack.js';

let s: Stack;
let seeded: Seeded;
const dir = mkdtempSync(join(tmpdir(), 'fs-golden-'));
const cli = fileURLToPath(new URL('../src/golden/cli.js', import.meta.url));
before(async () => { s = await startStack(); seeded = await seed(s); await waitSynced(s, 'prod', seeded.keys.prod); await waitSynced(s, 'staging', seeded.keys.staging); });
after(async () => { await s?.stop(); rmSync(dir, { recursive: true, force: true }); });

const target = () => ({ url: s.url, keys: seeded.keys, contextCount: 100 });
const stripTime = (r: GoldenRecord) => ({ ...r, asOf: '' });
// Async on purpose: the server under test runs in this process, so a blocking spawn would starve it.
const fsGolden = (...args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(process.execPath, [cli, ...args, '--url', s.url, '--key', `prod=${seeded.keys.prod}`, '--key', `staging=${seeded.keys.staging}`, '--contexts', '100'],
    (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
});

test('recording twice gives identical records, and a verify run through server and SDK matches', async () => {
  const a = await recordFromServer(target());
  const b = await recordFromServer(target());
  assert.deepEqual(stripTime(a), stripTime(b));
  assert.ok(a.lines.length > 2 * 100 * 11, `lines ${a.lines.length}`);
  assert.ok(a.lines.some((l) => l.includes('\tNOT_FOUND\t')));
  // Boundary contexts exist for the 25 % default rollout of new-checkout in prod.
  const boundary = a.contexts.filter((c) => c.label.startsWith('golden-b-new-checkout-2500-'));
  assert.deepEqual(boundary.map((c) => bucketUser('new-checkout', c.key)).sort(), [2499, 2499, 2500, 2500]);
  const v = await verifyAgainst(a, target());
  assert.equal(v.server.equal, true, JSON.stringify(v.server.differences.slice(0, 3)));
  assert.equal(v.sdk.equal, true, JSON.stringify(v.sdk.differences.slice(0, 3)));
});

test('a 1-basis-point rollout change is caught by library and CLI, naming env, flag and context', async () => {
  const file = join(dir, 'golden.json');
  const rec = await fsGolden('record', '--out', file);
  assert.equal(rec.status, 0, rec.stderr);
  const golden = JSON.parse(readFileSync(file, 'utf8')) as GoldenRecord;
  assert.equal((await fsGolden('compare', '--golden', file)).status, 0);

  const r = await s.admin('PUT', `/v1/projects/${seeded.projectId}/flags/new-checkout/environments/${seeded.envs.prod}`, { percentage_rollout: 2501 });
  assert.equal(r.status, 200);
  await waitSynced(s, 'prod', seeded.keys.prod);

  const v = await verifyAgainst(golden, target());
  for (const c of [v.server, v.sdk]) {
    assert.equal(c.equal, false);
    assert.notEqual(c.actualFingerprint, c.expectedFingerprint);
    assert.deepEqual(c.rulesetChanges, ['prod']);
    assert.ok(c.differences.length >= 1);
    assert.ok(c.differences.every((d) => d.env === 'prod' && (d.flag === 'new-checkout' || d.flag === 'child')), JSON.stringify(c.differences));
    const hit = c.differences.find((d) => d.flag === 'new-checkout')!;
    assert.equal(bucketUser('new-checkout', golden.contexts.find((x) => x.label === hit.context)!.key), 2500);
    assert.match(hit.expected!, /^false\tFALLTHROUGH/);
    assert.match(hit.actual!, /^true\tROLLOUT/);
  }
  const out = await fsGolden('compare', '--golden', file);
  assert.equal(out.status, 1);
  assert.match(out.stdout, /server: DIFFERENT/);
  assert.match(out.stdout, /prod new-checkout golden-b-new-checkout-2500-\d+\|bare: expected false\tFALLTHROUGH/);
  // Self-comparison stays equal (the comparison itself is not noisy).
  assert.equal(compareGolden(golden, golden).equal, true);
});
