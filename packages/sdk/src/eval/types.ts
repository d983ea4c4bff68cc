// The ruleset wire format (server → SDK, FeatureSignals' snake_case names) and evaluation results.
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const FLAG_TYPES = ['boolean', 'string', 'number', 'json', 'ab'] as const;
export type FlagType = (typeof FLAG_TYPES)[number];

export const OPERATORS = ['eq', 'neq', 'contains', 'startsWith', 'endsWith', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'regex', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Condition { attribute: string; operator: string; values: string[] }

export interface Rule {
  id?: string;
  priority: number;
  description?: string;
  conditions: Condition[];
  segment_keys: string[];
  /** 'all' or 'any'; a restored FS database may hold "" (see matchAll). */
  match_type: 'all' | 'any' | string;
  /** Basis points: 10000 = everyone who matches, 0 = skip the rule. */
  percentage: number;
  value: Json;
}

export interface Variant { key: string; value: Json; weight: number }

export interface FlagDef {
  key: string;
  flag_type: FlagType;
  default_value: Json;
  prerequisites: string[];
  mutual_exclusion_group: string;
  expires_at: string | null;
}

export interface FlagState {
  flag_key: string;
  enabled: boolean;
  default_value: Json | null;
  rules: Rule[];
  percentage_rollout: number;
  variants: Variant[];
}

export interface Segment { key: string; match_type: 'all' | 'any' | string; rules: Condition[] }

export interface Ruleset {
  env: { id: string; slug: string };
  version: number;
  /** Database identity: "<system identifier>:<timeline>". */
  dbid: string;
  flags: FlagDef[];
  states: FlagState[];
  segments: Segment[];
}

export type Attributes = Record<string, Json | undefined>;
export interface EvalContext { key: string; attributes?: Attributes }

export const REASONS = ['DEFAULT', 'DISABLED', 'TARGETED', 'ROLLOUT', 'FALLTHROUGH', 'NOT_FOUND', 'ERROR', 'PREREQUISITE_FAILED', 'MUTUALLY_EXCLUDED', 'VARIANT'] as const;
export type Reason = (typeof REASONS)[number];

export interface EvalResult { flag_key: string; value: Json; reason: Reason; variant_key?: string }
