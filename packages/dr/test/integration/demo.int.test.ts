// `fsdr demo`, the README's first command, runs to the end: the restore brings back exactly the
// flags committed before the disaster, and the measured RPO/RTO are reported beside the plan's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fsdrOk } from '../helpers/fsdr.js';

test('fsdr demo runs to the end, restores the data exactly and cleans up after itself', async () => {
  const report = JSON.parse(await fsdrOk(['demo', '--json']));
  assert.equal(report.rows.before, 200);
  assert.equal(report.rows.afterDisaster, 0, 'the disaster really deleted the flags');
  assert.equal(report.rows.restored, 200);
  assert.equal(report.checksumMatches, true);
  // The last good write's clock_timestamp() and its commit time differ by microseconds, so the
  // replayed commit is at or just after it (the exact content is proven by the checksum above).
  const lag = Date.parse(report.recoveredTo) - Date.parse(report.lastGoodWriteAt);
  assert.ok(lag >= 0 && lag < 1000, `recovered to the last good commit: ${report.recoveredTo} vs ${report.lastGoodWriteAt}`);
  assert.equal(report.rpoSeconds, 0);
  assert.ok(report.rtoSeconds > 0 && report.rtoSeconds < report.objectives.rtoSeconds);
  assert.equal(existsSync(report.dir), false, 'the scratch directory is removed');
});
