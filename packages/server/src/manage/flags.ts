// Management: flags (project-scoped), per-environment flag state, the kill switch, and segments.
// Every mutation validates first, then writes the change and its audit row in one transaction.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { badRequest, notFound } from '../errors.js';
import { inTx, parse, type AppContext } from '../http/context.js';
import { writeAudit } from './audit.js';
import { listPage } from './pagination.js';
import type { PageQuery } from './schemas.js';
import { defaultValueProblem, flagBody, flagState, flagUpdate, killBody, segmentBody, segmentUpdate, typeDefault } from './schemas.js';

type P = { Params: { projectID: string; flagKey: string; envID: string; segmentKey: string } };
/** A state's default_value: null or absent is SQL NULL (the flag's default applies). */
const J = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
/** A flag's default_value is never SQL NULL: JSON null (an ab flag may have it, as in FS) is stored as jsonb 'null'. */
const flagDefault = (v: unknown): string => JSON.stringify(v ?? null);

async function project(tx: pg.ClientBase, id: string): Promise<{ id: string; org_id: string }> {
  const p = (await tx.query<{ id: string; org_id: string }>('SELECT id, org_id FROM projects WHERE id = $1', [id])).rows[0];
  if (!p) throw notFound('project');
  return p;
}

async function flagRow(tx: pg.Pool | pg.ClientBase, projectId: string, key: string, lock = false): Promise<Record<string, unknown> & { id: string; org_id: string }> {
  const f = (await tx.query(`SELECT * FROM flags WHERE project_id = $1 AND key = $2 ${lock ? 'FOR UPDATE' : ''}`, [projectId, key])).rows[0];
  if (!f) throw notFound(`flag "${key}"`);
  return f;
}

