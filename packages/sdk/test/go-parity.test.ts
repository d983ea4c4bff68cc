// Parity with FeatureSignals' Go engine for the eight classes where we used to differ (issue 14):
// facts per class (what Go's fmt, strconv.ParseFloat and regexp do with these inputs), then a
// seeded differential test: random rulesets and contexts through our engine against a reference
// written from FS's documented semantics, whose only knowledge of Go is those fact tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeText, bucketUser, evaluate, goParseFloat, matchCondition, regexProblem, type Condition, type EvalContext, type EvalResult, type FlagDef, type FlagState, type Json, type Rule, type Ruleset, type Segment } from '../src/eval/index.js';

/** Go's fmt.Sprintf("%v", v) of a JSON-decoded value (classes 1–3, and float formatting). */
const FORMAT: Array<[Json, string]> = [
  [null, '<nil>'], [['beta', 'internal'], '[beta internal]'], [[], '[]'], [[1, 2.5, 1e6], '[1 2.5 1e+06]'],
  [[null, true, 'x y'], '[<nil> true x y]'], [{ a: 1 }, 'map[a:1]'], [{ b: 'x', a: [1, 2] }, 'map[a:[1 2] b:x]'], [{}, 'map[]'],
  [{ z: { y: null } }, 'map[z:map[y:<nil>]]'], [{ B: 1, a: 2, _: 3 }, 'map[B:1 _:3 a:2]'], [1e21, '1e+21'], [123456789, '1.23456789e+08'],
  [0.000001, '1e-06'], [25, '25'], [99.5, '99.5'], [true, 'true'], [false, 'false'], ['pro', 'pro'], [[[1], { k: [] }], '[[1] map[k:[]]]'],
];

/** strconv.ParseFloat(s, 64): the value, or undefined where Go returns an error (class 4). */
const PARSE: Array<[string, number | undefined]> = [
  ['42', 42], [' 42', undefined], ['42 ', undefined], ['inf', Infinity], ['+Inf', Infinity], ['-Infinity', -Infinity], ['infinity', Infinity],
  ['INF', Infinity], ['NaN', NaN], ['nan', NaN], ['+nan', undefined], ['-nan', undefined], ['infin', undefined], ['1_000', 1000], ['1__000', undefined],
  ['_1', undefined], ['1_', undefined], ['1_000.5', 1000.5], ['1_.5', undefined], ['1e1_0', 1e10], ['0x1p-2', 0.25], ['0x1.8p1', 3], ['0X1P4', 16],
  ['0x_1p0', 1], ['0xep1', 28], ['0x10', undefined], ['0x', undefined], ['0b101', undefined], ['1e400', undefined], ['-1e400', undefined], ['1e-400', 0],
  ['.5', 0.5], ['5.', 5], ['.', undefined], ['1e', undefined], ['+.5e-3', 0.0005], ['', undefined], ['1.5E+3', 1500], ['-0', -0], ['１', undefined],
  ['18', 18], ['1e+06', 1e6], ['99', 99], ['abc', undefined], ['<nil>', undefined], ['1e+21', 1e21], ['1.23456789e+08', 123456789],
  ['1e-06', 1e-6], ['25', 25], ['99.5', 99.5],
];

/** Go regexp: pattern, then [text, MatchString] facts; `invalid` = regexp.Compile fails (class 6). */
const REGEX: Array<{ p: string; invalid?: true; cases: Array<[string, boolean]> }> = [
  { p: '(?i)^ADMIN', cases: [['admin-1', true], ['user', false]] },
  { p: '^[[:alpha:]]+$', cases: [['abc', true], ['ab1', false]] },
  { p: '^\\pL+$', cases: [['Ærø', true], ['a1', false]] },
  { p: '\\Aab\\z', cases: [['ab', true], ['ab\n', false], ['xab', false]] },
  { p: '(?s)a.b', cases: [['a\nb', true], ['ab', false]] },
  { p: 'a.b', cases: [['a\nb', false], ['axb', true]] },
  { p: '^\\x{65}$', cases: [['e', true], ['x{65}', false]] },
  { p: '(?P<n>a)b', cases: [['ab', true], ['a', false]] },
  { p: '(?<n>a)b', cases: [['xab', true], ['b', false]] },
  { p: '^\\s$', cases: [['\u00a0', false], [' ', true], ['\u2003', false]] },
  { p: '\\Q.*\\E', cases: [['.*', true], ['ab', false]] },
  { p: '^.$', cases: [['😀', true], ['ab', false]] },
  { p: '^alice@.*\\.com$', cases: [['alice@example.com', true], ['bob@example.com', false]] },
  { p: '\\u0041', invalid: true, cases: [['A', false], ['u0041', false]] },
  { p: '(?=a)a', invalid: true, cases: [['a', false]] },
  { p: '(a)\\1', invalid: true, cases: [['aa', false]] },
  { p: 'a{1001}', invalid: true, cases: [['a', false]] },
  { p: '[invalid', invalid: true, cases: [['[invalid', false]] },
  { p: '\\C', invalid: true, cases: [['a', false]] },
];

