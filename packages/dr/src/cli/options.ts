// Option parsers with the same discipline as the config schema: a value that is not what the
// option takes is a usage error (exit 2) that names the option, never a NaN passed along.
import { InvalidArgumentError, type Command } from 'commander';

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

/**
 * The recovery target options restore and recover share (one definition, so a renamed or added
 * target cannot reach one command and not the other); `target()` in backup-commands reads them.
 */
export function addRecoveryTargetOptions(c: Command): Command {
  return c
    .option('--target-time <time>', 'recover to this time (ISO 8601 with a zone), inclusive', isoTime)
    .option('--target-lsn <lsn>', 'recover to this LSN')
    .option('--target-xid <xid>', 'recover to this transaction id')
    .option('--target-name <name>', 'recover to a restore point made with pg_create_restore_point()')
    .option('--target-immediate', 'stop as soon as the backup is consistent')
    .option('--latest', 'recover everything archived (the default); fails if the archive has a hole or recovery stops short')
    .option('--accept-gap', 'with --latest: recover only up to a hole in the archive, knowingly')
    .option('--target-timeline <tli>', 'follow this timeline (a number, latest or current); needed when two timelines continue', timeline)
    .option('--backup <id>', 'start from this backup (default: the newest that ends before the target)')
    .option('--repo <name>', 'repository to restore from', 'primary');
}
