// Typed server errors: a stable code, an HTTP status, and a hint; the HTTP layer renders them as
// FeatureSignals' `{"error","message"}` body plus `code` and `hint`. Status 0 = a start-up error, not HTTP.
export class ServerError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(message, options);
    this.name = 'ServerError';
    this.details = options?.details;
  }
  readonly details?: unknown;
}

export const badRequest = (message: string, details?: unknown): ServerError =>
  new ServerError('FS_BAD_REQUEST', 400, message, 'fix the request body; nothing was stored', { details });
export const notFound = (what: string): ServerError => new ServerError('FS_NOT_FOUND', 404, `${what} not found`);
export const unavailable = (message: string, hint?: string): ServerError => new ServerError('FS_UNAVAILABLE', 503, message, hint);
