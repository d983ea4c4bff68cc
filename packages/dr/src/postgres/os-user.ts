// PostgreSQL refuses to run as root: when fsdr runs as root, servers and files it makes for them
// belong to an unprivileged OS user (default `postgres`).
import { execFileSync } from 'node:child_process';
import { PostgresError } from '../errors.js';

export interface OsUser {
  uid: number;
  gid: number;
  name: string;
}

/** The user to run PostgreSQL as: undefined when we are not root (we run it ourselves). */
export function serverUser(name = process.env.FSDR_PG_USER ?? 'postgres'): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid, name };
  } catch {
    throw new PostgresError(`running as root, but there is no OS user ${name} to run PostgreSQL as`, {
      hint: 'create it (useradd postgres) or set FSDR_PG_USER',
    });
  }
}
