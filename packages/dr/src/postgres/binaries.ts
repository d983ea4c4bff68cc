// Where PostgreSQL's programs are: the configured binDir, then PG_BIN, then `pg_config --bindir`
// (when it is the right major version), then Debian's /usr/lib/postgresql/<major>/bin.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresError } from '../errors.js';

function versionOf(binDir: string): number | undefined {
  try {
    const out = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
    const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^\d]*/, ''));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function findBinDir(major: number, configured?: string): string {
  const candidates: string[] = [];
  if (configured) candidates.push(configured);
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    /* no pg_config on PATH */
  }
  candidates.push(`/usr/lib/postgresql/${major}/bin`);
  for (const dir of candidates) {
    if (existsSync(join(dir, 'postgres')) && versionOf(dir) === major) return dir;
  }
  throw new PostgresError(`no PostgreSQL ${major} server binaries found (looked in ${candidates.join(', ')})`, {
    hint: `install PostgreSQL ${major} (Debian: postgresql-${major}) or set cluster.binDir / PG_BIN`,
  });
}
