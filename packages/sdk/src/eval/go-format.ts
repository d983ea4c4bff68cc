// Stringifies attribute values the way FeatureSignals' Go engine does (fmt "%v"), so an `eq`
// condition compares the same text: 1000000 → "1e+06", 123456 → "123456", 0.00001 → "1e-05".
import type { Json } from './types.js';

export function goFormatFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  // toExponential() without an argument yields the shortest round-trip digits, as Go's 'g', -1 does.
  const [mant, expText] = n.toExponential().split('e');
  const exp = Number(expText);
  // Go's %v uses exponent form when exp < -4 or exp >= 6 (eprec = 6 for shortest formatting).
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  // Inside that range JS String() prints the same fixed notation with the same shortest digits.
  return String(n);
}

/** Go's fmt "%v" of a value decoded by encoding/json: null → <nil>, arrays [a b] (elements
 * space-separated, strings unquoted), objects map[k:v ...] with keys sorted (fmt sorts map keys). */
export function attributeText(v: Json): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFormatFloat(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(attributeText).join(' ')}]`;
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))); // Go sorts by bytes
  return `map[${keys.map((k) => `${k}:${attributeText(v[k])}`).join(' ')}]`;
}
