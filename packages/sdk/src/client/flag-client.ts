// FlagClient: fetches the environment's ruleset, keeps it current over SSE (refetching after every
// reconnect, polling while the stream is down) and evaluates locally with the per-call context.
// Against a server without GET /v1/ruleset (stock FeatureSignals answers 404) it falls back to
// server-side evaluation per context: GET /v1/client/{env}/flags?key=, plus POST /v1/evaluate/bulk
// for contexts with attributes (FS's client endpoint evaluates the key alone).
import { EventEmitter } from 'node:events';
import { evaluate, evaluateAll, type EvalContext, type EvalResult, type Json, type Ruleset } from '../eval/index.js';
import { readSse } from './sse-reader.js';

export interface FlagClientOptions {
  baseURL: string;
  sdkKey: string;
  envKey: string;
  /** `local` (default): fetch the ruleset and evaluate in process. `remote`: no sync; use the
   * async evaluateRemote/evaluateBulkRemote, which exercise the server's own evaluation path. */
  mode?: 'local' | 'remote';
  streaming?: boolean;
  /** Polling interval while the stream is down (or always, without streaming). */
  pollingIntervalMs?: number;
  /** First SSE reconnect delay; doubles up to 30 s, plus 0–25 % jitter (as FS). */
  sseRetryMs?: number;
  timeoutMs?: number;
  /** Fallback mode only: contexts fetched before ready() resolves and kept current. Others are
   * fetched on first use (the getters answer the fallback until then) or with evaluateAllAsync. */
  contexts?: EvalContext[];
  /** Fallback mode: at most this many contexts are kept current (oldest dropped first). */
  maxContexts?: number;
}

/** Fallback mode reports values from GET /v1/client/{env}/flags as FS's Node SDK does: CACHED. */
export type ClientReason = EvalResult['reason'] | 'CACHED';
export type ClientResult = Omit<EvalResult, 'reason'> & { reason: ClientReason };

export interface IncarnationEvent { before: { dbid: string; version: number }; after: { dbid: string; version: number } }

export class SdkError extends Error {
  constructor(readonly code: string, message: string, readonly hint?: string) { super(message); this.name = 'SdkError'; }
}

export class FlagClient extends EventEmitter {
  private ruleset?: Ruleset;
  private etag?: string;
  private readonly opts: Required<Omit<FlagClientOptions, 'contexts'>>;
  /** Set once GET /v1/ruleset answered 404: evaluation moves to the server (see file header). */
  private fallback = false;
  private readonly watched = new Map<string, EvalContext>();
  private readonly snapshots = new Map<string, Record<string, ClientResult>>();
  private flagKeyList?: string[];
  private closed = false;
  private abort?: AbortController;
  private pollTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retries = 0;
  private streamUp = false;
  private inflight?: Promise<void>;
  private again = false;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;

  constructor(options: FlagClientOptions) {
    super();
    const { contexts, ...rest } = options;
    this.opts = { mode: 'local', streaming: true, pollingIntervalMs: 30_000, sseRetryMs: 1000, timeoutMs: 10_000, maxContexts: 1000, ...rest, baseURL: options.baseURL.replace(/\/$/, '') };
    for (const c of contexts ?? []) this.watched.set(contextId(c), c);
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
    this.on('error', () => { /* default listener: errors are also reported through ready() and getters' fallbacks */ });
    if (this.opts.mode === 'remote') { this.resolveReady(); return; }
    void this.refresh();
    if (this.opts.streaming) this.connectStream();
    this.pollTimer = setInterval(() => { if (!this.streamUp) void this.refresh(); }, this.opts.pollingIntervalMs);
    this.pollTimer.unref();
  }

