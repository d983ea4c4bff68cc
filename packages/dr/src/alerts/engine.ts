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

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/**
 * The label set's fingerprint as Prometheus and Alertmanager compute it (FNV-1a 64 over the sorted
 * names and values, each followed by the 0xff separator; 16 hex digits), so a receiver that
 * de-duplicates on `fingerprint` sees the same alert the same way from the agent and from Alertmanager.
 */
export function fingerprint(labels: Record<string, string>): string {
  let h = FNV_OFFSET;
  const add = (bytes: Uint8Array) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK;
  };
  const sep = Uint8Array.of(0xff);
  const utf8 = new TextEncoder();
  for (const k of Object.keys(labels).sort()) {
    add(utf8.encode(k));
    add(sep);
    add(utf8.encode(labels[k]!));
    add(sep);
  }
  return h.toString(16).padStart(16, '0');
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
