// AgentMetrics' operation series (scheduled jobs, labelled `operation`): the newest failure and the newest success, each with its own time, so an
// alert can tell "the last run failed" (and a retry that succeeds clears it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics } from '../../src/agent/metrics.js';

async function value(m: AgentMetrics, name: string, job: string): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return metric?.values.find((v) => v.labels.operation === job)?.value;
}

test('a failed run sets the last failure time of its job only; a later success is newer', async () => {
  const m = new AgentMetrics();
  const before = Date.now() / 1000;
  m.operationFinished('backup', false);
  const failedAt = await value(m, 'fsdr_operation_last_failure_timestamp_seconds', 'backup');
  assert.ok(failedAt !== undefined && failedAt >= before, 'failure time set');
  assert.equal(await value(m, 'fsdr_operation_last_success_timestamp_seconds', 'backup'), undefined, 'no success yet');
  assert.equal(await value(m, 'fsdr_operation_last_failure_timestamp_seconds', 'dump'), undefined, 'other jobs untouched');
  await new Promise((r) => setTimeout(r, 5));
  m.operationFinished('backup', true);
  const okAt = await value(m, 'fsdr_operation_last_success_timestamp_seconds', 'backup');
  assert.ok(okAt! > failedAt!, 'the retry that succeeded is newer than the failure');
  assert.equal(await value(m, 'fsdr_operation_last_failure_timestamp_seconds', 'backup'), failedAt, 'a success leaves the failure time');
  const runs = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'fsdr_operation_runs_total')!;
  assert.deepEqual(runs.values.map((v) => [v.labels.outcome, v.value]).sort(), [['failure', 1], ['success', 1]]);
});
