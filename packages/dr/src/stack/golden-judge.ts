// Judges a golden verification (through the server and through the SDK) against the audit log:
// a differing flag with an audit entry after the capture changed legitimately ("changed after
// capture", listed with its entries); any other difference fails. Pure, so it is unit-tested.
import { MISSING_FLAGS, type GoldenComparison, type GoldenVerification } from '@featuresignals/server';
import type { AuditChange, FlagLinks } from './audit-changes.js';

export interface FlagDifference {
  env: string;
  flag: string;
  /** differing evaluations, over server and SDK */
  evaluations: number;
  first: { via: 'server' | 'sdk'; context: string; expected: string | null; actual: string | null };
}

export interface GoldenJudgement {
  ok: boolean;
  via: Record<'server' | 'sdk', { equal: boolean; differences: number; expectedFingerprint: string; actualFingerprint: string; rulesetChanges: string[] }>;
  /** with `through`: the audited change was to a prerequisite or a flag of its mutual-exclusion group */
  changedAfterCapture: Array<FlagDifference & { audit: AuditChange[]; through?: string[] }>;
  unexplained: FlagDifference[];
  /** environments whose ruleset digest changed with no audited flag change to account for it */
  unexplainedRulesets: string[];
}

const explains = (a: AuditChange, env: string, flag: string) => a.flag === flag && (a.env === null || a.env === env) && !MISSING_FLAGS.includes(flag);

/** The flags whose change can change `flag`'s evaluation: itself, its prerequisites (transitively), its mutex group. */
export function influences(flag: string, links: FlagLinks): string[] {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const p of links.prerequisites[f] ?? []) visit(p);
    const g = links.groups[f];
    if (g) for (const [k, kg] of Object.entries(links.groups)) if (kg === g) visit(k);
  };
  visit(flag);
  return [...seen];
}

export function judgeGolden(v: GoldenVerification, audit: AuditChange[], links: FlagLinks = { prerequisites: {}, groups: {} }): GoldenJudgement {
  const byFlag = new Map<string, FlagDifference>();
  for (const [via, cmp] of Object.entries(v) as Array<['server' | 'sdk', GoldenComparison]>) {
    for (const d of cmp.differences) {
      const k = `${d.env}\t${d.flag}`;
      const f = byFlag.get(k);
      if (f) f.evaluations++;
      else byFlag.set(k, { env: d.env, flag: d.flag, evaluations: 1, first: { via, context: d.context, expected: d.expected, actual: d.actual } });
    }
  }
  const changedAfterCapture: GoldenJudgement['changedAfterCapture'] = [];
  const unexplained: FlagDifference[] = [];
  for (const f of byFlag.values()) {
    const related = influences(f.flag, links);
    const entries = audit.filter((a) => related.some((r) => explains(a, f.env, r)));
    const through = [...new Set(entries.map((a) => a.flag!).filter((k) => k !== f.flag))];
    if (entries.length) changedAfterCapture.push({ ...f, audit: entries, ...(through.length ? { through } : {}) });
    else unexplained.push(f);
  }
  // A ruleset digest also covers what no context reaches: it may differ only where the audit
  // shows a flag change in that environment.
  const changedEnvs = new Set([...v.server.rulesetChanges, ...v.sdk.rulesetChanges]);
  const unexplainedRulesets = [...changedEnvs].filter((env) => !audit.some((a) => a.flag !== null && (a.env === null || a.env === env))).sort();
  const summary = (c: GoldenComparison) => ({ equal: c.equal, differences: c.differences.length, expectedFingerprint: c.expectedFingerprint, actualFingerprint: c.actualFingerprint, rulesetChanges: c.rulesetChanges });
  return {
    ok: unexplained.length === 0 && unexplainedRulesets.length === 0,
    via: { server: summary(v.server), sdk: summary(v.sdk) },
    changedAfterCapture, unexplained, unexplainedRulesets,
  };
}
