// Condition operators (FeatureSignals rules.go semantics): string compares on the Go-formatted
// attribute text, numeric compares parse both sides, unknown operators never match.
import { attributeText } from './go-format.js';
import type { Condition, EvalContext, Json } from './types.js';

const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const parseFloatStrict = (s: string): number | undefined => (FLOAT.test(s.trim()) ? Number(s.trim()) : undefined);

const regexCache = new Map<string, RegExp | null>();
const REGEX_CACHE_MAX = 1000;

/** Why a pattern is refused at write time (RE2 semantics: no lookaround, no backreferences), or undefined. */
export function regexProblem(pattern: string): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) return 'lookaround is not supported';
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences are not supported';
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function compiled(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = regexProblem(pattern) === undefined ? new RegExp(pattern, 'u') : null;
    if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function lookup(ctx: EvalContext, attribute: string): Json | undefined {
  if (attribute === 'key') return ctx.key;
  const v = ctx.attributes?.[attribute];
  return v === undefined ? undefined : v;
}

function numeric(text: string, want: string | undefined, cmp: (a: number, b: number) => boolean): boolean {
  if (want === undefined) return false;
  const a = parseFloatStrict(text);
  const b = parseFloatStrict(want);
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
    case 'regex': {
      const re = first === undefined ? null : compiled(first);
      return re !== null && re.test(text);
    }
    default: return false;
  }
}

/** `all`: every condition matches (vacuously true when empty); `any`: at least one matches. */
export function matchAll(conds: Condition[], matchType: 'all' | 'any', ctx: EvalContext): boolean {
  return matchType === 'any' ? conds.some((c) => matchCondition(c, ctx)) : conds.every((c) => matchCondition(c, ctx));
}
