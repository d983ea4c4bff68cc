// The shipped alert rules (deploy/prometheus) are checked by the real promtool: `check rules` with
// every lint fatal, and `test rules` over deploy/prometheus/tests/*.yml, whose cases must make every
// alert fire once and stay quiet once. Every fsdr_* series (and label matched on) that the rules use
// must be exported by the agent's AgentMetrics, so renaming a metric breaks this test, not the pager.
// The example Alertmanager config passes `amtool check-config`. The tools come from Debian's
// prometheus and prometheus-alertmanager packages (scripts/setup-tests.sh installs them).
// Last, a real Prometheus scrapes the agent's HTTP API (with the token) and evaluates the rules: the
// scrape's `job` label stays Prometheus' own (the agent labels its jobs `operation`), every rule
// evaluates without error on the real label sets, and a failed backup makes FsdrBackupFailed pending;
// every query of the Grafana dashboard (deploy/grafana) runs there without error, and those naming
// a series the scrape holds answer with data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitUntil } from '@featuresignals/testkit';
import { buildHttp } from '../../src/agent/http.js';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { JOB_NAMES } from '../../src/agent/jobs.js';
import { exportedNames, representativeMetrics } from '../helpers/metrics.js';
import { dashboardExpressions, loadDashboard } from '../helpers/dashboard.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const RULES = join(ROOT, 'deploy/prometheus/fsdr-alerts.yml');
const TESTS_DIR = join(ROOT, 'deploy/prometheus/tests');
const ALERTMANAGER = join(ROOT, 'deploy/alertmanager/alertmanager.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/fsdr-dashboard.json');

/** Runs a Debian-packaged tool; fails the test naming the setup script when it is not installed. */
function tool(cmd: string, pkg: string, args: string[]): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail(`${cmd} not found: run scripts/setup-tests.sh as root (installs Debian's ${pkg} package, which ships ${cmd})`);
  }
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: `$ ${cmd} ${args.join(' ')}\n${r.stdout}${r.stderr}` };
}

interface Rule { alert?: string; record?: string; expr: string; labels?: Record<string, string> }
const rules = (): Rule[] => (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const testFiles = () => readdirSync(TESTS_DIR).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml')).map((f) => join(TESTS_DIR, f));

test('promtool check rules: the rules file is valid with every lint fatal', () => {
  const r = tool('promtool', 'prometheus', ['check', 'rules', '--lint=all', '--lint-fatal', RULES]);
  assert.ok(r.ok, r.output);
});

test('promtool test rules: every unit test in deploy/prometheus/tests passes', () => {
  const files = testFiles();
  assert.ok(files.length > 0, `no promtool unit tests in ${TESTS_DIR}`);
  const r = tool('promtool', 'prometheus', ['test', 'rules', ...files]);
  assert.ok(r.ok, r.output);
});

test('every alert (and each of its severities) has a firing case and a quiet case', () => {
  type Case = { alertname: string; exp_alerts?: Array<{ exp_labels?: Record<string, string> }> };
  const cases: Case[] = testFiles().flatMap((f) => (parse(readFileSync(f, 'utf8')) as { tests: Array<{ alert_rule_test?: Case[] }> }).tests.flatMap((t) => t.alert_rule_test ?? []));
  const missing: string[] = [];
  for (const r of rules().filter((x) => x.alert)) {
    const mine = cases.filter((c) => c.alertname === r.alert);
    const sev = r.labels?.severity;
    if (!mine.some((c) => c.exp_alerts?.some((a) => a.exp_labels?.severity === sev))) missing.push(`${r.alert} (${sev}): no case where it fires`);
    if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) missing.push(`${r.alert}: no case where it stays quiet`);
  }
  assert.deepEqual(missing, []);
});

