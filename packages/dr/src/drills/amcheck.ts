// PostgreSQL's own corruption checker over a restored copy: pg_amcheck --heapallindexed checks
// every heap page and that every heap tuple has its btree index entries, in every database.
// --install-missing adds the amcheck extension, which is harmless on a throwaway copy.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type pg from 'pg';
import type { StepOutcome } from './steps.js';

export interface AmcheckReport {
  exitCode: number;
  /** relations pg_amcheck reported, as "db.schema.relation" */
  relations: string[];
  /** the first lines of its output (it prints nothing when all is well) */
  output: string;
}

export function runAmcheck(binDir: string, conn: pg.ClientConfig, timeoutMs: number): Promise<AmcheckReport> {
  const args = ['--heapallindexed', '--install-missing', '--all', '-h', String(conn.host), '-p', String(conn.port), '-U', String(conn.user ?? 'postgres')];
  const env = { ...process.env, ...(typeof conn.password === 'string' ? { PGPASSWORD: conn.password } : {}) };
  return new Promise((resolve) => {
    execFile(join(binDir, 'pg_amcheck'), args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      const relations = [...new Set([...output.matchAll(/(?:heap table|btree index|toast table|relation) "([^"]+)"/g)].map((m) => m[1]!))];
      resolve({ exitCode: code, relations, output: output.split('\n').slice(0, 40).join('\n').trim() || (err && code === -1 ? err.message : '') });
    });
  });
}

export function judgeAmcheck(r: AmcheckReport): StepOutcome {
  if (r.exitCode === 0) return { ok: true, detail: { exitCode: 0, ...(r.output ? { output: r.output } : {}) } };
  const first = r.output.split('\n')[0] ?? '';
  return {
    ok: false,
    detail: r,
    failure: { object: r.relations[0], message: `pg_amcheck exited ${r.exitCode}${r.relations.length ? ` reporting ${r.relations.length} relation(s), first ${r.relations[0]}` : ''}: ${first}` },
  };
}
