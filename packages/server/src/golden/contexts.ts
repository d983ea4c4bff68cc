// Golden contexts (workload §3.1): seeded contexts over the attributes the rules actually use,
// plus boundary keys placed exactly at bucket p-1 and p of every rollout and variant cut point.
import { bucketUser, type EvalContext, type Json, type Ruleset } from '@featuresignals/sdk/eval';

/** mulberry32: a tiny seeded PRNG, so the same seed gives the same contexts everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function attributeSpace(rulesets: Ruleset[]): Map<string, Json[]> {
  const space = new Map<string, Json[]>();
  const add = (attr: string, values: string[]): void => {
    if (attr === 'key') return;
    const list = space.get(attr) ?? [];
    for (const v of values) {
      list.push(v);
      const n = Number(v);
      if (v.trim() !== '' && Number.isFinite(n)) list.push(n, n + 1, n - 1); // both sides of numeric compares
    }
    list.push(`other-${attr}`);
    space.set(attr, list);
  };
  for (const rs of rulesets) {
    for (const s of rs.states) for (const r of s.rules) for (const c of r.conditions) add(c.attribute, c.values);
    for (const seg of rs.segments) for (const c of seg.rules) add(c.attribute, c.values);
  }
  return space;
}

export function cutPoints(rs: Ruleset): Array<{ flag: string; p: number }> {
  const out: Array<{ flag: string; p: number }> = [];
  for (const s of rs.states) {
    const ps = new Set<number>();
    if (s.percentage_rollout > 0) ps.add(s.percentage_rollout);
    for (const r of s.rules) if (r.percentage > 0) ps.add(r.percentage);
    let sum = 0;
    for (const v of s.variants) { sum += v.weight; ps.add(sum); }
    for (const p of ps) if (p > 0 && p < 10000) out.push({ flag: s.flag_key, p });
  }
  return out;
}

/** Keys whose bucket for `flag` is exactly p-1 and exactly p (about 10^4 tries each). */
export function boundaryKeys(flag: string, p: number, maxTries = 200_000): string[] {
  const want = new Set([p - 1, p]);
  const found: string[] = [];
  for (let j = 0; j < maxTries && want.size > 0; j++) {
    const key = `golden-b-${flag}-${p}-${j}`;
    const b = bucketUser(flag, key);
    if (want.delete(b)) found.push(key);
  }
  return found;
}

/** A context plus a unique label (boundary keys appear twice: bare, and with attributes). */
export interface GoldenContext extends EvalContext {
  label: string;
  /** Only these flags: a boundary key is aimed at one flag's rollout cut. Absent: every flag. */
  flags?: string[];
}

// Random contexts are evaluated against every flag, so their number is bounded by an evaluation
// budget: 1000 for up to 200 flags, fewer (never under 20) for a large project — 10,000 flags
// would otherwise be 10 million lines held in memory. The ruleset digest still covers every flag.
const EVALUATION_BUDGET = 200_000;
export function defaultContextCount(rulesets: Ruleset[]): number {
  const flags = rulesets.reduce((n, rs) => n + rs.flags.length, 0);
  return Math.max(20, Math.min(1000, Math.floor(EVALUATION_BUDGET / Math.max(1, flags))));
}

export function generateContexts(rulesets: Ruleset[], opts: { count?: number; seed?: number } = {}): GoldenContext[] {
  const rand = prng(opts.seed ?? 1);
  // Environment order must not depend on how the caller listed them (e.g. CLI --key order).
  rulesets = [...rulesets].sort((a, b) => (a.env.slug < b.env.slug ? -1 : a.env.slug > b.env.slug ? 1 : 0));
  const space = attributeSpace(rulesets);
  const contexts: GoldenContext[] = [];
  const nonAscii = ['müller', 'Ærøskøbing', '日本語-ユーザー', 'zoë-😀'];
  for (let i = 0, n = opts.count ?? defaultContextCount(rulesets); i < n; i++) {
    const attributes: Record<string, Json> = {};
    for (const [attr, values] of space) {
      if (rand() < 0.1) continue; // 10 % of contexts miss each attribute
      attributes[attr] = values[Math.floor(rand() * values.length)];
    }
    const key = i < nonAscii.length ? nonAscii[i] : `golden-${i}`;
    contexts.push({ label: key, key, attributes });
  }
  for (const rs of rulesets) {
    for (const { flag, p } of cutPoints(rs)) {
      for (const key of boundaryKeys(flag, p)) {
        // Bare, so no targeting rule captures it before the default rollout; and with a full
        // attribute set, so a rule that owns the cut can match.
        const attributes: Record<string, Json> = {};
        for (const [attr, values] of space) attributes[attr] = values[Math.floor(rand() * values.length)];
        contexts.push({ label: `${key}|bare`, key, attributes: {}, flags: [flag] }, { label: `${key}|attrs`, key, attributes, flags: [flag] });
      }
    }
  }
  return contexts;
}
