// Evidence is written best effort: an operation's outcome matters more than its record, so a
// record that cannot be written is said in the report (checks.evidenceError), never thrown.
import type { Config } from '../../config/load.js';
import { describeError } from '../../errors.js';
import type { DrillEvidence } from '../../repository/drill-catalog.js';
import { Repository } from '../../repository/repository.js';

export async function keepEvidence(cfg: Config, report: DrillEvidence): Promise<void> {
  let repo: Repository | undefined;
  try {
    repo = await Repository.open(cfg);
    await repo.drills.write(report);
  } catch (err) {
    report.checks.evidenceError = describeError(err);
  } finally {
    await repo?.close();
  }
}
