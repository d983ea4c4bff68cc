// FeatureSignals' evaluation API (X-API-Key): POST /v1/evaluate, POST /v1/evaluate/bulk,
// GET /v1/client/{envKey}/flags, plus GET /v1/ruleset/{envKey} (ETag "<dbid>:<version>") for SDKs.
// Differences from FS are listed in packages/server/README.md ("Differences from FeatureSignals").
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { evaluate, evaluateAll, type EvalContext, type EvalResult } from '@featuresignals/sdk/eval';
import { ServerError } from '../../errors.js';
import type { AppContext } from '../context.js';
import { authenticate } from '../eval-auth.js';

// As FS (Go encoding/json with DisallowUnknownFields): unknown fields or wrong types are a 400
// "invalid request body"; missing keys are a 400 naming them. Both come before authentication.
const context = z.object({ key: z.string().default(''), attributes: z.record(z.string(), z.unknown()).nullable().optional() }).strict();
const single = z.object({ flag_key: z.string().default(''), context: context.default({ key: '' }) }).strict();
const bulk = z.object({ flag_keys: z.array(z.string()).nullable().default([]), context: context.default({ key: '' }) }).strict();

function body<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw ?? {});
  if (!r.success) throw new ServerError('FS_BAD_REQUEST', 400, 'invalid request body', 'send {"flag_key", "context": {"key", "attributes"}} and nothing else');
  return r.data;
}

/** FS's RequireJSON: a POST whose Content-Type does not start with application/json is a 415. */
export function requireJson(req: FastifyRequest): void {
  const ct = req.headers['content-type'] ?? '';
  if (!ct.startsWith('application/json')) throw new ServerError('FS_UNSUPPORTED_MEDIA_TYPE', 415, 'Content-Type must be application/json');
}

export const rulesetEtag = (dbid: string, version: number): string => `"${dbid}:${version}"`;

const evalContext = (c: { key: string; attributes?: Record<string, unknown> | null }): EvalContext =>
  ({ key: c.key, attributes: (c.attributes ?? undefined) as EvalContext['attributes'] });

export function evaluationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/v1/evaluate') || req.url.startsWith('/v1/client/')) void reply.header('Cache-Control', 'no-store');
  });

  // Order as FS: content type (415), body (400), then the key (503 while not warm, 401, 403).
  // An unknown flag is a 200 {flag_key, value: null, reason: "NOT_FOUND"}, as FS answers.
  app.post('/v1/evaluate', { onRequest: async (req) => requireJson(req) }, async (req) => {
    const b = body(single, req.body);
    if (b.flag_key === '' || b.context.key === '') throw new ServerError('FS_BAD_REQUEST', 400, 'flag_key and context.key are required');
    const a = authenticate(ctx, req);
    const r = evaluate(a.ruleset, b.flag_key, evalContext(b.context));
    ctx.metrics.evalTotal.inc({ reason: r.reason });
    return r;
  });

  // Exactly the flags asked for: an empty (or absent) flag_keys is {} as in FS.
  app.post('/v1/evaluate/bulk', { onRequest: async (req) => requireJson(req) }, async (req) => {
    const b = body(bulk, req.body);
    if (b.context.key === '') throw new ServerError('FS_BAD_REQUEST', 400, 'context.key is required');
    const keys = b.flag_keys ?? [];
    if (keys.length > 100) throw new ServerError('FS_BAD_REQUEST', 400, 'flag_keys must contain at most 100 items');
    const a = authenticate(ctx, req);
    const out: Record<string, EvalResult> = {};
    for (const k of keys) out[k] = evaluate(a.ruleset, k, evalContext(b.context));
    // Count per reason first: one counter update per reason, not per flag.
    const byReason = new Map<string, number>();
    for (const r of Object.values(out)) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) ctx.metrics.evalTotal.inc({ reason }, n);
    return out;
  });

  app.get<{ Params: { envKey: string }; Querystring: { key?: string } }>('/v1/client/:envKey/flags', async (req) => {
    const a = authenticate(ctx, req, req.params.envKey);
    const all = evaluateAll(a.ruleset, { key: req.query.key || 'anonymous' });
    return Object.fromEntries(Object.entries(all).map(([k, r]) => [k, r.value]));
  });

  // Our addition (FS has no ruleset endpoint); FS_DISABLE_RULESET=1 removes it to imitate stock FS.
  if (ctx.config.disableRuleset) return;
  app.get<{ Params: { envKey: string } }>('/v1/ruleset/:envKey', async (req, reply) => {
    const a = authenticate(ctx, req, req.params.envKey);
    if (a.type !== 'server') throw new ServerError('FS_FORBIDDEN', 403, 'the ruleset needs a server key', 'use an fs_srv_ key');
    const etag = rulesetEtag(a.ruleset.dbid, a.ruleset.version);
    void reply.header('ETag', etag).header('Cache-Control', 'no-cache');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return a.ruleset;
  });
}
