// The bodies a webhook receives: Alertmanager's webhook payload (version "4", as Alertmanager
// itself sends it to webhook_configs receivers, so tools written for it accept the agent's) or a
// Slack-compatible {"text": ...} for incoming webhooks (Slack, Mattermost, Rocket.Chat).
import type { Alert } from './engine.js';

/** Alertmanager's zero time: what it sends as endsAt for an alert still firing. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function alertmanagerPayload(alert: Alert, receiver: string): Record<string, unknown> {
  const groupLabels = { alertname: alert.labels.alertname! };
  return {
    version: '4',
    // One group per alert (grouping by all its labels): each state change is one notification.
    groupKey: `{}:{${Object.keys(alert.labels).sort().map((k) => `${k}=${JSON.stringify(alert.labels[k])}`).join(', ')}}`,
    truncatedAlerts: 0,
    status: alert.status,
    receiver,
    groupLabels,
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: '',
    alerts: [{
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      endsAt: alert.endsAt ?? ZERO_TIME,
      generatorURL: '',
      fingerprint: alert.fingerprint,
    }],
  };
}

export function slackPayload(alert: Alert): Record<string, unknown> {
  const mark = alert.status === 'firing' ? (alert.labels.severity === 'critical' ? ':rotating_light:' : ':warning:') : ':white_check_mark:';
  const head = `${mark} [${alert.status.toUpperCase()}] ${alert.labels.alertname} (${alert.labels.severity}) on ${alert.labels.instance ?? 'fsdr'}`;
  return { text: `${head}\n*${alert.annotations.summary}*\n${alert.annotations.description}` };
}
