// Locates PostgreSQL server binaries: an explicit dir, then PG_BIN, then `pg_config --bindir`,
// then Debian's /usr/lib/postgresql/<major>/bin (the order DESIGN §4 prescribes).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from './errors.js';

export function findPgBinDir(explicit?: string, major = 15): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config is optional; fall through to the Debian layout.
  }
  candidates.push(`/usr/lib/postgresql/${major}/bin`);
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new HarnessError('HARNESS_PG_BINARIES_MISSING', `no PostgreSQL binaries found in ${candidates.join(', ')}`, 'install postgresql or set PG_BIN');
}
