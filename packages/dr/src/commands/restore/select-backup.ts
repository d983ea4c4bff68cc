// Which backup a restore starts from: the one asked for, or the newest that ended before the target.
import { FsdrError } from '../../errors.js';
import type { BackupSummary } from '../../repository/manifest.js';
import { parseLsn } from '../../postgres/lsn.js';
import { describeWindows, type RecoveryWindow } from './recovery-window.js';

export type RecoveryTarget =
  | { kind: 'latest' }
  | { kind: 'time'; value: string }
  | { kind: 'lsn'; value: string }
  | { kind: 'xid'; value: string }
  | { kind: 'name'; value: string }
  | { kind: 'immediate' };

export class TargetOutsideWindowError extends FsdrError {
  constructor(what: string, windows: RecoveryWindow[]) {
    super('FSDR_TARGET_OUTSIDE_WINDOW', `${what} is outside the recoverable window (${describeWindows(windows)})`, {
      hint: 'choose a target inside the window, or --latest',
    });
  }
}

export function selectBackup<B extends BackupSummary>(backups: B[], target: RecoveryTarget, windows: RecoveryWindow[], requested?: string): B {
  if (!backups.length) throw new FsdrError('FSDR_NO_BACKUP', 'the repository holds no complete backup', { hint: 'take one with fsdr backup' });
  if (requested) {
    const b = backups.find((x) => x.id === requested);
    if (!b) throw new FsdrError('FSDR_BACKUP_UNKNOWN', `no complete backup ${requested}`, { hint: `backups: ${backups.map((x) => x.id).join(', ')}` });
    if (target.kind === 'time' && Date.parse(target.value) < Date.parse(b.stopTime)) {
      throw new TargetOutsideWindowError(`target time ${target.value} is before the end of backup ${b.id} (${b.stopTime}); it`, windows);
    }
    return b;
  }
  if (target.kind === 'time') {
    const t = Date.parse(target.value);
    const latest = Math.max(...windows.map((w) => Date.parse(w.latest)), 0);
    const candidates = backups.filter((b) => Date.parse(b.stopTime) <= t);
    if (!candidates.length || t > latest) throw new TargetOutsideWindowError(`target time ${target.value}`, windows);
    return candidates[candidates.length - 1]!;
  }
  if (target.kind === 'lsn') {
    const l = parseLsn(target.value);
    const candidates = backups.filter((b) => parseLsn(b.stopLsn) <= l);
    if (!candidates.length) throw new TargetOutsideWindowError(`target LSN ${target.value}`, windows);
    return candidates[candidates.length - 1]!;
  }
  // latest, xid, name, immediate: the newest backup; PostgreSQL finds the xid or name in the WAL after it.
  return backups[backups.length - 1]!;
}
