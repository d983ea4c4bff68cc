// High-level golden-set API for drills: record through a live server (and check a second path
// agrees), then verify a later run through the server and through the SDK. A server with
// GET /v1/ruleset (ours) is cross-checked against the eval module on its rulesets; one without it
// (stock FeatureSignals, or FS_DISABLE_RULESET=1) is read only through the public API real SDKs
// call: bulk evaluation, cross-checked by value against GET /v1/client/{env}/flags.
import { FlagClient } from '@featuresignals/sdk';
import type { Ruleset } from '@featuresignals/sdk/eval';
import { compareGolden, type GoldenComparison } from './compare.js';
import { clientFlagsEvaluator, fetchSource, localEvaluator, sdkEvaluator, serverEvaluator } from './evaluators.js';
import { isRuleset, recordGolden, valuesOnly, type GoldenRecord, type GoldenSource } from './record.js';

export interface GoldenTarget {
  url: string;
  /** Server API key per environment slug. */
  keys: Record<string, string>;
  contextCount?: number;
}

const sources = (t: GoldenTarget, envs: string[]): Promise<GoldenSource[]> => Promise.all(envs.map((env) => fetchSource(t.url, env, t.keys[env])));
const publicOnly = (s: GoldenSource[]): GoldenSource[] => (s.every(isRuleset) ? s : s.map((x) => (isRuleset(x) ? { slug: x.env.slug, flagKeys: x.flags.map((f) => f.key) } : x)));

/** Records through the server; throws if the second path disagrees (§3.3). */
export async function recordFromServer(t: GoldenTarget): Promise<GoldenRecord> {
  const srcs = publicOnly(await sources(t, Object.keys(t.keys)));
  const asOf = new Date();
  const viaServer = await recordGolden(srcs, serverEvaluator(t.url, t.keys), { asOf, contextCount: t.contextCount });
  let cmp: GoldenComparison;
  let other: string;
  if (srcs.every(isRuleset)) {
    const offline = await recordGolden(srcs, localEvaluator(srcs as Ruleset[], asOf.getTime()), { asOf, contexts: viaServer.contexts });
    cmp = compareGolden(offline, viaServer);
    other = 'eval module';
  } else {
    const viaClient = await recordGolden(srcs, clientFlagsEvaluator(t.url, t.keys), { asOf, contexts: viaServer.contexts });
    cmp = compareGolden(valuesOnly(viaClient), valuesOnly(viaServer));
    other = 'client flags endpoint';
  }
  if (!cmp.equal) throw new Error(`server and ${other} disagree on ${cmp.differences.length} evaluations at capture, first: ${JSON.stringify(cmp.differences[0])}`);
  return viaServer;
}

export interface GoldenVerification { server: GoldenComparison; sdk: GoldenComparison }

/** Re-runs the golden contexts through the server (bulk) and through the SDK (local evaluation, or
 * its server-side fallback, compared by value: FS's client endpoint reports no reasons). */
export async function verifyAgainst(golden: GoldenRecord, t: GoldenTarget): Promise<GoldenVerification> {
  const srcs = await sources(t, Object.keys(golden.envs));
  const asOf = new Date();
  const viaServer = await recordGolden(srcs, serverEvaluator(t.url, t.keys), { asOf, contexts: golden.contexts });
  const clients: Record<string, FlagClient> = {};
  try {
    for (const env of Object.keys(golden.envs)) {
      clients[env] = new FlagClient({ baseURL: t.url, sdkKey: t.keys[env], envKey: env, streaming: false });
      await clients[env].ready();
    }
    const viaSdk = await recordGolden(srcs, sdkEvaluator(clients), { asOf, contexts: golden.contexts });
    const byValue = Object.values(clients).some((c) => c.evaluationMode === 'server');
    return { server: compareGolden(golden, viaServer), sdk: byValue ? compareGolden(valuesOnly(golden), valuesOnly(viaSdk)) : compareGolden(golden, viaSdk) };
  } finally {
    for (const c of Object.values(clients)) c.close();
  }
}
