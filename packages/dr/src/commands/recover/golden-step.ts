// recover's golden step: the newest capture at or before the comparison time, re-evaluated
// through the recovered server and the SDK, judged against the restored database's audit log.
import { verifyAgainst, type GoldenRecord } from '@featuresignals/server';
import type pg from 'pg';
import type { Repository } from '../../repository/repository.js';
import { readAuditChanges } from '../../stack/audit-changes.js';
import { judgeGolden } from '../../stack/golden-judge.js';

export interface GoldenStep {
  ok: boolean;
  detail: Record<string, unknown>;
  failure?: { message: string };
  /** the capture's record, for the integration checks (its environments and flags) */
  record?: GoldenRecord;
}

export async function goldenCheck(repo: Repository, keys: Record<string, string>, serverUrl: string, db: pg.ClientConfig, at: Date): Promise<GoldenStep> {
  const capture = await repo.golden.newestAtOrBefore(at);
  if (!capture) return { ok: false, detail: { at: at.toISOString() }, failure: { message: `no golden capture at or before ${at.toISOString()} in repository ${repo.name} (fsdr golden capture takes one)` } };
  const missing = Object.keys(capture.record.envs).filter((env) => !keys[env]);
  if (missing.length) return { ok: false, detail: { capture: capture.id }, failure: { message: `golden capture ${capture.id} covers environment(s) ${missing.join(', ')} with no key in stack.keys` } };
  const envKeys = Object.fromEntries(Object.keys(capture.record.envs).map((env) => [env, keys[env]!]));
  const v = await verifyAgainst(capture.record, { url: serverUrl, keys: envKeys });
  const audit = await readAuditChanges(db, new Date(capture.capturedAt));
  const j = judgeGolden(v, audit.changes, audit.links);
  const detail = { capture: { id: capture.id, capturedAt: capture.capturedAt, lsn: capture.cluster?.lsn }, at: at.toISOString(), ...j };
  if (j.ok) return { ok: true, detail, record: capture.record };
  const f = j.unexplained[0];
  const message = f
    ? `${j.unexplained.length} flag(s) evaluate differently from golden capture ${capture.id} with no audit entry after it; first: ${f.env}/${f.flag} (${f.evaluations} evaluations; context ${f.first.context} expected ${f.first.expected} got ${f.first.actual} via ${f.first.via})`
    : `the ruleset of ${j.unexplainedRulesets.join(', ')} differs from golden capture ${capture.id} with no audited flag change after it`;
  return { ok: false, detail, failure: { message } };
}
