// Reading the Grafana dashboard (deploy/grafana/fsdr-dashboard.json): its panels and every PromQL
// expression in it, with Grafana's variables replaced by values Prometheus accepts.
import { readFileSync } from 'node:fs';

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

export interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: string | { query?: string } }> };
}

export function loadDashboard(path: string): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** `$instance` → any instance, `$__rate_interval` → 5m (what Grafana substitutes before querying). */
export function substitute(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$instance/g, '.*');
}

/** Every expression: each panel target, and each variable's label_values() metric. */
export function dashboardExpressions(d: Dashboard): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of d.panels.flatMap((x) => [x, ...(x.panels ?? [])])) {
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: substitute(t.expr) });
  }
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q ? /^label_values\((.+),\s*\w+\)$/.exec(q) : null;
    if (m) out.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return out;
}
