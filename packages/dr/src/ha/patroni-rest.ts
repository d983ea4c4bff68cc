// A small client of Patroni's REST API (GET only): /patroni (this node), /cluster (every member as
// the DCS says), /history (timeline switches), /primary and /replica (the health checks HAProxy
// uses: 200 or 503). Every request is bounded; a node that does not answer is an error value,
// never a hang.

export interface PatroniNodeState {
  state: string;
  /** 'master'/'primary', 'replica', 'standby_leader'… as this Patroni reports it. */
  role: string;
  timeline?: number;
  /** Unix seconds of Patroni's last successful contact with the DCS (3.0: dcs_last_seen). */
  dcsLastSeen?: number;
  failsafeActive: boolean;
  clusterUnlocked: boolean;
  syncStandby: boolean;
  xlog?: { location?: number; replayedLocation?: number; receivedLocation?: number };
  raw: Record<string, unknown>;
}

export interface PatroniMember {
  name: string;
  role: string;
  state: string;
  host?: string;
  port?: number;
  timeline?: number;
  /** Bytes behind the leader; null when Patroni says "unknown". */
  lag: number | null;
  apiUrl?: string;
}

export interface PatroniCluster {
  members: PatroniMember[];
  failsafe?: Record<string, string>;
  paused: boolean;
}

/** One timeline switch from /history: [timeline, lsn, reason, timestamp, new_leader]. */
export interface PatroniHistoryEntry {
  timeline: number;
  lsn: number;
  reason: string;
  at?: string;
  newLeader?: string;
}

export class PatroniRequestError extends Error {
  constructor(readonly url: string, readonly status: number | undefined, message: string) {
    super(message);
  }
}

async function request(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    throw new PatroniRequestError(url, undefined, `${url}: ${why}`);
  }
}

function json(url: string, r: { status: number; body: string }): Record<string, unknown> {
  try {
    return JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    throw new PatroniRequestError(url, r.status, `${url}: answered ${r.status} with no JSON`);
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function parseNodeState(raw: Record<string, unknown>): PatroniNodeState {
  const x = (raw.xlog ?? {}) as Record<string, unknown>;
  return {
    state: String(raw.state ?? 'unknown'),
    role: String(raw.role ?? 'unknown'),
    timeline: num(raw.timeline),
    dcsLastSeen: num(raw.dcs_last_seen),
    failsafeActive: raw.failsafe_mode_is_active === true,
    clusterUnlocked: raw.cluster_unlocked === true,
    syncStandby: raw.sync_standby === true,
    xlog: raw.xlog ? { location: num(x.location), replayedLocation: num(x.replayed_location), receivedLocation: num(x.received_location) } : undefined,
    raw,
  };
}

export function parseCluster(raw: Record<string, unknown>): PatroniCluster {
  const members = Array.isArray(raw.members) ? (raw.members as Array<Record<string, unknown>>) : [];
  return {
    members: members.map((m) => ({
      name: String(m.name),
      role: String(m.role ?? 'unknown'),
      state: String(m.state ?? 'unknown'),
      host: typeof m.host === 'string' ? m.host : undefined,
      port: num(m.port),
      timeline: num(m.timeline),
      lag: num(m.lag) ?? null,
      apiUrl: typeof m.api_url === 'string' ? m.api_url : undefined,
    })),
    failsafe: raw.failsafe && typeof raw.failsafe === 'object' ? (raw.failsafe as Record<string, string>) : undefined,
    paused: raw.pause === true,
  };
}

export function parseHistory(raw: unknown): PatroniHistoryEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(Array.isArray).map((e: unknown[]) => ({
    timeline: Number(e[0]),
    lsn: Number(e[1]),
    reason: String(e[2] ?? ''),
    at: typeof e[3] === 'string' ? e[3] : undefined,
    newLeader: typeof e[4] === 'string' ? e[4] : undefined,
  }));
}

export class PatroniClient {
  constructor(readonly baseUrl: string, readonly timeoutMs = 2000) {}

  static forNode(host: string, restApiPort: number, timeoutMs?: number): PatroniClient {
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return new PatroniClient(`http://${h}:${restApiPort}`, timeoutMs);
  }

  /** GET /patroni: this node's view (answers 200 on every role while Patroni runs). */
  async node(): Promise<PatroniNodeState> {
    const url = `${this.baseUrl}/patroni`;
    return parseNodeState(json(url, await request(url, this.timeoutMs)));
  }

  async cluster(): Promise<PatroniCluster> {
    const url = `${this.baseUrl}/cluster`;
    const r = await request(url, this.timeoutMs);
    if (r.status !== 200) throw new PatroniRequestError(url, r.status, `${url}: answered ${r.status}`);
    return parseCluster(json(url, r));
  }

  async history(): Promise<PatroniHistoryEntry[]> {
    const url = `${this.baseUrl}/history`;
    const r = await request(url, this.timeoutMs);
    if (r.status !== 200) throw new PatroniRequestError(url, r.status, `${url}: answered ${r.status}`);
    return parseHistory(JSON.parse(r.body));
  }

  /** GET /primary: true on 200 (this node holds the leader lock), false on 503. */
  async isPrimary(): Promise<boolean> {
    return this.check('/primary');
  }

  /** GET /replica: true on 200 (a running, streaming replica). */
  async isReplica(): Promise<boolean> {
    return this.check('/replica');
  }

  private async check(path: string): Promise<boolean> {
    const url = `${this.baseUrl}${path}`;
    const r = await request(url, this.timeoutMs);
    if (r.status === 200) return true;
    if (r.status === 503) return false;
    throw new PatroniRequestError(url, r.status, `${url}: answered ${r.status} (expected 200 or 503)`);
  }
}

/** etcd's own health endpoint (v3.4: GET /health → {"health":"true"}). */
export async function etcdHealthy(endpoint: string, protocol: 'http' | 'https', timeoutMs = 2000): Promise<{ ok: boolean; error?: string }> {
  const url = `${protocol}://${endpoint}/health`;
  try {
    const r = await request(url, timeoutMs);
    if (r.status !== 200) return { ok: false, error: `${url}: answered ${r.status}` };
    const body = json(url, r);
    return body.health === 'true' || body.health === true ? { ok: true } : { ok: false, error: `${url}: health ${String(body.health)}` };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
