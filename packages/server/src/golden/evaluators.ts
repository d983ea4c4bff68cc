// The three ways to produce a golden run: the eval module on fetched rulesets (expected), the live
// server's bulk endpoint (≤100 flags per call, as FS limits), and the SDK evaluating locally.
import { evaluate, type EvalResult, type Ruleset } from '@featuresignals/sdk/eval';
import type { FlagClient } from '@featuresignals/sdk';
import type { Evaluator } from './record.js';

export function localEvaluator(rulesets: Ruleset[], now?: number): Evaluator {
  const bySlug = new Map(rulesets.map((r) => [r.env.slug, r]));
  return async (env, flags, ctx) => {
    const rs = bySlug.get(env)!;
    return Object.fromEntries(flags.map((f) => [f, evaluate(rs, f, { key: ctx.key, attributes: ctx.attributes }, { now })]));
  };
}

export function serverEvaluator(baseURL: string, keys: Record<string, string>): Evaluator {
  return async (env, flags, ctx) => {
    const out: Record<string, EvalResult> = {};
    for (let i = 0; i < flags.length; i += 100) {
      const res = await fetch(`${baseURL.replace(/\/$/, '')}/v1/evaluate/bulk`, {
        method: 'POST',
        headers: { 'X-API-Key': keys[env], 'content-type': 'application/json' },
        body: JSON.stringify({ flag_keys: flags.slice(i, i + 100), context: { key: ctx.key, attributes: ctx.attributes } }),
      });
      if (!res.ok) throw new Error(`bulk evaluate for ${env} answered ${res.status}: ${await res.text()}`);
      Object.assign(out, await res.json());
    }
    return out;
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
