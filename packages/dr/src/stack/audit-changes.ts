// Flag changes after a golden capture, read from the restored database's audit_logs table.
// Why the database and not GET /v1/audit: the restored database holds exactly the audit rows up
// to the recovered point (nothing later can be in it), FeatureSignals writes each row in the
// same transaction as the change it records, and reading it needs no admin token — the most
// powerful credential of the server, which a recovery check should not have to hold.
import type pg from 'pg';
import { newClient } from '../postgres/cluster.js';

export interface AuditChange {
  seq: number;
  createdAt: string;
  actor: string;
  action: string;
  resourceType: 'flag' | 'flag_state';
  flag: string | null;
  /** the environment slug for a flag_state change; null for a flag (project-wide) change */
  env: string | null;
}

const SQL = `
SELECT a.seq, a.created_at, a.actor, a.action, a.resource_type,
       coalesce(f.key, a.after_state->>'key', a.before_state->>'key') AS flag, e.slug AS env
  FROM audit_logs a
  LEFT JOIN flags f ON a.resource_type = 'flag_state' AND f.id::text = coalesce(a.after_state->>'flag_id', a.before_state->>'flag_id')
  LEFT JOIN environments e ON a.resource_type = 'flag_state' AND e.id::text = coalesce(a.after_state->>'env_id', a.before_state->>'env_id')
 WHERE a.created_at > $1 AND a.resource_type IN ('flag', 'flag_state')
 ORDER BY a.seq`;

/** Flags whose evaluation depends on another's: prerequisites and mutual-exclusion groups. */
export interface FlagLinks {
  prerequisites: Record<string, string[]>;
  groups: Record<string, string>;
}

export async function readAuditChanges(conn: pg.ClientConfig, after: Date): Promise<{ changes: AuditChange[]; links: FlagLinks }> {
  const c = newClient(conn, 'fsdr recover');
  await c.connect();
  try {
    const rows = (await c.query<{ seq: string; created_at: Date; actor: string; action: string; resource_type: 'flag' | 'flag_state'; flag: string | null; env: string | null }>(SQL, [after])).rows;
    const changes = rows.map((r) => ({ seq: Number(r.seq), createdAt: new Date(r.created_at).toISOString(), actor: r.actor, action: r.action, resourceType: r.resource_type, flag: r.flag, env: r.env }));
    const links: FlagLinks = { prerequisites: {}, groups: {} };
    for (const f of (await c.query<{ key: string; prerequisites: string[]; mutual_exclusion_group: string }>('SELECT key, prerequisites, mutual_exclusion_group FROM flags')).rows) {
      if (f.prerequisites.length) links.prerequisites[f.key] = f.prerequisites;
      if (f.mutual_exclusion_group) links.groups[f.key] = f.mutual_exclusion_group;
    }
    return { changes, links };
  } finally {
    await c.end().catch(() => undefined);
  }
}
