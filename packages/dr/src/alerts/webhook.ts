// Delivers notifications to one webhook, in order (a resolved never overtakes its firing), retrying
// with exponential backoff. A 4xx other than 408/429 is the receiver refusing the message: retrying
// would not help. Only the URL's origin is ever logged (Slack and many receivers keep the secret in
// the path or query).
import { log } from '../util/log.js';
import type { Alert } from './engine.js';
import { alertmanagerPayload, slackPayload } from './payload.js';

export interface WebhookTarget {
  url: string;
  headers: Record<string, string>;
  format: 'alertmanager' | 'slack';
}

export interface DeliveryPolicy {
  attempts: number;
  initialMs: number;
  maxMs: number;
  timeoutMs: number;
}

export function redactedUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '(invalid URL)';
  }
}

export class Webhook {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private wake?: () => void;
  /** notifications that reached the receiver / were given up, for /status and tests */
  delivered = 0;
  failed = 0;

  constructor(private readonly target: WebhookTarget, private readonly policy: DeliveryPolicy) {}

  send(alert: Alert): void {
    this.queue = this.queue.then(() => this.deliver(alert));
  }

  /** Waits for queued deliveries (retries stop early once stopping). */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.queue;
  }

  private async deliver(alert: Alert): Promise<void> {
    const body = JSON.stringify(this.target.format === 'slack' ? slackPayload(alert) : alertmanagerPayload(alert, 'fsdr-agent'));
    const where = redactedUrl(this.target.url);
    let delay = this.policy.initialMs;
    for (let attempt = 1; ; attempt++) {
      let why: string;
      try {
        const r = await fetch(this.target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'fsdr-agent', ...this.target.headers },
          body,
          signal: AbortSignal.timeout(this.policy.timeoutMs),
        });
        await r.arrayBuffer().catch(() => undefined);
        if (r.ok) { this.delivered++; return; }
        why = `HTTP ${r.status}`;
        if (r.status < 500 && r.status !== 408 && r.status !== 429) {
          this.failed++;
          log().error({ webhook: where, alert: alert.labels.alertname, status: alert.status }, `alert webhook refused the notification (${why}); not retried`);
          return;
        }
      } catch (err) {
        why = (err as Error).name === 'TimeoutError' ? `no answer in ${this.policy.timeoutMs} ms` : ((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name);
      }
      if (attempt >= this.policy.attempts || this.closed) {
        this.failed++;
        log().error({ webhook: where, alert: alert.labels.alertname, status: alert.status, attempts: attempt }, `alert webhook unreachable (${why}); notification dropped`);
        return;
      }
      log().warn({ webhook: where, alert: alert.labels.alertname, attempt }, `alert webhook failed (${why}); retrying in ${delay} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, delay);
        this.wake = () => { clearTimeout(t); res(); };
      });
      delay = Math.min(delay * 2, this.policy.maxMs);
    }
  }
}
