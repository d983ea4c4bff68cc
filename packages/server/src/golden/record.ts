// Records every environment × flag × context evaluation as sorted lines and digests them:
// sha256 per flag, per environment (over its flag digests) and overall (workload §3.2).
import { createHash } from 'node:crypto';
import type { EvalResult, Ruleset } from '@featuresignals/sdk/eval';
import { canonicalJson } from '../canonical-json.js';
import { generateContexts, type GoldenContext } from './contexts.js';

/** The result columns a golden line holds (the SDK's fallback mode reports reason CACHED). */
export type GoldenResult = Pick<EvalResult, 'value' | 'variant_key'> & { reason: string };

/** Evaluates these flags for one context in one environment (locally, over HTTP, or via the SDK). */
export type Evaluator = (envSlug: string, flagKeys: string[], ctx: GoldenContext) => Promise<Record<string, GoldenResult>>;

/** An environment of a server without GET /v1/ruleset (stock FeatureSignals): only what the public
 * API real SDKs call tells, the flag keys of GET /v1/client/{env}/flags. */
export interface PublicEnv { slug: string; flagKeys: string[] }
export type GoldenSource = Ruleset | PublicEnv;
export const isRuleset = (s: GoldenSource): s is Ruleset => 'states' in s;

const CONCURRENCY = 8;

export const MISSING_FLAGS = ['golden-missing-1', 'golden-missing-2'];

export interface GoldenRecord {
  format: 1;
  asOf: string;
  hash: { algo: 'murmur3_x86_32'; key: 'flagKey.key'; seed: 0; buckets: 10000 };
  /** `source: 'public'`: recorded without GET /v1/ruleset; version 0, dbid and rulesetSha256 '' (unknown). */
  envs: Record<string, { version: number; dbid: string; rulesetSha256: string; flags: string[]; skipped: string[]; source?: 'ruleset' | 'public' }>;
  contexts: GoldenContext[];
  fingerprint: string;
  envDigests: Record<string, string>;
  flagDigests: Record<string, Record<string, string>>;
  /** env \t flag \t context label \t JCS(value) \t reason \t variant, sorted bytewise. */
  lines: string[];
}

const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The ruleset without ids or timestamps, canonicalised: catches corruption no context reaches. */
export function rulesetSha256(rs: Ruleset): string {
  return sha(canonicalJson({ env: rs.env.slug, flags: rs.flags, states: rs.states, segments: rs.segments }));
}

const slugOf = (s: GoldenSource): string => (isRuleset(s) ? s.env.slug : s.slug);

/** Without rulesets (public sources) the contexts carry no attributes: nothing says which matter. */
export async function recordGolden(sources: GoldenSource[], evaluator: Evaluator, opts: { contexts?: GoldenContext[]; asOf?: Date; contextCount?: number; seed?: number } = {}): Promise<GoldenRecord> {
  const asOf = opts.asOf ?? new Date();
  const contexts = opts.contexts ?? generateContexts(sources.filter(isRuleset), { count: opts.contextCount, seed: opts.seed });
  const lines: string[] = [];
  const envs: GoldenRecord['envs'] = {};
  for (const src of [...sources].sort((a, b) => byteOrder(slugOf(a), slugOf(b)))) {
    const slug = slugOf(src);
    let flags: string[];
    if (isRuleset(src)) {
      // Flags expiring within ±5 s of asOf would depend on the exact evaluation instant: skip them.
      const skipped = src.flags.filter((f) => f.expires_at && Math.abs(Date.parse(f.expires_at) - asOf.getTime()) <= 5000).map((f) => f.key);
      flags = [...src.flags.map((f) => f.key).filter((k) => !skipped.includes(k)), ...MISSING_FLAGS].sort(byteOrder);
      envs[slug] = { version: src.version, dbid: src.dbid, rulesetSha256: rulesetSha256(src), flags, skipped, source: 'ruleset' };
    } else {
      flags = [...src.flagKeys.filter((k) => !MISSING_FLAGS.includes(k)), ...MISSING_FLAGS].sort(byteOrder);
      envs[slug] = { version: 0, dbid: '', rulesetSha256: '', flags, skipped: [], source: 'public' };
    }
    // A few contexts in flight at once: over HTTP this is latency-bound; lines are sorted afterwards.
    for (let i = 0; i < contexts.length; i += CONCURRENCY) {
      const batch = contexts.slice(i, i + CONCURRENCY);
      const asked = batch.map((ctx) => (ctx.flags ? flags.filter((f) => ctx.flags!.includes(f)) : flags));
      const all = await Promise.all(batch.map((ctx, j) => (asked[j]!.length ? evaluator(slug, asked[j]!, ctx) : Promise.resolve({} as Record<string, EvalResult>))));
      batch.forEach((ctx, j) => {
        for (const f of asked[j]!) {
          const r = all[j][f] ?? { flag_key: f, value: null, reason: 'ERROR' };
          lines.push([slug, f, ctx.label, canonicalJson(r.value), r.reason, r.variant_key ?? ''].join('\t'));
        }
      });
    }
  }
  lines.sort(byteOrder);
  return { format: 1, asOf: asOf.toISOString(), hash: { algo: 'murmur3_x86_32', key: 'flagKey.key', seed: 0, buckets: 10000 }, envs, contexts, ...digest(lines), lines };
}

export function digest(lines: string[]): Pick<GoldenRecord, 'fingerprint' | 'envDigests' | 'flagDigests'> {
  const groups = new Map<string, Map<string, string[]>>();
  for (const line of lines) {
    const [env, flag] = line.split('\t', 2);
    if (!groups.has(env)) groups.set(env, new Map());
    const g = groups.get(env)!;
    if (!g.has(flag)) g.set(flag, []);
    g.get(flag)!.push(line);
  }
  const flagDigests: Record<string, Record<string, string>> = {};
  const envDigests: Record<string, string> = {};
  let overall = '';
  for (const env of [...groups.keys()].sort(byteOrder)) {
    flagDigests[env] = {};
    let envConcat = '';
    for (const flag of [...groups.get(env)!.keys()].sort(byteOrder)) {
      const d = sha(groups.get(env)!.get(flag)!.join('\n') + '\n');
      flagDigests[env][flag] = d;
      envConcat += d;
    }
    envDigests[env] = sha(envConcat);
    overall += `env:${envDigests[env]}`;
  }
  return { fingerprint: sha(overall), envDigests, flagDigests };
}

/** The record with only the value column per line (and digests over that): for comparing a path
 * that reports values without reasons, as FS's client endpoint does. */
export function valuesOnly(r: GoldenRecord): GoldenRecord {
  const lines = r.lines.map((l) => l.split('\t').slice(0, 4).join('\t')).sort(byteOrder);
  return { ...r, ...digest(lines), lines };
}
