// The settings a restored instance starts with: fsdr as restore_command, the recovery target,
// promotion at the target, the timeline, the instance's own port and socket directory, and no
// archiving unless asked (a copy must never write into the production repository).
// Settings a backup carries from an earlier restore or standby (its own recovery target, port,
// archive_mode = off, primary_conninfo) are commented out, as pgBackRest does, so a restore of a
// restore recovers as far as the first did not.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecoveryTarget } from './select-backup.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export function confValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** POSIX shell single-quoting: PostgreSQL runs restore_command through /bin/sh. */
export function shQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

const FETCH_SH = fileURLToPath(new URL('../../../../bin/fsdr-fetch.sh', import.meta.url));

/** archive.async: the prefetcher's archive-in directory, and how long to wait for a segment in flight. */
export interface FastIn {
  dir: string;
  waitSeconds: number;
}

/**
 * fsdr as restore_command. With `fastIn` bin/fsdr-fetch.sh hands over a segment the prefetcher
 * already checked (or has in flight) without a Node start, and runs the full wal-fetch for
 * anything else.
 */
export function restoreCommand(configPath: string, repository = 'primary', asOf?: string, fastIn?: FastIn): string {
  // An as-of restore fetches its WAL as of the same time (newer versions may be an attacker's).
  const args = `wal-fetch --repo ${shQuote(repository)}${asOf ? ` --as-of ${shQuote(asOf)}` : ''}`;
  if (fastIn && !asOf) return `${shQuote(FETCH_SH)} -w ${Math.max(0, Math.floor(fastIn.waitSeconds))} ${shQuote(fastIn.dir)} %f %p ${shQuote(process.execPath)} ${shQuote(FSDR_BIN)} --config ${shQuote(configPath)} ${args}`;
  return `FSDR_CONFIG=${shQuote(configPath)} ${shQuote(process.execPath)} ${shQuote(FSDR_BIN)} ${args} %f %p`;
}

/** Settings that only mean something during recovery, or that tie an instance to its source. */
const STALE = /^(restore_command|recovery_target\w*|recovery_end_command|archive_cleanup_command|primary_conninfo|primary_slot_name|promote_trigger_file|archive_mode|port|unix_socket_directories)$/;
/** What may outlive recovery and make a later recovery of this instance's backups stop early. */
export const RECOVERY_ONLY = /^(restore_command|recovery_target\w*)$/;

export function recoverySettings(target: RecoveryTarget, opts: { configPath: string; repository: string; asOf?: string; fastIn?: FastIn; port: number; socketDir: string; archive: boolean; timeline: string; extra: Record<string, string> }): Record<string, string> {
  const s: Record<string, string> = {
    restore_command: restoreCommand(opts.configPath, opts.repository, opts.asOf, opts.fastIn),
    recovery_target_timeline: opts.timeline,
    port: String(opts.port),
    unix_socket_directories: opts.socketDir,
  };
  if (target.kind === 'immediate') s.recovery_target = 'immediate';
  // PostgreSQL's GUC parser rejects ISO 8601's 'T' and 'Z': write '2026-11-27 14:05:00.000+00'.
  else if (target.kind === 'time') s.recovery_target_time = target.value.replace('T', ' ').replace(/Z$/, '+00');
  else if (target.kind !== 'latest') s[`recovery_target_${target.kind}`] = target.value;
  if (target.kind !== 'latest') {
    s.recovery_target_action = 'promote';
  }
  if (!opts.archive) s.archive_mode = 'off';
  return { ...s, ...opts.extra };
}

/** Comment out every active line of postgresql.auto.conf whose setting matches `drop`. */
export function commentOut(text: string, drop: (name: string) => boolean, why: string): string {
  return text.split('\n').map((line) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?/.exec(line);
    return m && !line.trimStart().startsWith('#') && drop(m[1]!.toLowerCase()) ? `# ${line}  # ${why}` : line;
  }).join('\n');
}

async function readAutoConf(pgdata: string): Promise<string> {
  return readFile(join(pgdata, 'postgresql.auto.conf'), 'utf8').catch(() => '');
}

export async function writeRecoveryConfig(pgdata: string, settings: Record<string, string>, note: string): Promise<void> {
  const mine = new Set(Object.keys(settings).map((k) => k.toLowerCase()));
  const old = commentOut(await readAutoConf(pgdata), (k) => STALE.test(k) || mine.has(k), 'fsdr restore: from the source');
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${/^\d+$/.test(v) ? v : confValue(v)}`);
  await writeFile(join(pgdata, 'postgresql.auto.conf'), `${old.replace(/\n*$/, '\n')}\n# ${note}\n${lines.join('\n')}\n`, { mode: 0o600 });
  await writeFile(join(pgdata, 'recovery.signal'), '', { mode: 0o600 });
}

/** After promotion: the recovery target and restore_command must not travel into this instance's backups. */
export async function retireRecoveryConfig(pgdata: string): Promise<void> {
  const text = await readAutoConf(pgdata);
  const next = commentOut(text, (k) => RECOVERY_ONLY.test(k), 'fsdr restore: recovery finished');
  if (next !== text) await writeFile(join(pgdata, 'postgresql.auto.conf'), next);
}