const flag = (key: string, extra: Partial<FlagDef> = {}): FlagDef =>
  ({ key, flag_type: 'boolean', default_value: false, prerequisites: [], mutual_exclusion_group: '', expires_at: null, ...extra });
const state = (flag_key: string, extra: Partial<FlagState> = {}): FlagState =>
  ({ flag_key, enabled: true, default_value: true, rules: [], percentage_rollout: 0, variants: [], ...extra });
const rule = (extra: Partial<Rule>): Rule => ({ priority: 0, conditions: [], segment_keys: [], match_type: 'all', percentage: 10000, value: 'hit', ...extra });
const rs = (flags: FlagDef[], states: FlagState[], segments: Segment[] = []): Ruleset => ({ env: { id: 'e', slug: 'prod' }, version: 1, dbid: 'x:1', flags, states, segments });

test('classes 1–3: attributes format as Go %v (null <nil>, arrays, maps with sorted keys)', () => {
  for (const [v, text] of FORMAT) assert.equal(attributeText(v), text, JSON.stringify(v));
  assert.equal(matchCondition({ attribute: 'a', operator: 'eq', values: ['<nil>'] }, { key: 'u', attributes: { a: null } }), true);
  assert.equal(matchCondition({ attribute: 'tags', operator: 'contains', values: ['beta internal'] }, { key: 'u', attributes: { tags: ['beta', 'internal'] } }), true);
  assert.equal(matchCondition({ attribute: 'o', operator: 'eq', values: ['map[a:1]'] }, { key: 'u', attributes: { o: { a: 1 } } }), true);
  assert.equal(matchCondition({ attribute: 'a', operator: 'exists', values: [] }, { key: 'u', attributes: { a: null } }), true, 'a null attribute exists');
  assert.equal(matchCondition({ attribute: 'constructor', operator: 'exists', values: [] }, { key: 'u', attributes: {} }), false, 'no inherited properties');
});

test('class 4: numbers parse as strconv.ParseFloat', () => {
  for (const [s, want] of PARSE) assert.ok(Object.is(goParseFloat(s), want), `ParseFloat(${JSON.stringify(s)}) = ${goParseFloat(s)}, Go: ${want}`);
  const gt = (attr: Json, v: string) => matchCondition({ attribute: 'n', operator: 'gt', values: [v] }, { key: 'u', attributes: { n: attr } });
  assert.equal(gt(' 42', '1'), false, 'surrounding spaces do not parse');
  assert.equal(gt('1_000', '999'), true);
  assert.equal(gt('inf', '1e308'), true);
  assert.equal(gt('NaN', '0'), false);
  assert.equal(gt('0x1p4', '15'), true);
  assert.equal(gt('1e400', '0'), false, 'out of range is an error in Go');
});

test('class 6: regex is RE2 (Go regexp); the API refuses exactly what Go cannot compile', () => {
  for (const { p, invalid, cases } of REGEX) {
    assert.equal(regexProblem(p) !== undefined, invalid === true, `${p}: ${regexProblem(p)}`);
    for (const [text, want] of cases) assert.equal(matchCondition({ attribute: 'e', operator: 'regex', values: [p] }, { key: 'u', attributes: { e: text } }), want, `${p} on ${JSON.stringify(text)}`);
  }
});

test('classes 5 and 8: segments with no rules match everyone; an empty or unknown match_type with rules never matches', () => {
  const cond = [{ attribute: 'plan', operator: 'eq', values: ['pro'] }];
  const seg = (match_type: string, rules: Condition[]): Ruleset => rs([flag('f', { flag_type: 'string', default_value: 'off' })], [state('f', { default_value: 'on', rules: [rule({ segment_keys: ['s'] })] })], [{ key: 's', match_type, rules }]);
  const ctx = { key: 'u', attributes: { plan: 'pro' } };
  assert.equal(evaluate(seg('any', []), 'f', ctx).value, 'hit', 'any + no rules = everyone');
  assert.equal(evaluate(seg('all', []), 'f', ctx).value, 'hit');
  assert.equal(evaluate(seg('', []), 'f', ctx).value, 'hit', 'no rules: match type does not matter');
  assert.equal(evaluate(seg('', cond), 'f', ctx).value, 'on', 'empty match_type with rules never matches');
  assert.equal(evaluate(seg('ANY', cond), 'f', ctx).value, 'on');
  assert.equal(evaluate(seg('any', cond), 'f', ctx).value, 'hit');
});