export function flagRoutes(app: FastifyInstance, ctx: AppContext): void {
  const key = ctx.config.auditKey;

  app.post<P>('/v1/projects/:projectID/flags', async (req, reply) => {
    const b = parse(flagBody, req.body);
    const defaultValue = b.default_value === undefined ? typeDefault(b.flag_type) : b.default_value;
    const problem = defaultValueProblem(b.flag_type, defaultValue);
    if (problem) throw badRequest(problem);
    const out = await inTx(ctx.pool, async (tx) => {
      const p = await project(tx, req.params.projectID);
      const f = (await tx.query(
        `INSERT INTO flags (project_id, org_id, key, name, description, flag_type, default_value, prerequisites, mutual_exclusion_group, expires_at, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [p.id, p.org_id, b.key, b.name, b.description, b.flag_type, flagDefault(defaultValue), b.prerequisites, b.mutual_exclusion_group, b.expires_at, b.status])).rows[0];
      await writeAudit(tx, key, { orgId: p.org_id, actor: 'admin', action: 'flag.created', resourceType: 'flag', resourceId: f.id, before: null, after: f });
      return f;
    });
    return reply.code(201).send(out);
  });

  app.get<P & { Querystring: PageQuery }>('/v1/projects/:projectID/flags', async (req) =>
    listPage(ctx.pool, '*', 'FROM flags WHERE project_id = $1', 'key', [req.params.projectID], req.query));

  app.get<P>('/v1/projects/:projectID/flags/:flagKey', async (req) => {
    const f = await flagRow(ctx.pool, req.params.projectID, req.params.flagKey);
    const states = (await ctx.pool.query('SELECT * FROM flag_states WHERE flag_id = $1', [f.id])).rows;
    return { ...f, states };
  });

  app.put<P>('/v1/projects/:projectID/flags/:flagKey', async (req) => {
    const b = parse(flagUpdate, req.body);
    return inTx(ctx.pool, async (tx) => {
      const before = await flagRow(tx, req.params.projectID, req.params.flagKey, true);
      const merged = { ...before, ...b };
      const problem = b.flag_type !== undefined || b.default_value !== undefined ? defaultValueProblem(merged.flag_type as NonNullable<typeof b.flag_type>, merged.default_value) : undefined;
      if (problem) throw badRequest(problem);
      const f = (await tx.query(
        `UPDATE flags SET name = $2, description = $3, flag_type = $4, default_value = $5, prerequisites = $6,
           mutual_exclusion_group = $7, expires_at = $8, status = $9, updated_at = now() WHERE id = $1 RETURNING *`,
        [before.id, merged.name, merged.description, merged.flag_type, flagDefault(merged.default_value), merged.prerequisites,
          merged.mutual_exclusion_group, merged.expires_at, merged.status])).rows[0];
      await writeAudit(tx, key, { orgId: before.org_id, actor: 'admin', action: 'flag.updated', resourceType: 'flag', resourceId: f.id, before, after: f });
      return f;
    });
  });

  app.delete<P>('/v1/projects/:projectID/flags/:flagKey', async (req, reply) => {
    await inTx(ctx.pool, async (tx) => {
      const before = await flagRow(tx, req.params.projectID, req.params.flagKey, true);
      await tx.query('DELETE FROM flags WHERE id = $1', [before.id]);
      await writeAudit(tx, key, { orgId: before.org_id, actor: 'admin', action: 'flag.deleted', resourceType: 'flag', resourceId: before.id, before, after: null });
    });
    return reply.code(204).send();
  });

  app.put<P>('/v1/projects/:projectID/flags/:flagKey/environments/:envID', async (req) => {
    const b = parse(flagState, req.body);
    return inTx(ctx.pool, async (tx) => {
      const f = await flagRow(tx, req.params.projectID, req.params.flagKey, true);
      const env = (await tx.query('SELECT id FROM environments WHERE id = $1 AND project_id = $2', [req.params.envID, req.params.projectID])).rows[0];
      if (!env) throw notFound('environment');
      const before = (await tx.query('SELECT * FROM flag_states WHERE flag_id = $1 AND env_id = $2', [f.id, env.id])).rows[0] ?? null;
      const m = { enabled: false, default_value: null, rules: [], percentage_rollout: 0, variants: [], scheduled_enable_at: null, scheduled_disable_at: null, ...before, ...b };
      const s = (await tx.query(
        `INSERT INTO flag_states (flag_id, env_id, org_id, enabled, default_value, rules, percentage_rollout, variants, scheduled_enable_at, scheduled_disable_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (flag_id, env_id) DO UPDATE SET enabled = EXCLUDED.enabled, default_value = EXCLUDED.default_value, rules = EXCLUDED.rules,
           percentage_rollout = EXCLUDED.percentage_rollout, variants = EXCLUDED.variants, scheduled_enable_at = EXCLUDED.scheduled_enable_at,
           scheduled_disable_at = EXCLUDED.scheduled_disable_at, updated_at = now()
         RETURNING *`,
        [f.id, env.id, f.org_id, m.enabled, J(m.default_value), JSON.stringify(m.rules), m.percentage_rollout, JSON.stringify(m.variants),
          m.scheduled_enable_at, m.scheduled_disable_at])).rows[0];
      await writeAudit(tx, key, { orgId: f.org_id, actor: 'admin', action: 'flag_state.updated', resourceType: 'flag_state', resourceId: s.id, before, after: s });
      return s;
    });
  });

  app.post<P>('/v1/projects/:projectID/flags/:flagKey/kill', async (req) => {
    const b = parse(killBody, req.body);
    return inTx(ctx.pool, async (tx) => {
      const f = await flagRow(tx, req.params.projectID, req.params.flagKey, true);
      const s = (await tx.query('UPDATE flag_states SET enabled = false, updated_at = now() WHERE flag_id = $1 AND env_id = $2 RETURNING *', [f.id, b.env_id])).rows[0];
      if (!s) throw badRequest('the flag has no state in that environment');
      await writeAudit(tx, key, { orgId: f.org_id, actor: 'admin', action: 'flag.killed', resourceType: 'flag_state', resourceId: s.id, before: null, after: s });
      return s;
    });
  });

  app.post<P>('/v1/projects/:projectID/segments', async (req, reply) => {
    const b = parse(segmentBody, req.body);
    const out = await inTx(ctx.pool, async (tx) => {
      const p = await project(tx, req.params.projectID);
      const s = (await tx.query('INSERT INTO segments (project_id, org_id, key, name, match_type, rules) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [p.id, p.org_id, b.key, b.name, b.match_type, JSON.stringify(b.rules)])).rows[0];
      await writeAudit(tx, key, { orgId: p.org_id, actor: 'admin', action: 'segment.created', resourceType: 'segment', resourceId: s.id, before: null, after: s });
      return s;
    });
    return reply.code(201).send(out);
  });

  app.get<P & { Querystring: PageQuery }>('/v1/projects/:projectID/segments', async (req) =>
    listPage(ctx.pool, '*', 'FROM segments WHERE project_id = $1', 'key', [req.params.projectID], req.query));

  const segmentRow = async (tx: pg.ClientBase, projectId: string, segKey: string) => {
    const s = (await tx.query('SELECT * FROM segments WHERE project_id = $1 AND key = $2 FOR UPDATE', [projectId, segKey])).rows[0];
    if (!s) throw notFound(`segment "${segKey}"`);
    return s;
  };

  app.put<P>('/v1/projects/:projectID/segments/:segmentKey', async (req) => {
    const b = parse(segmentUpdate, req.body);
    return inTx(ctx.pool, async (tx) => {
      const before = await segmentRow(tx, req.params.projectID, req.params.segmentKey);
      const m = { ...before, ...b };
      const s = (await tx.query('UPDATE segments SET name = $2, match_type = $3, rules = $4, updated_at = now() WHERE id = $1 RETURNING *',
        [before.id, m.name, m.match_type, JSON.stringify(m.rules)])).rows[0];
      await writeAudit(tx, key, { orgId: before.org_id, actor: 'admin', action: 'segment.updated', resourceType: 'segment', resourceId: s.id, before, after: s });
      return s;
    });
  });

  app.delete<P>('/v1/projects/:projectID/segments/:segmentKey', async (req, reply) => {
    await inTx(ctx.pool, async (tx) => {
      const before = await segmentRow(tx, req.params.projectID, req.params.segmentKey);
      await tx.query('DELETE FROM segments WHERE id = $1', [before.id]);
      await writeAudit(tx, key, { orgId: before.org_id, actor: 'admin', action: 'segment.deleted', resourceType: 'segment', resourceId: before.id, before, after: null });
    });
    return reply.code(204).send();
  });
}