  /** Resolves once the first ruleset is loaded; rejects after `timeoutMs`. */
  ready(timeoutMs = this.opts.timeoutMs): Promise<void> {
    let t: NodeJS.Timeout;
    const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new SdkError('SDK_NOT_READY', `no ruleset after ${timeoutMs} ms`, 'check baseURL, sdkKey and the server\'s /ready')), timeoutMs); });
    return Promise.race([this.readyPromise, timeout]).finally(() => clearTimeout(t));
  }

  get isReady(): boolean { return this.ruleset !== undefined || this.flagKeyList !== undefined; }
  /** `local`: evaluating a fetched ruleset; `server`: the server has no /v1/ruleset (fallback). */
  get evaluationMode(): 'local' | 'server' { return this.fallback ? 'server' : 'local'; }
  /** True while the SSE stream is connected (between `connected` and a drop). */
  get isStreaming(): boolean { return this.streamUp; }
  rulesetVersion(): number | undefined { return this.ruleset?.version; }
  dbid(): string | undefined { return this.ruleset?.dbid; }
  currentRuleset(): Ruleset | undefined { return this.ruleset; }

  /** The full result; before the first fetch, reason DEFAULT with a null value. */
  evaluate(flagKey: string, ctx: EvalContext): ClientResult {
    if (this.fallback) {
      const snap = this.snapshot(ctx);
      if (!snap) return { flag_key: flagKey, value: null, reason: 'DEFAULT' };
      return snap[flagKey] ?? { flag_key: flagKey, value: null, reason: 'NOT_FOUND' };
    }
    if (!this.ruleset) return { flag_key: flagKey, value: null, reason: 'DEFAULT' };
    return evaluate(this.ruleset, flagKey, ctx);
  }

  /** Every flag for ctx; in fallback mode {} until ctx was fetched (it is then watched). */
  evaluateAll(ctx: EvalContext): Record<string, ClientResult> {
    if (this.fallback) return { ...(this.snapshot(ctx) ?? {}) };
    return this.ruleset ? evaluateAll(this.ruleset, ctx) : {};
  }

  /** Every flag for ctx from current data: locally, or in fallback mode through the server now. */
  async evaluateAllAsync(ctx: EvalContext): Promise<Record<string, ClientResult>> {
    if (this.opts.mode === 'remote') return this.fetchContext(ctx);
    if (!this.fallback && !this.ruleset) await this.ready();
    if (!this.fallback) return evaluateAll(this.ruleset!, ctx);
    return this.fetchContext(ctx);
  }

  /** The flag keys the environment has (fallback mode: as GET /v1/client/{env}/flags lists them). */
  flagKeys(): string[] {
    if (this.fallback) return [...(this.flagKeyList ?? [])];
    return this.ruleset ? this.ruleset.flags.map((f) => f.key) : [];
  }

  /** Fallback mode: the held results for ctx; an unknown ctx is watched and fetched in the background. */
  private snapshot(ctx: EvalContext): Record<string, ClientResult> | undefined {
    const id = contextId(ctx);
    const snap = this.snapshots.get(id);
    if (!this.watched.has(id)) {
      this.watched.set(id, ctx);
      while (this.watched.size > this.opts.maxContexts) {
        const oldest = this.watched.keys().next().value as string;
        this.watched.delete(oldest);
        this.snapshots.delete(oldest);
      }
      if (!snap) void this.refresh();
    }
    return snap;
  }

  getBoolean(flagKey: string, ctx: EvalContext, fallback: boolean): boolean { return this.typed(flagKey, ctx, fallback, (v) => typeof v === 'boolean'); }
  getString(flagKey: string, ctx: EvalContext, fallback: string): string { return this.typed(flagKey, ctx, fallback, (v) => typeof v === 'string'); }
  getNumber(flagKey: string, ctx: EvalContext, fallback: number): number { return this.typed(flagKey, ctx, fallback, (v) => typeof v === 'number'); }
  getJSON<T extends Json>(flagKey: string, ctx: EvalContext, fallback: T): T { return this.typed(flagKey, ctx, fallback, (v) => v !== null && typeof v === 'object'); }

  private typed<T>(flagKey: string, ctx: EvalContext, fallback: T, ok: (v: Json) => boolean): T {
    const r = this.evaluate(flagKey, ctx);
    if (r.reason === 'NOT_FOUND' || r.reason === 'DEFAULT' || r.reason === 'ERROR' || !ok(r.value)) return fallback;
    return r.value as T;
  }

  /** Server-side evaluation of one flag (POST /v1/evaluate). */
  async evaluateRemote(flagKey: string, ctx: EvalContext): Promise<EvalResult> {
    const res = await this.post('/v1/evaluate', { flag_key: flagKey, context: ctx });
    if (res.status === 404) return { flag_key: flagKey, value: null, reason: 'NOT_FOUND' }; // servers before issue 14
    if (!res.ok) throw new SdkError('SDK_REMOTE_FAILED', `POST /v1/evaluate answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as EvalResult;
  }

  /** Server-side evaluation of these flags (POST /v1/evaluate/bulk, ≤100 per call as FS limits; none = {}). */
  async evaluateBulkRemote(ctx: EvalContext, flagKeys: string[]): Promise<Record<string, EvalResult>> {
    const out: Record<string, EvalResult> = {};
    for (let i = 0; i < flagKeys.length; i += 100) {
      const res = await this.post('/v1/evaluate/bulk', { flag_keys: flagKeys.slice(i, i + 100), context: ctx });
      if (!res.ok) throw new SdkError('SDK_REMOTE_FAILED', `POST /v1/evaluate/bulk answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      Object.assign(out, await res.json());
    }
    return out;
  }

  private post(path: string, body: unknown): Promise<Response> {
    return fetch(`${this.opts.baseURL}${path}`, { method: 'POST', headers: { 'X-API-Key': this.opts.sdkKey, 'content-type': 'application/json' },
      body: JSON.stringify(body), signal: AbortSignal.timeout(this.opts.timeoutMs) });
  }

  /** Fetches the ruleset (If-None-Match); concurrent calls coalesce into one more fetch. */
  refresh(): Promise<void> {
    if (this.inflight) { this.again = true; return this.inflight; }
    this.inflight = (async () => {
      do {
        this.again = false;
        await this.fetchOnce().catch((err: Error) => { if (!this.closed) this.emit('error', err); });
      } while (this.again && !this.closed);
    })().finally(() => { this.inflight = undefined; });
    return this.inflight;
  }

  private async fetchOnce(): Promise<void> {
    if (this.fallback) return this.fetchWatched();
    const headers: Record<string, string> = { 'X-API-Key': this.opts.sdkKey };
    if (this.etag) headers['If-None-Match'] = this.etag;
    const res = await fetch(`${this.opts.baseURL}/v1/ruleset/${encodeURIComponent(this.opts.envKey)}`, { headers, signal: AbortSignal.timeout(this.opts.timeoutMs) });
    if (res.status === 304) { await res.body?.cancel(); return; }
    if (res.status === 404) {
      // No ruleset endpoint (stock FeatureSignals): evaluate on the server from now on.
      await res.body?.cancel();
      this.fallback = true;
      this.etag = undefined;
      this.emit('fallback', { reason: 'GET /v1/ruleset answered 404' });
      return this.fetchWatched();
    }
    if (!res.ok) throw new SdkError('SDK_FETCH_FAILED', `GET /v1/ruleset answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const next = (await res.json()) as Ruleset;
    if (this.closed) return;
    const prev = this.ruleset;
    this.ruleset = next;
    this.etag = res.headers.get('etag') ?? undefined;
    // The server is the source of truth: accept its state, but report a restore (new dbid or older version).
    if (prev && (prev.dbid !== next.dbid || next.version < prev.version)) {
      this.emit('incarnation', { before: { dbid: prev.dbid, version: prev.version }, after: { dbid: next.dbid, version: next.version } } satisfies IncarnationEvent);
    }
    if (!prev) { this.resolveReady(); this.emit('ready'); }
    this.emit('update', { version: next.version, dbid: next.dbid });
  }

  /** Fallback mode: refetches every watched context (or only the flag list when none is watched). */
  private async fetchWatched(): Promise<void> {
    const list = [...this.watched.values()];
    if (list.length === 0) await this.fetchValues({ key: 'anonymous' });
    // A few at a time: each is one or two round trips.
    for (let i = 0; i < list.length; i += 8) await Promise.all(list.slice(i, i + 8).map((c) => this.fetchContext(c)));
    if (this.closed) return;
    const first = !this.isReadyOnce;
    this.isReadyOnce = true;
    if (first) { this.resolveReady(); this.emit('ready'); }
    this.emit('update', { version: undefined, dbid: undefined });
  }
  private isReadyOnce = false;

  /** GET /v1/client/{env}/flags?key= → flag key → value, as FS's SDKs fetch it; records the flag list. */
  private async fetchValues(ctx: EvalContext): Promise<Record<string, Json>> {
    const url = `${this.opts.baseURL}/v1/client/${encodeURIComponent(this.opts.envKey)}/flags?key=${encodeURIComponent(ctx.key)}`;
    const res = await fetch(url, { headers: { 'X-API-Key': this.opts.sdkKey }, signal: AbortSignal.timeout(this.opts.timeoutMs) });
    if (!res.ok) throw new SdkError('SDK_FETCH_FAILED', `GET /v1/client/${this.opts.envKey}/flags answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const values = (await res.json()) as Record<string, Json>;
    this.flagKeyList = Object.keys(values).sort();
    return values;
  }

  /** One context through the server: the client endpoint for a bare key, bulk when it has attributes. */
  private async fetchContext(ctx: EvalContext): Promise<Record<string, ClientResult>> {
    const values = await this.fetchValues(ctx);
    let out: Record<string, ClientResult>;
    if (ctx.attributes && Object.keys(ctx.attributes).length > 0) out = await this.evaluateBulkRemote(ctx, Object.keys(values));
    else out = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { flag_key: k, value: v, reason: 'CACHED' as const }]));
    const id = contextId(ctx);
    if (this.watched.has(id) && !this.closed) this.snapshots.set(id, out);
    return out;
  }

  private connectStream(): void {
    if (this.closed) return;
    const abort = (this.abort = new AbortController());
    void (async () => {
      try {
        const res = await fetch(`${this.opts.baseURL}/v1/stream/${encodeURIComponent(this.opts.envKey)}`, {
          headers: { 'X-API-Key': this.opts.sdkKey, Accept: 'text/event-stream' }, signal: abort.signal,
        });
        if (!res.ok || !res.body) throw new SdkError('SDK_STREAM_FAILED', `stream answered ${res.status}`);
        await readSse(res.body, (e) => this.onStreamEvent(e.event, e.data));
        throw new SdkError('SDK_STREAM_ENDED', 'stream ended');
      } catch (err) {
        this.streamUp = false;
        if (this.closed) return;
        this.emit('error', err);
        const base = Math.min(this.opts.sseRetryMs * 2 ** this.retries++, 30_000);
        this.retryTimer = setTimeout(() => this.connectStream(), base + Math.random() * base * 0.25);
        this.retryTimer.unref();
        void this.refresh(); // the stream is down: poll once now, then on the polling interval
      }
    })();
  }

  private onStreamEvent(event: string, data: string): void {
    let msg: { version?: number; dbid?: string; action?: string };
    try { msg = JSON.parse(data) as typeof msg; } catch { return; }
    if (event === 'connected') {
      this.streamUp = true;
      this.retries = 0;
      // Refetch after every (re)connect: changes made while the stream was down were never sent.
      if (this.fallback || `"${msg.dbid}:${msg.version}"` !== this.etag) void this.refresh();
    } else if (event === 'flag-update') {
      // Our server follows every `connected` with a flag-update for FS's SDKs (they ignore `connected`); the
      // `connected` branch above already refetched if needed, so refetching again would double each reconnect.
      if (msg.action === 'CONNECT') return;
      // Fallback mode has no version to compare (FS's payloads carry none): refetch on every update.
      if (this.fallback || !this.ruleset || msg.dbid !== this.ruleset.dbid || (msg.version ?? 0) > this.ruleset.version) void this.refresh();
    }
  }

  /** Stops streaming and polling. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort?.abort();
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.removeAllListeners();
  }
}

/** Fallback snapshots are per context: the key and its attributes, canonically ordered. */
function contextId(ctx: EvalContext): string {
  const attrs = ctx.attributes ?? {};
  return JSON.stringify([ctx.key, Object.keys(attrs).sort().filter((k) => attrs[k] !== undefined).map((k) => [k, attrs[k]])]);
}
