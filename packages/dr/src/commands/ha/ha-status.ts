// `fsdr ha status`: the cluster as Patroni sees it (leader, members, lag, timeline, the last
// failover) plus what fsdr sees itself: whether etcd answers, and which Patroni REST APIs do. When
// etcd is down, Patroni's /cluster is only its last view, so the status says so in its first line.
import type { Config } from '../../config/load.js';
import { etcdHealthy, PatroniClient, type PatroniCluster, type PatroniHistoryEntry, type PatroniNodeState } from '../../ha/patroni-rest.js';
import { needHa } from './ha-config.js';

export interface HaMemberStatus {
  name: string;
  host: string;
  port: number;
  api: string;
  reachable: boolean;
  error?: string;
  /** leader | replica | sync_standby | … from /cluster, else this node's own role. */
  role?: string;
  state?: string;
  timeline?: number;
  lagBytes?: number | null;
  /** Seconds since this Patroni last reached the DCS. */
  dcsSecondsAgo?: number;
  failsafeActive?: boolean;
}

export interface HaStatus {
  scope: string;
  dcs: { reachable: boolean; endpoints: Array<{ host: string; ok: boolean; error?: string }> };
  leader: string | null;
  members: HaMemberStatus[];
  lastFailover?: PatroniHistoryEntry;
  ttl: number;
  /** Problems in one line each, the most important first. */
  problems: string[];
}

export async function haStatus(cfg: Config, now = () => Date.now()): Promise<HaStatus> {
  const ha = needHa(cfg);
  const endpoints = await Promise.all(ha.etcd.hosts.map(async (h) => ({ host: h, ...(await etcdHealthy(h, ha.etcd.protocol)) })));
  const dcsReachable = endpoints.some((e) => e.ok);
  const views = await Promise.all(ha.nodes.map(async (n) => {
    const client = PatroniClient.forNode(n.host, n.restApiPort);
    try {
      return { n, client, state: await client.node() as PatroniNodeState | undefined, error: undefined as string | undefined };
    } catch (err) {
      return { n, client, state: undefined, error: (err as Error).message };
    }
  }));
  let cluster: PatroniCluster | undefined;
  let history: PatroniHistoryEntry[] = [];
  for (const v of views.filter((x) => x.state)) {
    try {
      cluster = await v.client.cluster();
      history = await v.client.history().catch(() => []);
      break;
    } catch { /* try the next node */ }
  }
  const members: HaMemberStatus[] = views.map(({ n, client, state, error }) => {
    const m = cluster?.members.find((c) => c.name === n.name);
    return {
      name: n.name, host: n.host, port: n.port, api: client.baseUrl, reachable: !!state, error,
      role: m?.role ?? state?.role, state: m?.state ?? state?.state, timeline: m?.timeline ?? state?.timeline,
      lagBytes: m ? m.lag : undefined,
      dcsSecondsAgo: state?.dcsLastSeen !== undefined ? Math.max(0, Math.round(now() / 1000 - state.dcsLastSeen)) : undefined,
      failsafeActive: state?.failsafeActive,
    };
  });
  const leader = dcsReachable ? (cluster?.members.find((m) => m.role === 'leader')?.name ?? null) : null;
  const problems: string[] = [];
  if (!dcsReachable) {
    const seen = members.filter((m) => m.dcsSecondsAgo !== undefined).map((m) => `${m.name} ${m.dcsSecondsAgo}s ago`);
    const running = members.filter((m) => m.reachable && /^(master|primary|leader)$/.test(String(views.find((v) => v.n.name === m.name)?.state?.role)));
    problems.push(`DCS unreachable: no etcd endpoint answers (${endpoints.map((e) => e.error).join('; ')}); no failover can happen until it is back`
      + (seen.length ? `; Patroni last reached it: ${seen.join(', ')}` : '')
      + (running.length ? `; still primary: ${running.map((m) => m.name + (m.failsafeActive ? ' (failsafe mode)' : '')).join(', ')}` : '; no node is primary'));
  }
  if (dcsReachable && !leader) problems.push('no leader: the leader lock is free (a failover is under way, or no node can be promoted)');
  for (const m of members) {
    if (!m.reachable) problems.push(`${m.name}: Patroni REST API unreachable (${m.error})`);
    else if (m.state && m.state !== 'running' && m.state !== 'streaming') problems.push(`${m.name}: PostgreSQL ${m.state}`);
  }
  const switches = history.filter((h) => Number.isFinite(h.timeline));
  return { scope: ha.scope, dcs: { reachable: dcsReachable, endpoints }, leader, members, lastFailover: switches.at(-1), ttl: ha.ttl, problems };
}

export function formatHaStatus(s: HaStatus): string {
  const lines: string[] = [];
  if (!s.dcs.reachable) lines.push(`!! ${s.problems[0]}`);
  lines.push(`cluster ${s.scope}: leader ${s.leader ?? (s.dcs.reachable ? '(none)' : '(unknown: DCS unreachable)')}; etcd ${s.dcs.endpoints.map((e) => `${e.host} ${e.ok ? 'ok' : 'DOWN'}`).join(', ')}`);
  for (const m of s.members) {
    if (!m.reachable) { lines.push(`  ${m.name.padEnd(12)} ${m.host}:${m.port}  unreachable`); continue; }
    const lag = m.lagBytes === undefined || m.role === 'leader' ? '' : m.lagBytes === null ? '  lag unknown' : `  lag ${m.lagBytes} B`;
    lines.push(`  ${m.name.padEnd(12)} ${m.host}:${m.port}  ${String(m.role).padEnd(12)} ${String(m.state).padEnd(9)} timeline ${m.timeline ?? '?'}${lag}${m.failsafeActive ? '  failsafe' : ''}`);
  }
  if (s.lastFailover) lines.push(`last switch: timeline ${s.lastFailover.timeline} → ${s.lastFailover.timeline + 1}${s.lastFailover.at ? ` at ${s.lastFailover.at}` : ''}${s.lastFailover.newLeader ? `, new leader ${s.lastFailover.newLeader}` : ''} (${s.lastFailover.reason})`);
  for (const p of s.problems.slice(s.dcs.reachable ? 0 : 1)) lines.push(`problem: ${p}`);
  return lines.join('\n');
}
