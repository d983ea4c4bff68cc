// The Grafana dashboard (deploy/grafana/fsdr-dashboard.json) names only series the agent exports:
// every panel's PromQL, and the instance variable's query, are read for metric names and label
// matchers and checked against the real AgentMetrics registry fed a representative measurement
// (test/helpers/metrics.ts), so renaming a series breaks this test, not the dashboard. Each panel
// has a query on the dashboard's Prometheus datasource variable, the sections the issue lists are
// there, and every exported series is on some panel. (alerts.int has a real Prometheus run every
// expression, which checks the PromQL itself.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exportedNames } from '../helpers/metrics.js';
import { dashboardExpressions, loadDashboard, type Panel } from '../helpers/dashboard.js';

const DASHBOARD = fileURLToPath(new URL('../../../../../deploy/grafana/fsdr-dashboard.json', import.meta.url));

const KEYWORDS = new Set(['on', 'ignoring', 'by', 'without', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);
/** Labels Prometheus adds at scrape. */
const SCRAPE_LABELS = new Set(['instance', 'job']);

/** The metric selectors of a PromQL expression: name and the label names it matches on. */
function selectors(expr: string): Array<{ name: string; labels: string[] }> {
  const out: Array<{ name: string; labels: string[] }> = [];
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(on|ignoring|by|without|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  for (const m of text.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\{[^}]*\})?(\s*\()?/g)) {
    const [, name, braces, call] = m as unknown as [string, string, string | undefined, string | undefined];
    if (call && !braces) continue; // a function
    if (KEYWORDS.has(name.toLowerCase()) || /^\d/.test(name)) continue;
    out.push({ name, labels: [...(braces ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!) });
  }
  return out;
}

test('the selector reader finds names and matchers, and skips functions, keywords and grouping labels', () => {
  assert.deepEqual(selectors('rate(fsdr_a_total{instance=~"x", k="v"}[5m]) > bool on(instance, job) fsdr_b and up{job="fsdr-agent"} * 1000'), [
    { name: 'fsdr_a_total', labels: ['instance', 'k'] }, { name: 'fsdr_b', labels: [] }, { name: 'up', labels: ['job'] },
  ]);
});

test('every panel\'s query names only series (and labels) the agent exports', async () => {
  const exported = await exportedNames();
  const problems: string[] = [];
  const used = new Set<string>();
  for (const { where, expr } of dashboardExpressions(loadDashboard(DASHBOARD))) {
    for (const s of selectors(expr)) {
      if (s.name === 'up') continue; // Prometheus' own, per scrape target
      const labels = exported.get(s.name);
      if (!labels) { problems.push(`${where}: ${s.name} is not a series the agent exports`); continue; }
      used.add(s.name);
      for (const l of s.labels) if (!SCRAPE_LABELS.has(l) && !labels.has(l)) problems.push(`${where}: ${s.name} has no label ${l} (it has ${[...labels].join(', ') || 'none'})`);
    }
  }
  assert.deepEqual(problems, []);
  const unshown = [...exported.keys()].filter((n) => !used.has(n));
  assert.deepEqual(unshown, [], 'every exported series is on some panel');
});

test('each panel queries the dashboard\'s Prometheus variable; the sections are there', () => {
  const d = loadDashboard(DASHBOARD);
  const rows = d.panels.filter((p) => p.type === 'row').map((p) => p.title);
  for (const section of ['Objectives and at-risk', 'PITR window', 'WAL archiving and backlog', 'Backups and dumps', 'Replicas', 'Storage capacity', 'Drills']) {
    assert.ok(rows.includes(section), `a "${section}" row`);
  }
  const all: Panel[] = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  assert.ok(all.length >= 20, `${all.length} panels`);
  for (const p of all) {
    assert.ok(p.targets?.length, `${p.title}: no query`);
    assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: the datasource variable`);
    for (const t of p.targets!) assert.match(t.expr, /instance=~"\$instance"/, `${p.title}: filtered by the instance variable`);
  }
  assert.equal(new Set(all.map((p) => p.id)).size, all.length, 'panel ids are unique');
  assert.ok(readFileSync(DASHBOARD, 'utf8').endsWith('\n'));
});
