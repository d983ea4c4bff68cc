// What the server's settings say about archiving and failback, judged without touching anything
// (pure, unit-tested): archive_mode, archive_command, wal_level, wal_log_hints / data checksums.
import { resolve } from 'node:path';
import { fail, ok, warn, type CheckResult } from './result.js';

export interface ServerSettings {
  archive_mode: string;
  archive_command: string;
  /** PostgreSQL 15+: when set, it archives and archive_command is ignored. */
  archive_library?: string;
  wal_level: string;
  wal_log_hints: string;
  data_checksums: string;
}

export const SETTINGS_SQL = `SELECT name, setting FROM pg_settings
  WHERE name IN ('archive_mode', 'archive_command', 'archive_library', 'wal_level', 'wal_log_hints', 'data_checksums')`;

export function archiveModeCheck(s: ServerSettings): CheckResult {
  if (s.archive_mode === 'on' || s.archive_mode === 'always') return ok('archive_mode', s.archive_mode);
  return fail('archive_mode', `archive_mode is ${s.archive_mode}: no WAL reaches the repository, so there is no point-in-time recovery`,
    "ALTER SYSTEM SET archive_mode = on, then restart PostgreSQL (it is read only at start)");
}

/** The config file an archive_command names (FSDR_CONFIG=… or --config …), if it names one. */
export function configOfCommand(cmd: string): string | undefined {
  const value = `(?:'([^']*)'|"([^"]*)"|(\\S+))`;
  const m = new RegExp(`(?:^|\\s)FSDR_CONFIG=${value}`).exec(cmd) ?? new RegExp(`(?:^|\\s)(?:--config[= ]|-c )${value}`).exec(cmd);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

export function archiveCommandCheck(s: ServerSettings, configSource: string): CheckResult {
  const check = 'archive_command';
  if (s.archive_library) {
    return fail(check, `archive_library is ${s.archive_library}: PostgreSQL archives through it and ignores archive_command`, "ALTER SYSTEM RESET archive_library; set archive_command = 'fsdr wal-push %p'");
  }
  const cmd = s.archive_command.trim();
  if (!cmd || cmd === '(disabled)') return fail(check, 'archive_command is empty: PostgreSQL keeps WAL and archives nothing', "ALTER SYSTEM SET archive_command = 'FSDR_CONFIG=/etc/fsdr.yaml fsdr wal-push %p'; SELECT pg_reload_conf()");
  if (!/fsdr/.test(cmd) || !/\bwal-push\b/.test(cmd) || !/%p/.test(cmd)) {
    return warn(check, `${cmd} does not look like fsdr wal-push %p`, 'fine if it calls fsdr wal-push through a wrapper; otherwise WAL does not reach the fsdr repository');
  }
  const named = configOfCommand(cmd);
  if (named && resolve(named) !== configSource) {
    return warn(check, `${cmd} uses config ${named}, this check read ${configSource}`, 'run fsdr check with the config archive_command uses, or make them one file');
  }
  return ok(check, cmd);
}

export function walLevelCheck(s: ServerSettings): CheckResult {
  if (s.wal_level === 'replica' || s.wal_level === 'logical') return ok('wal_level', s.wal_level);
  return fail('wal_level', `wal_level is ${s.wal_level}: WAL cannot restore a base backup or feed a standby`, 'ALTER SYSTEM SET wal_level = replica, then restart PostgreSQL');
}

export function failbackCheck(s: ServerSettings): CheckResult {
  const check = 'failback (pg_rewind)';
  if (s.data_checksums === 'on') return ok(check, 'data checksums are on');
  if (s.wal_log_hints === 'on') return ok(check, 'wal_log_hints is on');
  return warn(check, 'neither wal_log_hints nor data checksums: pg_rewind cannot rejoin the old primary after a failover, it must be re-seeded from a backup',
    'ALTER SYSTEM SET wal_log_hints = on, then restart PostgreSQL (or enable checksums with pg_checksums while stopped)');
}
