// The files of the prefetch spool (archive-in) beside the segments, shared by the prefetcher,
// wal-fetch and bin/fsdr-fetch.sh: the boot marker, the prefetcher's pid, PostgreSQL's position,
// and restore_command's requests with their answers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** bin/fsdr-fetch.sh reads the prefetcher's pid here to know it may ask it, or wait for it. */
export const PREFETCHER_PID = 'prefetcher.pid';
/** wal-fetch writes here the segment PostgreSQL asked for when the spool did not have it. */
export const ASKED = 'asked';
/**
 * What the spooled files are good for: `durable` (fsynced), or a boot id (Linux) — written
 * without fsync, so good only until the next reboot: a file that carries its final name but lost
 * its data in a power cut is never handed over, because the marker no longer matches.
 */
export const SPOOL_BOOT = 'boot';
const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/**
 * restore_command's request for a file the spool does not have: `<name>.want.<token>` (the
 * shell's pid). The prefetcher answers with `<name>` itself, `<name>.absent.<token>` (neither the
 * object nor a streamed partial of it is in the repository: exit 1), or `<name>.fallback.<token>`
 * (anything else — a failed check, a streamed partial, an error: the full wal-fetch decides).
 */
export const WANT = /^([0-9A-F]{24}|[0-9A-F]{8}\.history)\.want\.([0-9]{1,10})$/;
export type Answer = 'absent' | 'fallback';
export const answerFile = (name: string, token: string, a: Answer): string => `${name}.${a}.${token}`;

export function currentBoot(): string | undefined {
  try {
    const b = readFileSync(BOOT_ID, 'utf8').trim();
    return /^[0-9a-f-]{8,64}$/.test(b) ? b : undefined;
  } catch {
    return undefined;
  }
}

/** True when the files spooled in `dir` may be handed over in this boot. */
export function spoolTrusted(dir: string): boolean {
  let marker: string;
  try {
    marker = readFileSync(join(dir, SPOOL_BOOT), 'utf8').trim();
  } catch {
    return false;
  }
  return marker === 'durable' || (marker.length > 0 && marker === currentBoot());
}

/** True while the instance in `pgdata` runs and is still recovering (a signal file is there). */
export function stillRecovering(pgdata: string): boolean {
  if (!existsSync(join(pgdata, 'recovery.signal')) && !existsSync(join(pgdata, 'standby.signal'))) return false;
  let pid: number;
  try {
    pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
