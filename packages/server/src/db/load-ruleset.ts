// Reads one environment's ruleset (flags, states, segments, config_version) in a single
// REPEATABLE READ snapshot, so the ruleset is consistent with the version it carries.
import type pg from 'pg';
import type { FlagDef, FlagState, Ruleset, Segment } from '@featuresignals/sdk/eval';

export interface EnvRow { id: string; slug: string; project_id: string; org_id: string; config_version: string }

export async function listEnvVersions(db: pg.Pool | pg.ClientBase): Promise<Map<string, number>> {
  const r = await db.query<{ id: string; v: string }>('SELECT id, config_version AS v FROM environments');
  return new Map(r.rows.map((x) => [x.id, Number(x.v)]));
}

/** Returns undefined when the environment no longer exists. */
export async function loadRuleset(pool: pg.Pool, envId: string, dbid: string): Promise<Ruleset | undefined> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const env = (await c.query<EnvRow>('SELECT id, slug, project_id, org_id, config_version FROM environments WHERE id = $1', [envId])).rows[0];
    if (!env) {
      await c.query('COMMIT');
      return undefined;
    }
    const flags = await c.query<FlagDef & { expires_at: Date | null }>(
      `SELECT key, flag_type, default_value, prerequisites, mutual_exclusion_group, expires_at
         FROM flags WHERE project_id = $1 ORDER BY key`, [env.project_id]);
    const states = await c.query<FlagState>(
      `SELECT f.key AS flag_key, s.enabled, s.default_value, s.rules, s.percentage_rollout, s.variants
         FROM flag_states s JOIN flags f ON f.id = s.flag_id WHERE s.env_id = $1 ORDER BY f.key`, [envId]);
    const segments = await c.query<Segment>('SELECT key, match_type, rules FROM segments WHERE project_id = $1 ORDER BY key', [env.project_id]);
    await c.query('COMMIT');
    // Sorted here by code point, not by the cluster's collation, so a restore into a cluster with
    // another locale yields the same ruleset (and the same golden ruleset digest).
    const byKey = <T>(k: (x: T) => string) => (a: T, b: T) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0);
    return {
      env: { id: env.id, slug: env.slug },
      version: Number(env.config_version),
      dbid,
      flags: flags.rows.map((f) => ({ ...f, expires_at: f.expires_at ? new Date(f.expires_at).toISOString() : null })).sort(byKey((f) => f.key)),
      states: states.rows.sort(byKey((x) => x.flag_key)),
      segments: segments.rows.sort(byKey((x) => x.key)),
    };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

export interface KeyRow { key_hash: string; env_id: string; type: 'server' | 'client'; expires_at: Date | null }

export async function loadApiKeys(db: pg.Pool | pg.ClientBase, keyHash?: string): Promise<KeyRow[]> {
  const r = await db.query<KeyRow>(
    `SELECT key_hash, env_id, type, expires_at FROM api_keys WHERE revoked_at IS NULL ${keyHash ? 'AND key_hash = $1' : ''}`,
    keyHash ? [keyHash] : []);
  return r.rows;
}
