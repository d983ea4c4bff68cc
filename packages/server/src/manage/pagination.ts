// FeatureSignals' paginated list envelope {data, total, limit, offset, has_more} over one query.
import type pg from 'pg';
import { pageEnvelope, pageOf, type Page, type PageQuery } from './schemas.js';

/** `from`: the FROM … WHERE … part (parameters $1…); `order`: the ORDER BY list (stable: unique). */
export async function listPage<T = Record<string, unknown>>(pool: pg.Pool, select: string, from: string, order: string, params: unknown[], q: PageQuery): Promise<Page<T>> {
  const p = pageOf(q);
  const n = params.length;
  const [rows, count] = await Promise.all([
    pool.query(`SELECT ${select} ${from} ORDER BY ${order} LIMIT $${n + 1} OFFSET $${n + 2}`, [...params, p.limit, p.offset]),
    pool.query<{ total: string }>(`SELECT count(*) AS total ${from}`, params),
  ]);
  return pageEnvelope(rows.rows as T[], Number(count.rows[0].total), p);
}
