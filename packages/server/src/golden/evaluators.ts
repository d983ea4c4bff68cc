// The three ways to produce a golden run: the eval module on fetched rulesets (expected), the live
// server's bulk endpoint through the SDK in remote mode, and the SDK evaluating locally.
import { evaluate, type Ruleset } from '@featuresignals/sdk/eval';
import { FlagClient } from '@featuresignals/sdk';
import type { Evaluator } from './record.js';

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

export function sdkEvaluator(clients: Record<string, FlagClient>): Evaluator {
  return async (env, flags, ctx) =>
    Object.fromEntries(flags.map((f) => [f, clients[env].evaluate(f, { key: ctx.key, attributes: ctx.attributes })]));
}

export async function fetchRuleset(baseURL: string, envSlug: string, key: string): Promise<Ruleset> {
  const res = await fetch(`${baseURL.replace(/\/$/, '')}/v1/ruleset/${encodeURIComponent(envSlug)}`, { headers: { 'X-API-Key': key } });
  if (!res.ok) throw new Error(`GET /v1/ruleset/${envSlug} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Ruleset;
}
