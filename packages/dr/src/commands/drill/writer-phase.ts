// The drills' writer phase (drill.writer): commit to the source for drill.writer.seconds, then
// stop — the simulated moment of the disaster, right before the restore starts. The restore then
// gets whatever the archive holds, as a real recovery at that moment would. Off, or without a
// cluster to write to, the reason goes into the evidence instead of a number.
import type pg from 'pg';
import type { Config } from '../../config/load.js';
import { describeError } from '../../errors.js';
import { measureRpo, startCommitWriter, type RunningWriter, type WriterLog } from '../../drills/commit-writer.js';
import type { StepOutcome } from '../../drills/steps.js';
import { databaseOf } from '../recover/recovered-stack.js';

export interface WriterPhase {
  log?: WriterLog;
  /** why RPO cannot be measured by this drill */
  unavailable?: string;
  /** the RPO step over a restored copy (connection to its FeatureSignals database) */
  measure(copy: pg.ClientConfig): Promise<StepOutcome & { rpoSeconds?: number; rpoAtLeastSeconds?: number }>;
  /** removes the writer's rows and schema from the source (best effort, said in the evidence) */
  drop(): Promise<string | undefined>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runWriterPhase(cfg: Config): Promise<WriterPhase> {
  const w = cfg.drill.writer;
  const none = (unavailable: string): WriterPhase => ({
    unavailable, measure: async () => ({ ok: true, detail: { skipped: unavailable } }), drop: async () => undefined,
  });
  if (!w.enabled) return none('not measured: drill.writer.enabled is off (the drill writes its commit log to the source only when allowed)');
  if (!cfg.cluster) return none('not measured: no cluster.connection for the drill writer to commit to');
  const url = new URL(cfg.cluster.connection);
  url.pathname = '/' + encodeURIComponent(databaseOf(cfg));
  let writer: RunningWriter;
  try {
    writer = await startCommitWriter({ connectionString: url.toString() }, { intervalMs: w.intervalMs, anchorTimeoutMs: w.anchorTimeoutSeconds * 1000 });
  } catch (err) {
    return none(`not measured: the drill writer could not start on the source: ${describeError(err)}`);
  }
  await sleep(w.seconds * 1000);
  const log = await writer.stop();
  return {
    log,
    async measure(copy) {
      const out = await measureRpo(copy, log);
      return { ...out, rpoSeconds: out.measurement?.rpoSeconds, rpoAtLeastSeconds: out.measurement?.atLeastSeconds };
    },
    async drop() {
      try {
        await writer.drop();
        return undefined;
      } catch (err) {
        return `the drill writer's schema fsdr_drill could not be removed from the source: ${describeError(err)}`;
      }
    },
  };
}