test('class 7: one visited set per evaluation, shared across siblings (a diamond over a node with prerequisites fails)', () => {
  const on = (k: string, pre: string[] = []) => [flag(k, { prerequisites: pre }), state(k)] as const;
  const build = (defs: Array<readonly [FlagDef, FlagState]>) => rs(defs.map((d) => d[0]), defs.map((d) => d[1]));
  const diamond = build([on('a', ['b', 'c']), on('b', ['d']), on('c', ['d']), on('d', ['e']), on('e')]);
  assert.equal(evaluate(diamond, 'a', { key: 'u' }).reason, 'PREREQUISITE_FAILED');
  assert.equal(evaluate(diamond, 'b', { key: 'u' }).reason, 'FALLTHROUGH');
  const leafDiamond = build([on('a', ['b', 'c']), on('b', ['d']), on('c', ['d']), on('d')]);
  assert.equal(evaluate(leafDiamond, 'a', { key: 'u' }).reason, 'FALLTHROUGH', 'a leaf never enters the visited set');
  assert.equal(evaluate(build([on('a', ['b', 'b']), on('b', ['c']), on('c')]), 'a', { key: 'u' }).reason, 'PREREQUISITE_FAILED', 'the same prerequisite twice');
  assert.equal(evaluate(build([on('a', ['b']), on('b', ['a'])]), 'a', { key: 'u' }).reason, 'PREREQUISITE_FAILED', 'cycle');
  assert.equal(evaluate(build([on('a', ['a'])]), 'a', { key: 'u' }).reason, 'PREREQUISITE_FAILED', 'self');
});

// ---- Differential test ----------------------------------------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An attribute value with what Go makes of it: its %v text, and ParseFloat of that text. */
interface Fact { value: Json; text: string; num: number | undefined }
const parsed = new Map(PARSE.map(([s, n]) => [s, n]));
const FACTS: Fact[] = [
  ...FORMAT.map(([value, text]) => ({ value, text, num: parsed.has(text) ? parsed.get(text) : undefined })),
  ...PARSE.map(([s, n]) => ({ value: s, text: s, num: n })),
];
const known = (f: Fact) => typeof f.value !== 'number' || parsed.has(f.text);
const ATTR_FACTS = FACTS.filter(known);
const OPS = ['eq', 'neq', 'contains', 'startsWith', 'endsWith', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'exists', 'bogus'];

interface World { rs: Ruleset; rx: Map<string, { p: string; cases: Map<string, boolean> }> }

function randomWorld(r: () => number): World {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const rx = new Map<string, { p: string; cases: Map<string, boolean> }>();
  REGEX.forEach((e, i) => rx.set(`rx${i}`, { p: e.p, cases: new Map(e.cases) }));
  const textOf = () => pick(FACTS).text;
  const condition = (): Condition => {
    const kind = r();
    if (kind < 0.25) {
      const attr = pick([...rx.keys()]);
      const operator = r() < 0.8 ? 'regex' : pick(['eq', 'exists', 'contains']);
      return { attribute: attr, operator, values: operator === 'regex' ? [rx.get(attr)!.p] : [pick([...rx.get(attr)!.cases.keys()])] };
    }
    const attribute = pick(['a', 'b', 'n', 'missing', 'key']);
    const operator = pick(OPS);
    const n = operator === 'exists' ? pick([0, 1]) : pick([0, 1, 1, 1, 2, 3]);
    const values = Array.from({ length: n }, () => (operator === 'exists' ? pick(['true', 'false', 'x']) : attribute === 'key' ? pick(['u1', 'u2', textOf()]) : textOf()));
    return { attribute, operator, values };
  };
  const conds = (max: number) => Array.from({ length: Math.floor(r() * (max + 1)) }, condition);
  const value = () => pick<Json>([true, false, 'x', 'y', 1, null, { k: 1 }]);
  const segments: Segment[] = ['s0', 's1', 's2'].map((key) => ({ key, match_type: pick(['all', 'any', '', 'any']), rules: conds(2) }));
  const keys = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
  const flags = keys.map((key) => flag(key, {
    flag_type: r() < 0.2 ? 'ab' : 'boolean', default_value: value(),
    prerequisites: r() < 0.35 ? Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(keys.concat(['ghost']))) : [],
    mutual_exclusion_group: r() < 0.15 ? 'g' : '',
  }));
  const states = keys.filter(() => r() < 0.95).map((key) => state(key, {
    enabled: r() < 0.85, default_value: r() < 0.3 ? null : value(),
    percentage_rollout: r() < 0.7 ? 0 : Math.floor(r() * 10001),
    variants: r() < 0.5 ? [{ key: 'v1', value: 'V1', weight: 4000 }, { key: 'v2', value: 'V2', weight: 6000 }] : [],
    rules: Array.from({ length: Math.floor(r() * 4) }, () => rule({
      priority: Math.floor(r() * 3), conditions: conds(2), match_type: pick(['all', 'any', '']),
      segment_keys: r() < 0.4 ? [pick(['s0', 's1', 's2', 'nope'])] : [], percentage: pick([10000, 10000, 0, Math.floor(r() * 10000)]), value: value(),
    })),
  }));
  return { rs: rs(flags, states, segments), rx };
}

