// archive.async: wal-push answers PostgreSQL from the spool, so a spool the server's user cannot
// write fails every archive_command. Checked without creating anything: run as root, creating
// the directory would hand it to root and break the archiver.
import { access, constants, lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail, ok, type CheckResult } from './result.js';

const CHECK = 'archive spool';

/** `serverUid`: the owner of cluster.pgdata (the user that runs archive_command), when known. */
export async function checkSpool(dir: string, serverUid: number | undefined): Promise<CheckResult> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st) {
    let parent = dirname(dir);
    while (!(await lstat(parent).catch(() => undefined)) && parent !== dirname(parent)) parent = dirname(parent);
    const writable = await access(parent, constants.W_OK | constants.X_OK).then(() => true, () => false);
    return writable
      ? ok(CHECK, `${dir} does not exist yet; wal-push creates it (${parent} is writable)`)
      : fail(CHECK, `${dir} does not exist and ${parent} is not writable`, 'create it owned by the PostgreSQL user, mode 0700, or set archive.spoolPath');
  }
  const hint = 'set archive.spoolPath to a directory owned by the PostgreSQL user, mode 0700';
  if (!st.isDirectory()) return fail(CHECK, `${dir} is not a directory`, hint);
  if (st.mode & 0o022) return fail(CHECK, `${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); wal-push refuses it`, hint);
  if (serverUid !== undefined && st.uid !== serverUid) return fail(CHECK, `${dir} is owned by uid ${st.uid}, PostgreSQL runs as uid ${serverUid}`, hint);
  if (!(await access(dir, constants.W_OK | constants.X_OK).then(() => true, () => false))) return fail(CHECK, `${dir} is not writable`, hint);
  return ok(CHECK, `${dir} writable`);
}
