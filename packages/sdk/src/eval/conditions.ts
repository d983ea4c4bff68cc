// Condition operators (FeatureSignals rules.go semantics): string compares on the Go-formatted
// attribute text, numeric compares parse both sides, unknown operators never match.
import { attributeText } from './go-format.js';
import { goParseFloat } from './go-parse-float.js';
import { re2Matches } from './re2.js';
import type { Condition, EvalContext, Json } from './types.js';

function lookup(ctx: EvalContext, attribute: string): Json | undefined {
  if (attribute === 'key') return ctx.key;
  // A present null is an attribute (Go formats it "<nil>"); only a missing key is absent.
  const attrs = ctx.attributes;
  const v = attrs && Object.prototype.hasOwnProperty.call(attrs, attribute) ? attrs[attribute] : undefined;
  return v === undefined ? undefined : v;
}

function numeric(text: string, want: string | undefined, cmp: (a: number, b: number) => boolean): boolean {
  if (want === undefined) return false;
  const a = goParseFloat(text);
  const b = goParseFloat(want);
  return a !== undefined && b !== undefined && cmp(a, b);
}

export function matchCondition(c: Condition, ctx: EvalContext): boolean {
  const raw = lookup(ctx, c.attribute);
  const first = c.values[0];
  if (c.operator === 'exists') {
    // FS: a missing attribute matches only `exists ["false"]`; a present one matches unless "false".
    return raw === undefined ? first === 'false' : first !== 'false';
  }
  if (raw === undefined) return false;
  const text = attributeText(raw);
  switch (c.operator) {
    case 'eq': return first !== undefined && text === first;
    case 'neq': return first !== undefined && text !== first;
    case 'contains': return first !== undefined && text.includes(first);
    case 'startsWith': return first !== undefined && text.startsWith(first);
    case 'endsWith': return first !== undefined && text.endsWith(first);
    case 'in': return c.values.includes(text);
    case 'notIn': return !c.values.includes(text);
    case 'gt': return numeric(text, first, (a, b) => a > b);
    case 'gte': return numeric(text, first, (a, b) => a >= b);
    case 'lt': return numeric(text, first, (a, b) => a < b);
    case 'lte': return numeric(text, first, (a, b) => a <= b);
    case 'regex': return first !== undefined && re2Matches(first, text);
    default: return false;
  }
}

/** FS's MatchConditions: no conditions match everyone (whatever the match type); otherwise `any`
 * needs one, `all` needs every one, and any other match type (including "") matches nobody. */
export function matchAll(conds: Condition[], matchType: string, ctx: EvalContext): boolean {
  if (conds.length === 0) return true;
  if (matchType === 'any') return conds.some((c) => matchCondition(c, ctx));
  if (matchType === 'all') return conds.every((c) => matchCondition(c, ctx));
  return false;
}
