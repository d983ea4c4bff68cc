// Prometheus metrics (workload §2.5), one registry per server so several servers can share a process.
import { Counter, Gauge, Registry } from 'prom-client';
import type { FlagCache } from './cache/flag-cache.js';
import type { SseHub } from './sse-hub.js';

export interface ServerMetrics { registry: Registry; evalTotal: Counter<'reason'> }

export function createMetrics(cache: FlagCache, hub: SseHub): ServerMetrics {
  const registry = new Registry();
  const evalTotal = new Counter({ name: 'fs_eval_total', help: 'Evaluations served over HTTP, by reason', labelNames: ['reason'] as const, registers: [registry] });
  new Gauge({ name: 'fs_ruleset_version', help: 'Cached ruleset version per environment', labelNames: ['env'] as const, registers: [registry],
    collect() { this.reset(); for (const rs of cache.envs.values()) this.set({ env: rs.env.slug }, rs.version); } });
  // 1 when the cache is warm and LISTEN is up: the part of readiness that needs no round trip.
  new Gauge({ name: 'fs_ready', help: 'Cache warm and LISTEN connected (0/1)', registers: [registry], collect() { this.set(cache.warm && cache.listening ? 1 : 0); } });
  new Gauge({ name: 'fs_sse_clients', help: 'Connected SSE streams', registers: [registry], collect() { this.set(hub.count()); } });
  const warm = new Gauge({ name: 'fs_cache_warm_seconds', help: 'Duration of the last full warm-up', registers: [registry] });
  const notify = new Counter({ name: 'fs_notify_received_total', help: 'NOTIFY messages received', labelNames: ['channel'] as const, registers: [registry] });
  const resync = new Counter({ name: 'fs_resync_reloads_total', help: 'Environments reloaded by a version resync', labelNames: ['why'] as const, registers: [registry] });
  cache.on('warmed', (s: number) => warm.set(s));
  cache.on('notify', (channel: string) => notify.inc({ channel }));
  cache.on('resync-reload', (why: string) => resync.inc({ why }));
  return { registry, evalTotal };
}
