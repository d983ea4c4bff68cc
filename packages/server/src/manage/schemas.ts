// Management input schemas: everything is validated before any write (a bad rule stores nothing).
import { z } from 'zod';
import { FLAG_TYPES, OPERATORS, regexProblem } from '@featuresignals/sdk/eval';
import { ServerError } from '../errors.js';

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
const color = z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'must be a #RRGGBB colour');
export const createEnvironment = z.object({ name: z.string().min(1), slug, color: color.default('#6B7280') }).strict();
export const updateEnvironment = z.object({ name: z.string().min(1), slug, color }).partial().strict();
export const createApiKey = z.object({
  name: z.string().min(1),
  type: z.enum(['server', 'client']).default('server'),
  /** As FS: the key expires this many days after creation; absent = never. */
  expires_in_days: z.number().int().min(1).max(3650).optional(),
}).strict();
/** As FS: the new key's name (default "<old> (rotated)") and how long the old key keeps working
 * (minutes; absent or 0 = 1440, FS's default; at most 30 days). */
export const rotateApiKey = z.object({ name: z.string().min(1).optional(), grace_minutes: z.number().int().min(0).max(43_200).optional() }).strict();

/** FS's list query: limit (default 50, at most 100) and offset. FS clamps bad values silently;
 * here they are a 400 naming the parameter. */
export interface PageQuery { limit?: string; offset?: string }
export function pageOf(q: PageQuery): { limit: number; offset: number } {
  const int = (name: string, raw: string | undefined, dflt: number, min: number, max: number): number => {
    if (raw === undefined) return dflt;
    const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw new ServerError('FS_BAD_REQUEST', 400, `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw).slice(0, 40)})`, 'e.g. ?limit=50&offset=100');
    return n;
  };
  return { limit: int('limit', q.limit, 50, 1, 100), offset: int('offset', q.offset, 0, 0, 2_147_483_647) };
}
export interface Page<T> { data: T[]; total: number; limit: number; offset: number; has_more: boolean }
export const pageEnvelope = <T>(rows: T[], total: number, p: { limit: number; offset: number }): Page<T> =>
  ({ data: rows, total, limit: p.limit, offset: p.offset, has_more: p.offset + rows.length < total });

// The fields an update may send, without defaults: zod 4's .partial() keeps a field's .default(), so an
// update schema derived from the create schema would reset every field the caller left out.
const flagFields = {
  name: z.string().min(1),
  description: z.string(),
  flag_type: z.enum(FLAG_TYPES),
  default_value: json,
  prerequisites: z.array(slug),
  mutual_exclusion_group: z.string(),
  expires_at: z.iso.datetime({ offset: true }).nullable(),
  status: z.enum(['active', 'paused', 'rolled_out', 'deprecated', 'archived']),
};
export const flagBody = z.object({
  key: slug,
  ...flagFields,
  description: flagFields.description.default(''),
  flag_type: flagFields.flag_type.default('boolean'),
  /** Absent: FS's default for the type (typeDefault); present: must fit the type (defaultValueProblem). */
  default_value: flagFields.default_value.optional(),
  prerequisites: flagFields.prerequisites.default([]),
  mutual_exclusion_group: flagFields.mutual_exclusion_group.default(''),
  expires_at: flagFields.expires_at.default(null),
  status: flagFields.status.default('active'),
}).strict();
/** Only the fields sent change (as FS's update). */
export const flagUpdate = z.object(flagFields).partial().strict();

type FlagType = z.output<typeof flagBody>['flag_type'];
/** FS's default_value when a create omits it (handlers/flags.go defaultValueForType). */
export const typeDefault = (t: FlagType): unknown => (t === 'string' ? '' : t === 'number' ? 0 : t === 'json' ? {} : false);
/** As FS's Flag.Validate: a flag's default_value must fit its flag_type (ab takes any JSON, null included).
 * FS checks on create only; we check on update too whenever flag_type or default_value changes. */
export function defaultValueProblem(t: FlagType, v: unknown): string | undefined {
  const fits = t === 'boolean' ? typeof v === 'boolean' : t === 'string' ? typeof v === 'string'
    : t === 'number' ? typeof v === 'number' : t === 'json' ? typeof v === 'object' && v !== null : true;
  if (fits) return undefined;
  const want = t === 'boolean' ? 'a boolean' : t === 'string' ? 'a string' : t === 'number' ? 'a number' : 'an object or array';
  return `default_value: must be ${want} for ${t} flags`;
}

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

const segmentFields = { name: z.string().min(1), match_type: z.enum(['all', 'any']), rules: z.array(condition) };
export const segmentBody = z.object({
  key: slug,
  ...segmentFields,
  match_type: segmentFields.match_type.default('all'),
  rules: segmentFields.rules.default([]),
}).strict();
/** Only the fields sent change (no defaults: see flagFields). */
export const segmentUpdate = z.object(segmentFields).partial().strict();
