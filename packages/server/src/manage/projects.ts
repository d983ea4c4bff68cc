// Management: projects, environments and API keys (raw key returned once, only its hash stored).
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { generateApiKey, hashApiKey, keyPrefix } from '../api-keys.js';
import { notFound } from '../errors.js';
import { inTx, parse, type AppContext } from '../http/context.js';
import { writeAudit } from './audit.js';
import { listPage } from './pagination.js';
import { createApiKey, createEnvironment, createProject, rotateApiKey, updateEnvironment, type PageQuery } from './schemas.js';

type P = { Params: { projectID: string; envID: string; keyID: string }; Querystring: PageQuery };
/** An API key as listed (never its hash), FS's field names. */
const KEY_COLUMNS = 'id, env_id, key_prefix, name, type, created_at, last_used_at, expires_at, revoked_at';

export function projectRoutes(app: FastifyInstance, ctx: AppContext): void {
  const audit = ctx.config.auditKey;

  app.post('/v1/projects', async (req, reply) => {
    const b = parse(createProject, req.body);
    const out = await inTx(ctx.pool, async (tx) => {
      const org = (await tx.query<{ id: string }>(
        `INSERT INTO organizations (slug, name) VALUES ($1, $1) ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id`, [b.org])).rows[0];
      const p = (await tx.query('INSERT INTO projects (org_id, slug, name) VALUES ($1, $2, $3) RETURNING *', [org.id, b.slug, b.name])).rows[0];
      await writeAudit(tx, audit, { orgId: org.id, actor: 'admin', action: 'project.created', resourceType: 'project', resourceId: p.id, before: null, after: p });
      return p;
    });
    return reply.code(201).send(out);
  });

  app.get<{ Querystring: PageQuery }>('/v1/projects', async (req) => listPage(ctx.pool, '*', 'FROM projects', 'slug, id', [], req.query));

  app.post<P>('/v1/projects/:projectID/environments', async (req, reply) => {
    const b = parse(createEnvironment, req.body);
    const out = await inTx(ctx.pool, async (tx) => {
      const p = (await tx.query<{ org_id: string }>('SELECT org_id FROM projects WHERE id = $1', [req.params.projectID])).rows[0];
      if (!p) throw notFound('project');
      const e = (await tx.query('INSERT INTO environments (project_id, org_id, slug, name, color) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [req.params.projectID, p.org_id, b.slug, b.name, b.color])).rows[0];
      await writeAudit(tx, audit, { orgId: p.org_id, actor: 'admin', action: 'environment.created', resourceType: 'environment', resourceId: e.id, before: null, after: e });
      return e;
    });
    return reply.code(201).send(out);
  });

  // A rename changes the ruleset's env.slug, so the trigger bumps the version and SDKs refetch.
  app.put<P>('/v1/projects/:projectID/environments/:envID', async (req) => {
    const b = parse(updateEnvironment, req.body);
    return inTx(ctx.pool, async (tx) => {
      const before = (await tx.query('SELECT * FROM environments WHERE id = $1 AND project_id = $2 FOR UPDATE', [req.params.envID, req.params.projectID])).rows[0];
      if (!before) throw notFound('environment');
      const e = (await tx.query('UPDATE environments SET name = $2, slug = $3, color = $4, updated_at = now() WHERE id = $1 RETURNING *',
        [before.id, b.name ?? before.name, b.slug ?? before.slug, b.color ?? before.color])).rows[0];
      await writeAudit(tx, audit, { orgId: before.org_id, actor: 'admin', action: 'environment.updated', resourceType: 'environment', resourceId: e.id, before, after: e });
      return e;
    });
  });

  app.get<P>('/v1/projects/:projectID/environments', async (req) =>
    listPage(ctx.pool, '*', 'FROM environments WHERE project_id = $1', 'slug', [req.params.projectID], req.query));

  const insertKey = async (tx: pg.ClientBase, envId: string, name: string, type: 'server' | 'client', expiresInDays: number | undefined, action: string, before: unknown) => {
    const env = (await tx.query<{ org_id: string }>('SELECT org_id FROM environments WHERE id = $1', [envId])).rows[0];
    if (!env) throw notFound('environment');
    const raw = generateApiKey(type);
    const row = (await tx.query(
      `INSERT INTO api_keys (env_id, org_id, key_hash, key_prefix, name, type, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(days => $7::int) END)
       RETURNING ${KEY_COLUMNS}`,
      [envId, env.org_id, hashApiKey(ctx.config.pepper, raw), keyPrefix(raw), name, type, expiresInDays ?? null])).rows[0];
    await writeAudit(tx, audit, { orgId: env.org_id, actor: 'admin', action, resourceType: 'api_key', resourceId: row.id, before, after: row });
    return { ...row, key: raw };
  };

  app.post<P>('/v1/environments/:envID/api-keys', async (req, reply) => {
    const b = parse(createApiKey, req.body);
    return reply.code(201).send(await inTx(ctx.pool, (tx) => insertKey(tx, req.params.envID, b.name, b.type, b.expires_in_days, 'api_key.created', null)));
  });

  app.get<P>('/v1/environments/:envID/api-keys', async (req) =>
    listPage(ctx.pool, KEY_COLUMNS, 'FROM api_keys WHERE env_id = $1', 'created_at, id', [req.params.envID], req.query));

  const revoke = (keyId: string, action: string) => inTx(ctx.pool, async (tx) => {
    const row = (await tx.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id, env_id, org_id, name, type, key_prefix', [keyId])).rows[0];
    if (!row) throw notFound('api key');
    await writeAudit(tx, audit, { orgId: row.org_id, actor: 'admin', action, resourceType: 'api_key', resourceId: row.id, before: row, after: null });
    return row;
  });

  app.delete<P>('/v1/api-keys/:keyID', async (req, reply) => {
    await revoke(req.params.keyID, 'api_key.revoked');
    return reply.code(204).send();
  });

  // As FS: a new key of the same type, and the old one keeps working for the grace period (its
  // expires_at moves to now + grace unless it expires sooner), then answers 401. 201
  // {key, raw_key, message}, plus old_key {id, expires_at} so a caller knows when to have switched.
  app.post<P>('/v1/api-keys/:keyID/rotate', async (req, reply) => {
    const b = parse(rotateApiKey, req.body);
    const grace = b.grace_minutes || 1440;
    const out = await inTx(ctx.pool, async (tx) => {
      const before = (await tx.query(`SELECT ${KEY_COLUMNS}, org_id FROM api_keys WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE`, [req.params.keyID])).rows[0];
      if (!before) throw notFound('api key');
      const old = (await tx.query(`UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(mins => $2::int)) WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [before.id, grace])).rows[0];
      await writeAudit(tx, audit, { orgId: before.org_id, actor: 'admin', action: 'api_key.rotated', resourceType: 'api_key', resourceId: before.id, before, after: old });
      const { key: raw, ...created } = await insertKey(tx, before.env_id, b.name ?? `${before.name} (rotated)`, before.type, undefined, 'api_key.created', null);
      return { key: created, raw_key: raw, message: `Old key will remain valid for ${grace} minutes`, old_key: { id: old.id, expires_at: old.expires_at } };
    });
    return reply.code(201).send(out);
  });

  app.get<{ Querystring: { org_id?: string; after_seq?: string } }>('/v1/audit', async (req) =>
    (await ctx.pool.query(
      `SELECT * FROM audit_logs WHERE ($1::uuid IS NULL OR org_id = $1) AND seq > $2 ORDER BY seq LIMIT 1000`,
      [req.query.org_id ?? null, Number(req.query.after_seq ?? 0)])).rows);
}