test('every fsdr_* series and label the rules use is one the agent exports', async () => {
  const series = await exportedNames();
  // Labels Prometheus adds at scrape. The agent has no `job` label of its own (it would become
  // exported_job): a rule matching exported_job is a rule written for the old label.
  const scrapeLabels = new Set(['instance', 'job']);
  const problems: string[] = [];
  const used = new Set<string>();
  for (const r of rules()) {
    for (const sel of r.expr.matchAll(/\b(fsdr_[a-z0-9_]+)\b(?:\{([^}]*)\})?/g)) {
      const [, name, matchers] = sel as unknown as [string, string, string | undefined];
      used.add(name);
      const labels = series.get(name);
      if (!labels) { problems.push(`${r.alert ?? r.record}: ${name} is not exported by AgentMetrics`); continue; }
      for (const mm of (matchers ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
        const label = mm[1]!;
        if (scrapeLabels.has(label)) continue;
        if (!labels.has(label)) problems.push(`${r.alert}: ${name} has no label ${label} (it has ${[...labels].join(', ') || 'none'})`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(used.size >= 10, `the rules use only ${used.size} fsdr series: did the pattern stop matching?`);
});

test('amtool check-config: the example Alertmanager config is valid', () => {
  const r = tool('amtool', 'prometheus-alertmanager', ['check-config', ALERTMANAGER]);
  assert.ok(r.ok, r.output);
});

test('a real Prometheus scrapes the agent with its token: no exported_job, every rule healthy, a failed backup pending, the dashboard\'s queries valid', async (t) => {
  const m = representativeMetrics();
  await new Promise((r) => setTimeout(r, 20));
  m.operationFinished('backup', false); // the newest backup run failed (after the success above)
  const token = 'alerts-test-token-7c1e';
  const app = buildHttp({ token, metrics: m, status: () => ({}) });
  const agentPort = await freePort();
  await app.listen({ host: '127.0.0.1', port: agentPort });
  t.after(() => app.close());
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-prom-'));
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: [${JSON.stringify(RULES)}]`,
    'scrape_configs:',
    '  - job_name: fsdr-agent',
    `    authorization: { credentials_file: ${JSON.stringify(join(dir, 'token'))} }`,
    `    static_configs: [{ targets: ["127.0.0.1:${agentPort}"] }]`,
    '',
  ].join('\n'));
  tool('prometheus', 'prometheus', ['--version']);
  const promPort = await freePort();
  const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-20_000); });
  const exited = new Promise((r) => prom.once('exit', r));
  t.after(async () => {
    prom.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  const api = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/${path}`);
    return ((await r.json()) as { data: any }).data;
  };
  const query = (q: string) => api(`query?query=${encodeURIComponent(q)}`).then((d) => d.result as Array<{ metric: Record<string, string> }>);
  try {
    const up = await waitUntil(async () => (await query('up{job="fsdr-agent"} == 1').catch(() => [])).length ? true : undefined, 30_000, 'Prometheus scraping the agent');
    assert.ok(up);
    const failures = await query('fsdr_operation_last_failure_timestamp_seconds');
    assert.deepEqual(failures.map((r) => [r.metric.job, r.metric.operation, r.metric.exported_job]).sort(), JOB_NAMES.map((j) => ['fsdr-agent', j, undefined]).sort(), 'the scrape keeps job=fsdr-agent; the operation label is ours, no exported_job');
    // Every rule has been evaluated on the scraped series without an error (a matching error, say).
    const groups = await waitUntil(async () => {
      const g = (await api('rules')).groups as Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
      return g.every((x) => x.rules.every((r) => r.health !== 'unknown')) ? g : undefined;
    }, 30_000, 'every rule evaluated');
    // The dashboard's PromQL: valid, and (but for comparisons and forecasts that may be empty) answering.
    const bad: string[] = [];
    for (const { where, expr } of dashboardExpressions(loadDashboard(DASHBOARD))) {
      const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; error?: string; data?: { result: unknown[] } };
      if (r.status !== 'success') bad.push(`${where}: ${expr}: ${r.error}`);
      else if (!r.data!.result.length && !/predict_linear|rate\(|increase\(| and /.test(expr)) bad.push(`${where}: ${expr}: no data`);
    }
    assert.deepEqual(bad, [], 'dashboard queries');
    const unhealthy = groups.flatMap((g) => g.rules).filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
    assert.deepEqual(unhealthy, []);
    const alerts = await waitUntil(async () => {
      const a = (await api('alerts')).alerts as Array<{ labels: Record<string, string>; state: string }>;
      // (FsdrAgentAbsent is pending from evaluations before the first scrape, then resolves)
      return a.some((x) => x.labels.alertname === 'FsdrBackupFailed') && !a.some((x) => x.labels.alertname === 'FsdrAgentAbsent') ? a : undefined;
    }, 30_000, 'FsdrBackupFailed pending, FsdrAgentAbsent gone');
    const backup = alerts.filter((a) => a.labels.alertname === 'FsdrBackupFailed');
    assert.deepEqual(backup.map((a) => [a.labels.operation, a.state]), [['backup', 'pending']]);
    // Nothing else: the representative measurement's only faults are its WAL hole and the monitor
    // error it counted (fresh backup, drills and WAL, exposure and lag well inside the objectives).
    const expected = new Set(['FsdrBackupFailed', 'FsdrMonitorErrors', 'FsdrWalArchiveGap', 'FsdrWalRecoveryBlocked']);
    const others = [...new Set(alerts.map((a) => a.labels.alertname))].filter((n) => !expected.has(n));
    assert.deepEqual(others, [], 'no alert beyond the faults the measurement has');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- prometheus log (tail) ---\n${log.slice(-4000)}`, { cause: err });
  }
});
