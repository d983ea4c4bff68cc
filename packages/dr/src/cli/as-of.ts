// --as-of parsing, kept apart so the lean wal-fetch path can use it without commander or zod.
import { FsdrError } from '../errors.js';

/** --as-of: an ISO 8601 time with a zone (a zoneless time would be read in the local zone). */
export function parseAsOf(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(v) || Number.isNaN(t)) {
    throw new FsdrError('FSDR_USAGE', `--as-of ${v} is not a time with a zone`, { hint: 'use ISO 8601 with a zone, e.g. 2026-11-27T14:05:00Z', exitCode: 2 });
  }
  return new Date(t);
}

export const AS_OF_HELP = 'read a versioned S3 repository as it was at this time (ISO 8601 with zone), e.g. from before ransomware overwrote it';
