// Wires the agent's own alerting (src/alerts) to its metrics: after every measurement the rules are
// evaluated on the series /metrics would show, and each state change goes to every configured webhook.
import { hostname } from 'node:os';
import type { Config } from '../config/load.js';
import { resolveSecret } from '../config/secret-ref.js';
import { AlertEngine, type Alert } from '../alerts/engine.js';
import { AGENT_RULES } from '../alerts/rules.js';
import { Samples, type Sample } from '../alerts/samples.js';
import { Webhook } from '../alerts/webhook.js';
import type { AgentMetrics } from './metrics.js';
import type { FiringAlert } from '../console/alerts.js';

export interface Alerting {
  evaluate(): Promise<void>;
  firing(): Alert[];
  stop(): Promise<void>;
}

export async function samplesOf(metrics: AgentMetrics): Promise<Samples> {
  const all: Sample[] = [];
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    for (const v of m.values) all.push({ name: m.name, labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])), value: v.value });
  }
  return new Samples(all);
}

export function startAlerting(cfg: Config, metrics: AgentMetrics, pendingScale = 1): Alerting {
  const a = cfg.alerts;
  const policy = { attempts: a.attempts, initialMs: 1000, maxMs: 300_000, timeoutMs: a.timeoutSeconds * 1000 };
  const hooks = a.webhooks.map((w, i) => new Webhook({
    url: w.url.startsWith('env:') || w.url.startsWith('file:') ? resolveSecret(`alerts.webhooks[${i}].url`, w.url) : w.url,
    headers: Object.fromEntries(Object.entries(w.headers).map(([h, ref]) => [h, resolveSecret(`alerts.webhooks[${i}].headers.${h}`, ref)])),
    format: w.format,
  }, policy));
  const engine = new AlertEngine(AGENT_RULES, { labels: { instance: hostname() }, pendingScale, repeatIntervalSeconds: a.repeatIntervalSeconds });
  return {
    async evaluate() {
      const changes = engine.evaluate(await samplesOf(metrics), new Date());
      for (const alert of changes) for (const h of hooks) h.send(alert);
    },
    firing: () => engine.firing(),
    async stop() {
      await Promise.all(hooks.map((h) => h.close()));
    },
  };
}

/** The console's "alerts now firing": one row per firing alert, since the condition began to hold. */
export function consoleAlerts(firing: Alert[]): FiringAlert[] {
  return firing.map((a) => ({
    name: a.labels.alertname!,
    severity: a.labels.severity === 'critical' ? 'critical' : 'warning',
    summary: a.annotations.summary,
    since: a.startsAt,
  }));
}
