// Maps thrown errors to FeatureSignals-shaped HTTP errors; database unavailability is 503, never 401.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { ServerError } from '../errors.js';

const PG_BAD_INPUT = new Set(['22P02', '23503', '23514', '22023', '23502', '22007', '22008']);
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001']);

export function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  if (err instanceof ZodError) {
    const msg = err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return new ServerError('FS_BAD_REQUEST', 400, msg, 'fix the request body; nothing was stored', { details: err.issues });
  }
  const e = err as FastifyError & { code?: string; detail?: string };
  if (e.code === '23505') return new ServerError('FS_CONFLICT', 409, e.detail ?? 'already exists');
  if (e.code && PG_BAD_INPUT.has(e.code)) return new ServerError('FS_BAD_REQUEST', 400, e.message, 'nothing was stored');
  if ((e.code && UNAVAILABLE_CODES.has(e.code)) || /connect|Connection terminated|timeout/i.test(e.message ?? '')) {
    return new ServerError('FS_DATABASE_UNAVAILABLE', 503, 'database unavailable', 'retry when /ready is 200', { cause: err });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ServerError(e.code ?? 'FS_BAD_REQUEST', e.statusCode, e.message);
  }
  return new ServerError('FS_INTERNAL', 500, 'internal error', undefined, { cause: err });
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const se = toServerError(err);
  if (se.status >= 500) req.log.error({ err: (err as Error).message, code: se.code }, 'request failed');
  void reply.code(se.status).header('Cache-Control', 'no-store').send({
    error: se.message, message: se.message, code: se.code, ...(se.hint ? { hint: se.hint } : {}), request_id: req.id,
  });
}
