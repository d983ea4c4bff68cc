// PostgreSQL client programs (pg_dump, pg_dumpall, pg_restore, psql) and their versions: a client
// older than the server cannot dump it, and pg_restore cannot read an archive from a newer pg_dump.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresError } from '../errors.js';
import { findBinDir } from './binaries.js';

export function toolPath(binDir: string, tool: string): string {
  const p = join(binDir, tool);
  if (!existsSync(p)) throw new PostgresError(`${tool} not found in ${binDir}`, { hint: 'install the PostgreSQL client tools or set cluster.binDir' });
  return p;
}

/** Major version of a client program, from `<tool> --version`. */
export function toolMajor(path: string): number {
  const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
  const m = /\)\s*(\d+)/.exec(out) ?? /(\d+)\.\d+/.exec(out);
  if (!m) throw new PostgresError(`cannot read the version of ${path} from "${out.trim()}"`);
  return Number(m[1]);
}

/** The client tools for a server of `serverMajor`: configured binDir first, else the matching install. */
export function clientBinDir(serverMajor: number, configured?: string): string {
  if (configured) return configured;
  return findBinDir(serverMajor);
}

export function requireAtLeast(tool: string, path: string, major: number, what: string): number {
  const v = toolMajor(path);
  if (v < major) {
    throw new PostgresError(`${tool} ${v} (${path}) is older than ${what} ${major}`, {
      hint: `use PostgreSQL ${major} or newer client tools (cluster.binDir or PG_BIN)`,
    });
  }
  return v;
}
