// The agent's own alert rules (src/alerts/rules.ts) and the Prometheus rules it mirrors
// (deploy/prometheus/fsdr-alerts.yml) cannot drift: the same alerts (name, severity, `for`), every
// YAML alert either evaluated by the agent or listed as Prometheus-only, and each mirrored rule
// reading the same fsdr_* series with the same constant label matchers as its expression. The series
// a TypeScript rule reads are recorded by running it over samples that answer every read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { AGENT_RULES, PROMETHEUS_ONLY, type AlertRule } from '../../src/alerts/rules.js';
import { Samples, type Sample } from '../../src/alerts/samples.js';

const RULES = fileURLToPath(new URL('../../../../../deploy/prometheus/fsdr-alerts.yml', import.meta.url));

interface YamlRule { alert?: string; expr: string; for?: string; labels?: { severity?: string } }
const yamlRules = (): YamlRule[] => (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: YamlRule[] }> }).groups.flatMap((g) => g.rules).filter((r) => r.alert);

function seconds(d = '0s'): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total;
}

/** `name` or `name{k="v",…}` for every fsdr_* selector of a PromQL expression (equality matchers only). */
function yamlSelectors(expr: string): Set<string> {
  const out = new Set<string>();
  for (const m of expr.matchAll(/\b(fsdr_[a-z0-9_]+)\b(?:\{([^}]*)\})?/g)) {
    const eq = [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)\s*=(?![=~])\s*"([^"]*)"/g)].map((x) => `${x[1]}=${JSON.stringify(x[2])}`).sort();
    out.add(eq.length ? `${m[1]}{${eq.join(',')}}` : m[1]!);
  }
  return out;
}

/** Samples that answer every read with one sample and record what was read. */
class RecordingSamples extends Samples {
  readonly read = new Set<string>();
  constructor(private readonly value: number, private readonly base: Record<string, string>) { super([]); }
  override get(name: string, match: Record<string, string> = {}): Sample[] {
    // A match value taken from another sample (a join on its labels) is not a constant matcher.
    const eq = Object.entries(match).filter(([k, v]) => v !== undefined && this.base[k] !== v).map(([k, v]) => `${k}=${JSON.stringify(v)}`).sort();
    this.read.add(eq.length ? `${name}{${eq.join(',')}}` : name);
    return [{ name, labels: { ...this.base, ...match }, value: this.value }];
  }
}

/** Every selector a rule reads over a few value/label shapes (so each branch of it runs). */
function tsSelectors(rule: AlertRule): Set<string> {
  const out = new Set<string>();
  for (const value of [0, 1, 1e12]) {
    for (const operation of ['backup', 'expire']) {
      const s = new RecordingSamples(value, { operation });
      rule.match(s, 2e12);
      for (const x of s.read) out.add(x);
    }
  }
  return out;
}

test('the same alerts: every YAML alert is evaluated by the agent (same severity and `for`) or listed as Prometheus-only', () => {
  const yaml = yamlRules().map((r) => `${r.alert} ${r.labels?.severity} for ${seconds(r.for)}s`);
  const agent = AGENT_RULES.map((r) => `${r.alert} ${r.severity} for ${r.forSeconds}s`);
  const mirrored = yaml.filter((x) => !(x.split(' ')[0]! in PROMETHEUS_ONLY));
  assert.deepEqual([...agent].sort(), [...mirrored].sort());
  const yamlNames = new Set(yamlRules().map((r) => r.alert!));
  for (const name of Object.keys(PROMETHEUS_ONLY)) {
    assert.ok(yamlNames.has(name), `PROMETHEUS_ONLY names ${name}, which deploy/prometheus/fsdr-alerts.yml does not have`);
    assert.ok(!AGENT_RULES.some((r) => r.alert === name), `${name} is both Prometheus-only and evaluated by the agent`);
  }
});

test('the same series: each mirrored rule reads the fsdr_* series (and constant label matchers) of its expression', () => {
  const problems: string[] = [];
  for (const r of AGENT_RULES) {
    const y = yamlRules().find((x) => x.alert === r.alert && x.labels?.severity === r.severity);
    if (!y) { problems.push(`${r.alert} (${r.severity}): not in the YAML`); continue; }
    const want = [...yamlSelectors(y.expr)].sort();
    const got = [...tsSelectors(r)].sort();
    if (JSON.stringify(want) !== JSON.stringify(got)) problems.push(`${r.alert} (${r.severity}): YAML reads ${want.join(' ')}; rules.ts reads ${got.join(' ')}`);
  }
  assert.deepEqual(problems, []);
});

test('the recorder sees what it should: a rule reading a renamed series would differ', () => {
  const stale = AGENT_RULES.find((r) => r.alert === 'FsdrWalArchiveStale')!;
  assert.deepEqual([...tsSelectors(stale)].sort(), ['fsdr_objective_limit_seconds{objective="rpo",scenario="database_corruption"}', 'fsdr_wal_rpo_exposure_seconds']);
  const renamed: AlertRule = { ...stale, match: (s) => s.get('fsdr_wal_archive_age_seconds') };
  assert.notDeepEqual([...tsSelectors(renamed)].sort(), [...yamlSelectors(yamlRules().find((x) => x.alert === 'FsdrWalArchiveStale')!.expr)].sort());
});