function randomContext(r: () => number, w: World): { ctx: EvalContext; facts: Map<string, Fact> } {
  const facts = new Map<string, Fact>();
  for (const a of ['a', 'b', 'n']) if (r() < 0.85) facts.set(a, ATTR_FACTS[Math.floor(r() * ATTR_FACTS.length)]);
  for (const [attr, e] of w.rx) if (r() < 0.85) { const texts = [...e.cases.keys()]; const t = texts[Math.floor(r() * texts.length)]; facts.set(attr, { value: t, text: t, num: parsed.get(t) }); }
  const key = `u${Math.floor(r() * 50)}`;
  return { ctx: { key, attributes: Object.fromEntries([...facts].map(([k, f]) => [k, f.value])) }, facts };
}

/** The reference: FS's engine.go / rules.go read as a specification, Go's behaviour from the tables. */
function reference(w: World, flagKey: string, key: string, facts: Map<string, Fact>): EvalResult {
  const flags = new Map(w.rs.flags.map((f) => [f.key, f]));
  const states = new Map(w.rs.states.map((s) => [s.flag_key, s]));
  const segs = new Map(w.rs.segments.map((s) => [s.key, s]));
  const cond = (c: Condition): boolean => {
    const f: Fact | undefined = c.attribute === 'key' ? { value: key, text: key, num: undefined } : facts.get(c.attribute);
    if (!f) return c.operator === 'exists' && c.values.length > 0 && c.values[0] === 'false';
    if (c.operator === 'exists') return c.values.length === 0 || c.values[0] !== 'false';
    const v0 = c.values[0];
    const num = (cmp: (a: number, b: number) => boolean) => {
      if (v0 === undefined) return false;
      const b = parsed.has(v0) ? parsed.get(v0) : goParseFloatUnknown(v0);
      return f.num !== undefined && b !== undefined && cmp(f.num, b);
    };
    switch (c.operator) {
      case 'eq': return v0 !== undefined && f.text === v0;
      case 'neq': return v0 !== undefined && f.text !== v0;
      case 'contains': return v0 !== undefined && f.text.indexOf(v0) >= 0;
      case 'startsWith': return v0 !== undefined && f.text.slice(0, v0.length) === v0;
      case 'endsWith': return v0 !== undefined && f.text.length >= v0.length && f.text.slice(f.text.length - v0.length) === v0;
      case 'in': return c.values.some((v) => v === f.text);
      case 'notIn': return c.values.every((v) => v !== f.text);
      case 'gt': return num((a, b) => a > b);
      case 'gte': return num((a, b) => a >= b);
      case 'lt': return num((a, b) => a < b);
      case 'lte': return num((a, b) => a <= b);
      case 'regex': {
        if (v0 === undefined) return false;
        const e = w.rx.get(c.attribute);
        if (!e || e.p !== v0 || !e.cases.has(f.text)) throw new Error(`no Go fact for ${v0} on ${f.text}`);
        return e.cases.get(f.text)!;
      }
      default: return false;
    }
  };
  const conditions = (cs: Condition[], mt: string): boolean => {
    if (cs.length === 0) return true;
    for (const c of cs) { const m = cond(c); if (mt === 'any' && m) return true; if (mt === 'all' && !m) return false; }
    return mt === 'all';
  };
  const visited: Record<string, boolean> = {};
  const run = (k: string): EvalResult => {
    const fl = flags.get(k);
    if (!fl) return { flag_key: k, value: null, reason: 'NOT_FOUND' };
    const st = states.get(k);
    const off = (reason: EvalResult['reason']): EvalResult => ({ flag_key: k, value: fl.default_value, reason });
    if (!st || !st.enabled) return off('DISABLED');
    if (fl.mutual_exclusion_group !== '') {
      let winner = k; let wb = bucketUser(k, key);
      for (const o of w.rs.flags) {
        if (o.key === k || o.mutual_exclusion_group !== fl.mutual_exclusion_group || !states.get(o.key)?.enabled) continue;
        const b = bucketUser(o.key, key);
        if (b < wb || (b === wb && o.key < winner)) { winner = o.key; wb = b; }
      }
      if (winner !== k) return off('MUTUALLY_EXCLUDED');
    }
    if (fl.prerequisites.length > 0) {
      visited[k] = true;
      for (const p of fl.prerequisites) {
        if (visited[p]) return off('PREREQUISITE_FAILED');
        const pr = run(p);
        if (pr.reason === 'NOT_FOUND' || pr.reason === 'DISABLED' || pr.value === false) return off('PREREQUISITE_FAILED');
      }
    }
    // Go's sort.Slice is an insertion sort (stable) for fewer than 13 rules.
    const rules = st.rules.map((x, i) => [x, i] as const).sort((x, y) => x[0].priority - y[0].priority || x[1] - y[1]).map((x) => x[0]);
    for (const ru of rules) {
      if (ru.segment_keys.length > 0 && !ru.segment_keys.some((sk) => { const s = segs.get(sk); return s !== undefined && conditions(s.rules, s.match_type); })) continue;
      if (ru.conditions.length > 0 && !conditions(ru.conditions, ru.match_type === '' ? 'all' : ru.match_type)) continue;
      if (ru.percentage >= 10000) return { flag_key: k, value: ru.value, reason: 'TARGETED' };
      if (ru.percentage > 0 && bucketUser(k, key) < ru.percentage) return { flag_key: k, value: ru.value, reason: 'ROLLOUT' };
    }
    const onValue = st.default_value === null ? fl.default_value : st.default_value;
    if (st.percentage_rollout > 0) return bucketUser(k, key) < st.percentage_rollout ? { flag_key: k, value: onValue, reason: 'ROLLOUT' } : off('FALLTHROUGH');
    if (fl.flag_type === 'ab' && st.variants.length > 0) {
      const b = bucketUser(k, key); let sum = 0;
      for (const v of st.variants) { sum += v.weight; if (b < sum) return { flag_key: k, value: v.value, reason: 'VARIANT', variant_key: v.key }; }
      const last = st.variants[st.variants.length - 1];
      return { flag_key: k, value: last.value, reason: 'VARIANT', variant_key: last.key };
    }
    return { flag_key: k, value: onValue, reason: 'FALLTHROUGH' };
  };
  return run(flagKey);
}

