// The traffic switch by connection-string target (stack.switch kind connection-file): the file
// the application reads its DATABASE_URL from (an env file, a PgBouncer [databases] ini, ...)
// rewritten from a template with the recovered instance's address. Atomic: a temporary file in
// the same directory, fsync, rename over the old one, fsync of the directory, so a reader sees the
// old file or the new one, never half of either, and the change survives a crash.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FsdrError } from '../errors.js';

export interface ConnectionSwitch {
  path: string;
  /** the file's content before (null: there was none) and after, passwords redacted */
  old: string | null;
  new: string;
}

/** Passwords in URLs (scheme://user:pw@) and in key=value strings (password=pw) replaced. */
export function redactSecrets(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@').replace(/\b(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
}

export async function writeConnectionFile(path: string, content: string): Promise<ConnectionSwitch> {
  let old: string | null = null;
  let mode = 0o600;
  try {
    old = await readFile(path, 'utf8');
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw switchError(path, err);
  }
  const tmp = join(dirname(path), `.${basename(path)}.fsdr-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dir = await open(dirname(path), 'r');
    try { await dir.sync(); } finally { await dir.close(); }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw switchError(path, err);
  }
  return { path, old: old === null ? null : redactSecrets(old), new: redactSecrets(content) };
}

function switchError(path: string, err: unknown): FsdrError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new FsdrError('FSDR_SWITCH_FAILED', `cannot write the connection file ${path}: ${code}`, {
    hint: 'the old file is unchanged: check the directory exists and is writable by fsdr (stack.switch.path)', cause: err,
  });
}
