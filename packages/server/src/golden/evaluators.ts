// The ways to produce a golden run: the eval module on fetched rulesets (expected), the live
// server's bulk endpoint through the SDK in remote mode, the server's client endpoint
// (GET /v1/client/{env}/flags, values only), and the SDK (local evaluation, or its fallback).
import { evaluate, type Json, type Ruleset } from '@featuresignals/sdk/eval';
import { FlagClient } from '@featuresignals/sdk';
import type { Evaluator, GoldenResult, GoldenSource } from './record.js';

const base = (url: string) => url.replace(/\/$/, '');

export function localEvaluator(rulesets: Ruleset[], now?: number): Evaluator {
  const bySlug = new Map(rulesets.map((r) => [r.env.slug, r]));
  return async (env, flags, ctx) => {
    const rs = bySlug.get(env)!;
    return Object.fromEntries(flags.map((f) => [f, evaluate(rs, f, { key: ctx.key, attributes: ctx.attributes }, { now })]));
  };
}

/** The live server through the SDK in remote mode (bulk endpoint). */
export function serverEvaluator(baseURL: string, keys: Record<string, string>): Evaluator {
  const clients = new Map<string, FlagClient>();
  return async (env, flags, ctx) => {
    let c = clients.get(env);
    if (!c) clients.set(env, (c = new FlagClient({ baseURL, sdkKey: keys[env], envKey: env, mode: 'remote' })));
    return c.evaluateBulkRemote({ key: ctx.key, attributes: ctx.attributes }, flags);
  };
}

/** GET /v1/client/{env}/flags?key= (what FS's SDKs fetch): values for the key alone, reason CACHED. */
export function clientFlagsEvaluator(baseURL: string, keys: Record<string, string>): Evaluator {
  return async (env, flags, ctx) => {
    const values = await fetchClientFlags(baseURL, env, keys[env], ctx.key);
    return Object.fromEntries(flags.map((f): [string, GoldenResult] => [f, f in values ? { value: values[f], reason: 'CACHED' } : { value: null, reason: 'NOT_FOUND' }]));
  };
}

/** The SDK: local evaluation of its ruleset, or (no /v1/ruleset) its server-side fallback. */
export function sdkEvaluator(clients: Record<string, FlagClient>): Evaluator {
  return async (env, flags, ctx) => {
    const c = clients[env];
    const context = { key: ctx.key, attributes: ctx.attributes };
    if (c.evaluationMode === 'local') return Object.fromEntries(flags.map((f) => [f, c.evaluate(f, context)]));
    const all = await c.evaluateAllAsync(context);
    return Object.fromEntries(flags.map((f): [string, GoldenResult] => [f, all[f] ?? { value: null, reason: 'NOT_FOUND' }]));
  };
}

export async function fetchRuleset(baseURL: string, envSlug: string, key: string): Promise<Ruleset> {
  const res = await fetch(`${base(baseURL)}/v1/ruleset/${encodeURIComponent(envSlug)}`, { headers: { 'X-API-Key': key } });
  if (!res.ok) throw new Error(`GET /v1/ruleset/${envSlug} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Ruleset;
}

async function fetchClientFlags(baseURL: string, envSlug: string, key: string, userKey: string): Promise<Record<string, Json>> {
  const res = await fetch(`${base(baseURL)}/v1/client/${encodeURIComponent(envSlug)}/flags?key=${encodeURIComponent(userKey)}`, { headers: { 'X-API-Key': key } });
  if (!res.ok) throw new Error(`GET /v1/client/${envSlug}/flags answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, Json>;
}

/** The ruleset when the server serves one; on a 404 (stock FeatureSignals) the flag keys its
 * public client endpoint lists. */
export async function fetchSource(baseURL: string, envSlug: string, key: string): Promise<GoldenSource> {
  const res = await fetch(`${base(baseURL)}/v1/ruleset/${encodeURIComponent(envSlug)}`, { headers: { 'X-API-Key': key } });
  if (res.ok) return (await res.json()) as Ruleset;
  if (res.status !== 404) throw new Error(`GET /v1/ruleset/${envSlug} answered ${res.status}: ${await res.text()}`);
  await res.body?.cancel();
  return { slug: envSlug, flagKeys: Object.keys(await fetchClientFlags(baseURL, envSlug, key, 'fs-golden-flags')).sort() };
}
