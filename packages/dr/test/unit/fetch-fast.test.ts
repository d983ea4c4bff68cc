// bin/fsdr-fetch.sh, the restore_command fast path: it hands over only a segment the prefetcher
// left in a directory this user owns and nobody else can write, and runs the full wal-fetch
// (here a recording stand-in) for everything else, with the same %f %p.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
  writeFileSync(join(s.inDir, '00000002.history'), 'x');
  assert.equal(run(s, '00000002.history').status, 1, 'history files always come from the repository');
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
