// Management input schemas: everything is validated before any write (a bad rule stores nothing).
import { z } from 'zod';
import { FLAG_TYPES, OPERATORS, regexProblem } from '@featuresignals/sdk/eval';

const KEY = /^[a-z0-9][a-z0-9_-]{0,127}$/;
export const slug = z.string().regex(KEY, 'must match ^[a-z0-9][a-z0-9_-]{0,127}$');
const json: z.ZodType<unknown> = z.unknown().refine((v) => v !== undefined, 'required');
const bp = z.number().int().min(0).max(10000);

export const condition = z.object({
  attribute: z.string().min(1),
  operator: z.enum(OPERATORS, { message: `unknown operator; expected one of ${OPERATORS.join(', ')}` }),
  values: z.array(z.string()).default([]),
}).strict().superRefine((c, ctx) => {
  if (c.operator === 'regex') {
    const problem = c.values[0] === undefined ? 'a regex needs a pattern' : regexProblem(c.values[0]);
    if (problem) ctx.addIssue({ code: 'custom', message: `invalid regex: ${problem}`, path: ['values', 0] });
  }
});

export const rule = z.object({
  id: z.string().optional(),
  priority: z.number().int().default(0),
  description: z.string().optional(),
  conditions: z.array(condition).default([]),
  segment_keys: z.array(slug).default([]),
  match_type: z.enum(['all', 'any']).default('all'),
  percentage: bp.default(10000),
  value: json,
}).strict();

export const variant = z.object({ key: z.string().min(1), value: json, weight: bp }).strict();

export const createProject = z.object({ name: z.string().min(1), slug, org: slug.default('default') }).strict();
export const createEnvironment = z.object({ name: z.string().min(1), slug }).strict();
export const updateEnvironment = createEnvironment.partial().strict();
export const createApiKey = z.object({ name: z.string().min(1), type: z.enum(['server', 'client']).default('server') }).strict();

export const flagBody = z.object({
  key: slug,
  name: z.string().min(1),
  description: z.string().default(''),
  flag_type: z.enum(FLAG_TYPES).default('boolean'),
  default_value: json.default(false),
  prerequisites: z.array(slug).default([]),
  mutual_exclusion_group: z.string().default(''),
  expires_at: z.iso.datetime({ offset: true }).nullable().default(null),
  status: z.enum(['active', 'paused', 'rolled_out', 'deprecated', 'archived']).default('active'),
}).strict();
export const flagUpdate = flagBody.omit({ key: true }).partial().strict();

export const flagState = z.object({
  enabled: z.boolean().optional(),
  default_value: json.nullable().optional(),
  rules: z.array(rule).optional(),
  percentage_rollout: bp.optional(),
  variants: z.array(variant).optional(),
  scheduled_enable_at: z.iso.datetime({ offset: true }).nullable().optional(),
  scheduled_disable_at: z.iso.datetime({ offset: true }).nullable().optional(),
}).strict().superRefine((s, ctx) => {
  if (s.variants && s.variants.length > 0) {
    const sum = s.variants.reduce((a, v) => a + v.weight, 0);
    if (sum !== 10000) ctx.addIssue({ code: 'custom', message: `variant weights must sum to 10000 (got ${sum})`, path: ['variants'] });
  }
});

export const killBody = z.object({ env_id: z.uuid() }).strict();

export const segmentBody = z.object({
  key: slug,
  name: z.string().min(1),
  match_type: z.enum(['all', 'any']).default('all'),
  rules: z.array(condition).default([]),
}).strict();
export const segmentUpdate = segmentBody.omit({ key: true }).partial().strict();
