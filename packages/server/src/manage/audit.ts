// Audit rows written in the same transaction as the change, chained per organisation with
// HMAC-SHA-256 over the values exactly as stored (canonical JSON, explicit created_at), so
// verifyAuditChain() can recompute the chain from the rows after a restore.
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { canonicalJson } from '../canonical-json.js';

export interface AuditInput {
  orgId: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  before: unknown;
  after: unknown;
}

// JSON round trip first: the row holds what JSON.stringify produced (Dates become strings).
const stored = (v: unknown): unknown => (v === undefined || v === null ? null : JSON.parse(JSON.stringify(v)));

export function auditHash(key: Buffer, prevHash: string, a: AuditInput, createdAt: string): string {
  const fields = [prevHash, a.orgId, a.action, a.resourceType, a.resourceId ?? '', a.actor,
    canonicalJson(stored(a.before)), canonicalJson(stored(a.after)), createdAt];
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
    [a.orgId, a.actor, a.action, a.resourceType, a.resourceId, JSON.stringify(stored(a.before)), JSON.stringify(stored(a.after)),
      createdAt, prevHash, auditHash(key, prevHash, a, createdAt)]);
}

export interface AuditVerification { ok: boolean; checked: number; firstBad?: { seq: number; orgId: string; reason: string } }

/** Recomputes every organisation's chain in seq order from the stored rows. */
export async function verifyAuditChain(db: pg.Pool | pg.ClientBase, key: Buffer): Promise<AuditVerification> {
  const rows = (await db.query<{ seq: string; org_id: string; actor: string; action: string; resource_type: string; resource_id: string | null;
    before_state: unknown; after_state: unknown; created_at: Date; prev_hash: string; hash: string }>('SELECT * FROM audit_logs ORDER BY seq')).rows;
  const last = new Map<string, string>();
  for (const r of rows) {
    const bad = (reason: string): AuditVerification => ({ ok: false, checked: rows.length, firstBad: { seq: Number(r.seq), orgId: r.org_id, reason } });
    if (r.prev_hash !== (last.get(r.org_id) ?? '')) return bad('prev_hash does not match the previous row of this organisation');
    const want = auditHash(key, r.prev_hash, { orgId: r.org_id, actor: r.actor, action: r.action, resourceType: r.resource_type,
      resourceId: r.resource_id, before: r.before_state, after: r.after_state }, new Date(r.created_at).toISOString());
    if (want !== r.hash) return bad('hash does not match the row (edited row or wrong audit key)');
    last.set(r.org_id, r.hash);
  }
  return { ok: true, checked: rows.length };
}
