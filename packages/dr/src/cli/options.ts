// Option parsers with the same discipline as the config schema: a value that is not what the
// option takes is a usage error (exit 2) that names the option, never a NaN passed along.
import { InvalidArgumentError } from 'commander';

export function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return Number(v);
  };
}

export const port = intIn(1, 65535);
export const seconds = intIn(1, 7 * 86400);

/** ISO 8601 with a date, a time and a zone: anything less is ambiguous for a recovery target. */
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

export function isoTime(v: string): string {
  const t = Date.parse(v.replace(' ', 'T'));
  if (!ISO.test(v.trim()) || Number.isNaN(t)) throw new InvalidArgumentError('expected an ISO 8601 time with a zone, e.g. 2026-11-27T14:05:00Z');
  return new Date(t).toISOString();
}

export function timeline(v: string): number | 'latest' | 'current' {
  if (v === 'latest' || v === 'current') return v;
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) < 2 ** 32) return Number(v);
  if (/^[0-9A-Fa-f]{8}$/.test(v)) return parseInt(v, 16);
  throw new InvalidArgumentError('expected a timeline number, latest or current');
}
