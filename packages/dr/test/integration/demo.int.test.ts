// `fsdr demo`, the README's first command, runs to the end with the real parts: the FeatureSignals
// server with Redis, the SDK streaming, a golden capture, the disaster, `fsdr recover` (/ready,
// golden evaluations, integration checks) and the connection-file switch, with measured RPO/RTO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fsdrOk } from '../helpers/fsdr.js';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const listening = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

test('fsdr demo recovers FeatureSignals: golden matches but for the audited changes, the SDK sees exactly what it saw before the disaster, traffic is switched, nothing is left running', async () => {
  const report = JSON.parse(await fsdrOk(['demo', '--json']));
  assert.equal(report.redis, true, 'redis-server is installed by scripts/setup.sh');
  assert.deepEqual(report.recover.steps.map((s: { name: string; ok: boolean }) => `${s.name}:${s.ok}`),
    ['restore:true', 'start-server:true', 'ready:true', 'golden:true', 'integration:true', 'switch:true']);
  // The five audited changes after the capture are named; nothing else differed.
  assert.deepEqual(report.recover.changedAfterCapture, ['prod/flag-01', 'prod/flag-06', 'prod/flag-11', 'prod/flag-16', 'prod/flag-21']);
  // The disaster really happened to the application, and the recovery undid it exactly.
  assert.equal(report.sdk.evaluations, 24 * 50);
  assert.equal(report.sdk.missingAfterDisaster, report.sdk.evaluations);
  assert.equal(report.sdk.identicalAfterRecovery, true, report.sdk.differences.join(', '));
  // Recovered to a point between the last good write and the disaster.
  assert.ok(Date.parse(report.recover.recoveredTo) >= Date.parse(report.lastGoodWriteAt) - 1000, `${report.recover.recoveredTo} vs ${report.lastGoodWriteAt}`);
  assert.ok(Date.parse(report.recover.recoveredTo) < Date.parse(report.disasterAt));
  // The connection file now names the recovered instance.
  assert.match(report.connectionFile.before, /^DATABASE_URL=postgres:\/\/postgres@127\.0\.0\.1:\d+\/featuresignals\n$/);
  assert.equal(report.connectionFile.after, `DATABASE_URL=postgres://postgres@127.0.0.1:${report.recover.port}/featuresignals\n`);
  assert.notEqual(report.connectionFile.after, report.connectionFile.before);
  assert.equal(report.lostWrites, 0);
  assert.equal(report.rpoSeconds, 0);
  assert.ok(report.rtoSeconds > 0);
  assert.equal(report.objectives.rto.met, true);
  assert.equal(report.objectives.rpo.met, true);
  assert.equal(existsSync(report.dir), false, 'the scratch directory is removed');
  assert.equal(alive(report.recover.serverPid), false, 'the recovered server is stopped');
  assert.equal(await listening(report.recover.port), false, 'the recovered PostgreSQL is stopped');
});
