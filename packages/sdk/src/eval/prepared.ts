// Indexes a ruleset once (flags, states and segments by key, rules stably sorted by priority,
// mutex groups) so each evaluation is map lookups; cached per ruleset object.
import type { FlagDef, FlagState, Rule, Ruleset, Segment } from './types.js';

export interface PreparedRuleset {
  ruleset: Ruleset;
  flags: Map<string, FlagDef>;
  states: Map<string, FlagState>;
  segments: Map<string, Segment>;
  /** Rules per flag key, sorted by (priority, position): a stable sort (FS's Go sort is not). */
  rules: Map<string, Rule[]>;
  /** Enabled flags per mutual-exclusion group, sorted by key. */
  groups: Map<string, string[]>;
  /** Expiry in ms since epoch per flag key. */
  expiry: Map<string, number>;
}

const cache = new WeakMap<Ruleset, PreparedRuleset>();

export function prepare(rs: Ruleset): PreparedRuleset {
  const hit = cache.get(rs);
  if (hit) return hit;
  const flags = new Map(rs.flags.map((f) => [f.key, f]));
  const states = new Map(rs.states.map((s) => [s.flag_key, s]));
  const segments = new Map(rs.segments.map((s) => [s.key, s]));
  const rules = new Map<string, Rule[]>();
  for (const s of rs.states) {
    const sorted = s.rules.map((r, i) => ({ r, i })).sort((a, b) => a.r.priority - b.r.priority || a.i - b.i).map((x) => x.r);
    rules.set(s.flag_key, sorted);
  }
  const groups = new Map<string, string[]>();
  const expiry = new Map<string, number>();
  for (const f of rs.flags) {
    if (f.expires_at) expiry.set(f.key, Date.parse(f.expires_at));
    if (!f.mutual_exclusion_group || !states.get(f.key)?.enabled) continue;
    const g = groups.get(f.mutual_exclusion_group) ?? [];
    g.push(f.key);
    groups.set(f.mutual_exclusion_group, g);
  }
  for (const g of groups.values()) g.sort();
  const prepared = { ruleset: rs, flags, states, segments, rules, groups, expiry };
  cache.set(rs, prepared);
  return prepared;
}
