// Go's strconv.ParseFloat(s, 64) as a decision procedure: the same strings parse (signs, `inf`,
// `infinity`, `nan` in any case, `_` between digits, hex floats with a `p` exponent) and the same
// fail (surrounding spaces, `1e400` out of range, `+nan`). undefined = Go returns an error.

const DEC = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9][0-9_]*)?$/;
const HEX = /^[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9][0-9_]*$/;

/** Go's underscoreOK: `_` only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1])) { i = 2; saw = '0'; hex = s[1] === 'x' || s[1] === 'X'; }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) { saw = '0'; continue; }
    if (c === '_') { if (saw !== '0') return false; saw = '_'; continue; }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

function special(s: string): number | undefined {
  const m = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (m) return m[1] === '-' ? -Infinity : Infinity;
  return /^nan$/i.test(s) ? NaN : undefined;
}

function hexValue(s: string): number {
  const neg = s[0] === '-';
  const body = s.replace(/^[+-]?0[xX]/, '');
  const [mant, exp] = body.split(/[pP]/);
  const [int, frac = ''] = mant.split('.');
  const digits = (int + frac) || '0';
  const v = Number(BigInt(`0x${digits}`)) * 2 ** (Number(exp) - 4 * frac.length);
  return neg ? -v : v;
}

export function goParseFloat(s: string): number | undefined {
  const sp = special(s);
  if (sp !== undefined) return sp;
  const hex = HEX.test(s);
  if (!hex && !DEC.test(s)) return undefined;
  // Go's sawdigits: the mantissa needs a digit ("." or "_" alone is no number).
  const mantissa = hex ? s.replace(/^[+-]?0[xX]/, '').split(/[pP]/)[0] : s.split(/[eE]/)[0];
  if (!(hex ? /[0-9a-fA-F]/ : /[0-9]/).test(mantissa)) return undefined;
  if (s.includes('_') && !underscoreOK(s)) return undefined;
  const clean = s.replace(/_/g, '');
  const v = hex ? hexValue(clean) : Number(clean);
  // Go answers ErrRange for a finite literal that overflows a float64.
  return Number.isFinite(v) ? v : undefined;
}