/** Condition values outside the table are plain words ("u1", "x"): Go cannot parse them. */
function goParseFloatUnknown(s: string): number | undefined {
  if (/^[a-z]+[0-9]*$/.test(s) || s.includes(' ') || s.includes('[') || s.includes('<')) return undefined;
  throw new Error(`no Go fact for ParseFloat(${JSON.stringify(s)})`);
}

test('differential: 300 seeded random rulesets × 20 contexts × every flag agree with the reference', () => {
  const r = prng(20261202);
  let n = 0;
  const perReason = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const w = randomWorld(r);
    for (let j = 0; j < 20; j++) {
      const { ctx, facts } = randomContext(r, w);
      for (const f of [...w.rs.flags.map((x) => x.key), 'ghost']) {
        const want = reference(w, f, ctx.key, facts);
        const got = evaluate(w.rs, f, ctx);
        assert.deepEqual(got, want, `ruleset ${i} context ${j} flag ${f}: ${JSON.stringify({ ctx, rs: w.rs })}`);
        perReason.set(want.reason, (perReason.get(want.reason) ?? 0) + 1);
        n++;
      }
    }
  }
  assert.ok(n >= 40_000, `${n} evaluations`);
  for (const reason of ['NOT_FOUND', 'DISABLED', 'TARGETED', 'ROLLOUT', 'FALLTHROUGH', 'PREREQUISITE_FAILED', 'MUTUALLY_EXCLUDED', 'VARIANT']) {
    assert.ok((perReason.get(reason) ?? 0) > 50, `the random rulesets reach ${reason} (${perReason.get(reason) ?? 0})`);
  }
});
