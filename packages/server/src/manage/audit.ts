// Audit rows written in the same transaction as the change, chained per organisation with
// HMAC-SHA-256 over the values exactly as stored, so a verifier can recompute the chain after a restore.
import { createHmac } from 'node:crypto';
import type pg from 'pg';

export interface AuditInput {
  orgId: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  before: unknown;
  after: unknown;
}

export function auditHash(key: Buffer, prevHash: string, a: AuditInput, createdAt: string): string {
  const fields = [prevHash, a.orgId, a.action, a.resourceType, a.resourceId ?? '', a.actor,
    JSON.stringify(a.before ?? null), JSON.stringify(a.after ?? null), createdAt];
  return createHmac('sha256', key).update(fields.join('\n')).digest('hex');
}

export async function writeAudit(tx: pg.ClientBase, key: Buffer, a: AuditInput): Promise<void> {
  // One writer per org at a time, so prev_hash is the true predecessor.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [a.orgId]);
  const prev = await tx.query<{ hash: string }>('SELECT hash FROM audit_logs WHERE org_id = $1 ORDER BY seq DESC LIMIT 1', [a.orgId]);
  const prevHash = prev.rows[0]?.hash ?? '';
  const createdAt = new Date().toISOString();
  await tx.query(
    `INSERT INTO audit_logs (org_id, actor, action, resource_type, resource_id, before_state, after_state, created_at, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [a.orgId, a.actor, a.action, a.resourceType, a.resourceId, JSON.stringify(a.before ?? null), JSON.stringify(a.after ?? null),
      createdAt, prevHash, auditHash(key, prevHash, a, createdAt)]);
}
