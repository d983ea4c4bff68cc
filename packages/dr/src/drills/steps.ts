// A drill is a sequence of timed steps. Every step is recorded, passed or failed, and the first
// failure becomes the drill's failure (naming the step and, where known, the object or table), so
// the evidence says exactly where a drill broke. A step that throws is a failed step, not a crash:
// the evidence must still be written.
import { describeError, IntegrityError } from '../errors.js';
import type { DrillEvidence, DrillStep } from '../repository/drill-catalog.js';

export interface StepOutcome {
  ok: boolean;
  detail: unknown;
  /** what failed: the object, table or relation, and why */
  failure?: { object?: string; message: string };
}

export class DrillSteps {
  readonly steps: DrillStep[] = [];
  failure?: NonNullable<DrillEvidence['failure']>;

  async run(name: string, fn: () => Promise<StepOutcome>): Promise<boolean> {
    const t0 = performance.now();
    let out: StepOutcome;
    try {
      out = await fn();
    } catch (err) {
      const object = err instanceof IntegrityError ? err.key : undefined;
      out = { ok: false, detail: { error: describeError(err) }, failure: { object, message: describeError(err) } };
    }
    this.steps.push({ name, ok: out.ok, seconds: round((performance.now() - t0) / 1000), detail: out.detail });
    if (!out.ok && !this.failure) {
      this.failure = { step: name, ...(out.failure ?? { message: `step ${name} failed` }) };
    }
    return out.ok;
  }

  /** A step that could not run because an earlier one failed: recorded as not passed. */
  skip(name: string, because: string): void {
    this.steps.push({ name, ok: false, seconds: 0, detail: { skipped: because } });
  }
}

export const round = (s: number): number => Math.round(s * 1000) / 1000;
