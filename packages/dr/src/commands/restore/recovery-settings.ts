// The settings a restored instance starts with: fsdr as restore_command, the recovery target,
// promotion at the target, the latest timeline, and the instance's own port and socket directory.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecoveryTarget } from './select-backup.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export function confValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function restoreCommand(configPath: string, repository = 'primary', asOf?: string): string {
  // An as-of restore fetches its WAL as of the same time (newer versions may be an attacker's).
  return `FSDR_CONFIG=${configPath} ${process.execPath} ${FSDR_BIN} wal-fetch --repo ${repository}${asOf ? ` --as-of ${asOf}` : ''} %f %p`;
}

export function recoverySettings(target: RecoveryTarget, opts: { configPath: string; repository: string; asOf?: string; port: number; socketDir: string; archiveOff: boolean; extra: Record<string, string> }): Record<string, string> {
  const s: Record<string, string> = {
    restore_command: restoreCommand(opts.configPath, opts.repository, opts.asOf),
    recovery_target_timeline: 'latest',
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
  if (opts.archiveOff) s.archive_mode = 'off';
  return { ...s, ...opts.extra };
}

export async function writeRecoveryConfig(pgdata: string, settings: Record<string, string>, note: string): Promise<void> {
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${/^\d+$/.test(v) ? v : confValue(v)}`);
  await appendFile(join(pgdata, 'postgresql.auto.conf'), `\n# ${note}\n${lines.join('\n')}\n`);
  await writeFile(join(pgdata, 'recovery.signal'), '');
}
