// Alert state, as Prometheus keeps it: a condition that holds becomes pending, fires once it has held
// for the rule's `for`, and resolves when it stops holding. Only state changes are notifications
// (plus, optionally, a reminder every repeat interval while firing), so a receiver gets one message
// per alert however often the agent evaluates.
import type { AlertRule } from './rules.js';
import type { Samples } from './samples.js';

export interface Alert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
  startsAt: string;
  endsAt?: string;
  fingerprint: string;
}

interface Active {
  rule: AlertRule;
  alert: Alert;
  activeSince: number;
  firing: boolean;
  lastSent?: number;
}

export interface EngineOptions {
  /** labels added to every alert (instance) */
  labels: Record<string, string>;
  /** multiplies every rule's `for` (tests); 1 in production */
  pendingScale?: number;
  /** resend a firing alert this often (0: never) */
  repeatIntervalSeconds?: number;
}

export function fingerprint(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',');
}

export class AlertEngine {
  private readonly active = new Map<string, Active>();

  constructor(private readonly rules: AlertRule[], private readonly opts: EngineOptions) {}

  /** Evaluates every rule at `now`; returns the notifications to send (state changes and reminders). */
  evaluate(samples: Samples, now: Date): Alert[] {
    const t = now.getTime();
    const out: Alert[] = [];
    const seen = new Set<string>();
    for (const rule of this.rules) {
      for (const h of rule.match(samples, t / 1000)) {
        const labels = { alertname: rule.alert, severity: rule.severity, ...this.opts.labels, ...h.labels };
        const fp = fingerprint(labels);
        seen.add(fp);
        let a = this.active.get(fp);
        if (!a) {
          a = { rule, activeSince: t, firing: false, alert: { status: 'firing', labels, annotations: { summary: '', description: '' }, startsAt: now.toISOString(), fingerprint: fp } };
          this.active.set(fp, a);
        }
        // Annotations follow the value (as Prometheus re-renders them); they do not make a new notification.
        a.alert.annotations = { summary: rule.summary(h), description: rule.description(h) };
        const repeat = (this.opts.repeatIntervalSeconds ?? 0) * 1000;
        if (!a.firing && t - a.activeSince >= rule.forSeconds * 1000 * (this.opts.pendingScale ?? 1)) {
          a.firing = true;
          a.lastSent = t;
          out.push({ ...a.alert });
        } else if (a.firing && repeat > 0 && t - a.lastSent! >= repeat) {
          a.lastSent = t;
          out.push({ ...a.alert });
        }
      }
    }
    for (const [fp, a] of this.active) {
      if (seen.has(fp)) continue;
      this.active.delete(fp);
      if (a.firing) out.push({ ...a.alert, status: 'resolved', endsAt: now.toISOString() });
    }
    return out;
  }

  /** Alerts firing now (for /status). */
  firing(): Alert[] {
    return [...this.active.values()].filter((a) => a.firing).map((a) => ({ ...a.alert }));
  }
}
