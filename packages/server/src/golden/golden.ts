// High-level golden-set API for drills: record through a live server (and check the eval module
// agrees), then verify a later run through the server and through the SDK.
import { FlagClient } from '@featuresignals/sdk';
import { compareGolden, type GoldenComparison } from './compare.js';
import { fetchRuleset, localEvaluator, sdkEvaluator, serverEvaluator } from './evaluators.js';
import { recordGolden, type GoldenRecord } from './record.js';

export interface GoldenTarget {
  url: string;
  /** Server API key per environment slug. */
  keys: Record<string, string>;
  contextCount?: number;
}

/** Records through the server; throws if the eval module on the fetched rulesets disagrees (§3.3). */
export async function recordFromServer(t: GoldenTarget): Promise<GoldenRecord> {
  const rulesets = await Promise.all(Object.entries(t.keys).map(([env, key]) => fetchRuleset(t.url, env, key)));
  const asOf = new Date();
  const viaServer = await recordGolden(rulesets, serverEvaluator(t.url, t.keys), { asOf, contextCount: t.contextCount });
  const offline = await recordGolden(rulesets, localEvaluator(rulesets, asOf.getTime()), { asOf, contexts: viaServer.contexts });
  const cmp = compareGolden(offline, viaServer);
  if (!cmp.equal) throw new Error(`server and eval module disagree on ${cmp.differences.length} evaluations at capture, first: ${JSON.stringify(cmp.differences[0])}`);
  return viaServer;
}

export interface GoldenVerification { server: GoldenComparison; sdk: GoldenComparison }

/** Re-runs the golden contexts through the server (bulk) and through the SDK (local evaluation). */
export async function verifyAgainst(golden: GoldenRecord, t: GoldenTarget): Promise<GoldenVerification> {
  const rulesets = await Promise.all(Object.keys(golden.envs).map((env) => fetchRuleset(t.url, env, t.keys[env])));
  const asOf = new Date();
  const viaServer = await recordGolden(rulesets, serverEvaluator(t.url, t.keys), { asOf, contexts: golden.contexts });
  const clients: Record<string, FlagClient> = {};
  try {
    for (const env of Object.keys(golden.envs)) {
      clients[env] = new FlagClient({ baseURL: t.url, sdkKey: t.keys[env], envKey: env, streaming: false });
      await clients[env].ready();
    }
    const viaSdk = await recordGolden(rulesets, sdkEvaluator(clients), { asOf, contexts: golden.contexts });
    return { server: compareGolden(golden, viaServer), sdk: compareGolden(golden, viaSdk) };
  } finally {
    for (const c of Object.values(clients)) c.close();
  }
}
