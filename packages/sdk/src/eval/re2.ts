// The `regex` operator with Go regexp (RE2) semantics through re2js, a maintained pure-JS port of
// RE2: the same patterns compile ((?i), [[:alpha:]], \pL, \A, \z, (?P<n>…), \x{65}) and the same are
// refused (lookaround, backreferences, \u0041, {1001}); matching is an unanchored search as Go's
// MatchString. A pattern Go cannot compile never matches; the management API refuses it up front.
import { RE2JS } from 're2js';

const cache = new Map<string, RE2JS | null>();
const CACHE_MAX = 1000;

function compileRe2(pattern: string): RE2JS | null {
  let re = cache.get(pattern);
  if (re === undefined) {
    try { re = RE2JS.compile(pattern); } catch { re = null; }
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** Why Go's regexp.Compile would refuse the pattern (its own message), or undefined. */
export function regexProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function re2Matches(pattern: string, text: string): boolean {
  const re = compileRe2(pattern);
  return re !== null && re.matcher(text).find();
}
