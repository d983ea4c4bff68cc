// A restored data directory becomes a standby: standby.signal instead of recovery.signal, so
// PostgreSQL keeps fetching WAL through restore_command (and follows new timelines, with
// recovery_target_timeline = latest) instead of promoting at the end of the archive.
import { chown, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function makeStandby(pgdata: string): Promise<void> {
  await unlink(join(pgdata, 'recovery.signal')).catch(() => undefined);
  const f = join(pgdata, 'standby.signal');
  await writeFile(f, '', { mode: 0o600 });
  const s = await stat(pgdata);
  await chown(f, s.uid, s.gid).catch(() => undefined);
}
