// The evaluation engine shared by server and SDK: FeatureSignals' steps 1–9 (workload.md §1.4),
// pure except for `now`, which only decides flag expiry.
import { bucketUser } from './bucket.js';
import { matchAll } from './conditions.js';
import { prepare, type PreparedRuleset } from './prepared.js';
import type { EvalContext, EvalResult, Json, Rule, Ruleset } from './types.js';

export interface EvaluateOptions { now?: number }

function ruleMatches(p: PreparedRuleset, rule: Rule, ctx: EvalContext): boolean {
  if (rule.segment_keys.length > 0) {
    // A segment's match_type is taken as stored: "" or an unknown value never matches (as FS).
    const hit = rule.segment_keys.some((k) => {
      const seg = p.segments.get(k);
      return seg !== undefined && matchAll(seg.rules, seg.match_type, ctx);
    });
    if (!hit) return false;
  }
  // A rule's empty match_type means "all" (FS defaults it; segments get no such default).
  return rule.conditions.length === 0 || matchAll(rule.conditions, rule.match_type || 'all', ctx);
}

function mutexWinner(p: PreparedRuleset, group: string, ctx: EvalContext): string | undefined {
  let best: string | undefined;
  let bestBucket = Infinity;
  // Keys are sorted, so a strict `<` leaves ties to the lexicographically smaller key.
  for (const key of p.groups.get(group) ?? []) {
    const b = bucketUser(key, ctx.key);
    if (b < bestBucket) { best = key; bestBucket = b; }
  }
  return best;
}

function evalFlag(p: PreparedRuleset, flagKey: string, ctx: EvalContext, now: number, visited: Set<string>): EvalResult {
  const flag = p.flags.get(flagKey);
  if (!flag) return { flag_key: flagKey, value: null, reason: 'NOT_FOUND' };
  const off = (reason: EvalResult['reason']): EvalResult => ({ flag_key: flagKey, value: flag.default_value, reason });
  const expires = p.expiry.get(flagKey);
  if (expires !== undefined && expires < now) return off('DISABLED');
  const state = p.states.get(flagKey);
  if (!state || !state.enabled) return off('DISABLED');
  if (flag.mutual_exclusion_group && mutexWinner(p, flag.mutual_exclusion_group, ctx) !== flagKey) return off('MUTUALLY_EXCLUDED');

  if (flag.prerequisites.length > 0) {
    // As FS: one visited set for the whole evaluation, never unwound, and only flags that have
    // prerequisites enter it. So a cycle fails, and so does a diamond whose shared node has
    // prerequisites of its own (a→b,c; b→d; c→d; d→e: d is "visited" when c reaches it).
    visited.add(flagKey);
    for (const pre of flag.prerequisites) {
      if (visited.has(pre)) return off('PREREQUISITE_FAILED');
      const r = evalFlag(p, pre, ctx, now, visited);
      if (r.reason === 'NOT_FOUND' || r.reason === 'DISABLED' || r.value === false) return off('PREREQUISITE_FAILED');
    }
  }

  const bucket = bucketUser(flagKey, ctx.key);
  for (const rule of p.rules.get(flagKey) ?? []) {
    if (!ruleMatches(p, rule, ctx)) continue;
    if (rule.percentage >= 10000) return { flag_key: flagKey, value: rule.value, reason: 'TARGETED' };
    if (rule.percentage > 0 && bucket < rule.percentage) return { flag_key: flagKey, value: rule.value, reason: 'ROLLOUT' };
  }
  const onValue: Json = state.default_value ?? flag.default_value;
  if (state.percentage_rollout > 0) {
    return bucket < state.percentage_rollout
      ? { flag_key: flagKey, value: onValue, reason: 'ROLLOUT' }
      : off('FALLTHROUGH');
  }
  if (flag.flag_type === 'ab' && state.variants.length > 0) {
    let sum = 0;
    for (const v of state.variants) {
      sum += v.weight;
      if (bucket < sum) return { flag_key: flagKey, value: v.value, reason: 'VARIANT', variant_key: v.key };
    }
    const last = state.variants[state.variants.length - 1];
    return { flag_key: flagKey, value: last.value, reason: 'VARIANT', variant_key: last.key };
  }
  return { flag_key: flagKey, value: onValue, reason: 'FALLTHROUGH' };
}

export function evaluate(rs: Ruleset, flagKey: string, ctx: EvalContext, opts: EvaluateOptions = {}): EvalResult {
  return evalFlag(prepare(rs), flagKey, ctx, opts.now ?? Date.now(), new Set());
}

/** Every flag of the ruleset, keyed by flag key (the shape of FS's bulk endpoint). */
export function evaluateAll(rs: Ruleset, ctx: EvalContext, opts: EvaluateOptions = {}): Record<string, EvalResult> {
  const p = prepare(rs);
  const now = opts.now ?? Date.now();
  const out: Record<string, EvalResult> = {};
  for (const key of p.flags.keys()) out[key] = evalFlag(p, key, ctx, now, new Set());
  return out;
}
