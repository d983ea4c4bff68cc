// fsdr restore-dump: restore a logical dump with pg_restore into a given instance (whole, some
// databases, or some tables), streaming each archive from the repository into pg_restore.
// Each archive must match its manifest (size, sha256): objects are checked before anything is
// restored, and pg_restore runs in one transaction with the archive's last bytes held back until
// the digest matched, so an archive that fails its check commits nothing of its database.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type pg from 'pg';
import { pgDriver } from '../../postgres/pg-driver.js';
import type { Config } from '../../config/load.js';
import { FsdrError, PostgresError } from '../../errors.js';
import { clientBinDir, requireAtLeast, toolPath } from '../../postgres/client-tools.js';
import { clientConnection, newClient } from '../../postgres/cluster.js';
import { Repository } from '../../repository/repository.js';

export interface RestoreDumpOptions {
  connection: string;
  dump?: string;
  databases: string[];
  tables: string[];
  repository?: string;
}

/** Wait for 'drain' or 'close', leaving no listener behind (a long stream waits many times). */
function writable(dest: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      dest.off('drain', done);
      dest.off('close', done);
      resolve();
    };
    dest.on('drain', done);
    dest.on('close', done);
  });
}

/**
 * Feed `src` to a tool's stdin. If the tool stops reading early (pg_restore -t), the rest is still
 * read, so the archive's check runs to the end; a failing source cuts the tool's input short.
 */
async function feed(src: Readable, dest: Writable): Promise<void> {
  let open = true;
  dest.on('error', () => (open = false)); // EPIPE: the tool has read what it needs
  dest.on('close', () => (open = false));
  try {
    for await (const c of src) {
      if (open && !dest.write(c)) await writable(dest);
    }
  } catch (err) {
    dest.destroy();
    throw err;
  }
  if (open) dest.end();
}

async function runTool(path: string, args: string[], env: NodeJS.ProcessEnv, stdin?: Readable): Promise<void> {
  const child = spawn(path, args, { env, stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  const fed = stdin ? feed(stdin, child.stdin!).then(() => undefined, (e: unknown) => e) : undefined;
  const code = await done;
  // A bad archive is the cause of whatever the tool then said about its cut-short input.
  const sourceError = await fed;
  if (sourceError) throw sourceError;
  if (code !== 0) throw new PostgresError(`${path.split('/').pop()} failed (exit ${code}): ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
}

export async function runRestoreDump(cfg: Config, opts: RestoreDumpOptions): Promise<{ dump: string; databases: string[] }> {
  const repo = await Repository.open(cfg, opts.repository ?? 'primary');
  try {
    await repo.readInfo();
    const ids = await repo.dumps.ids();
    if (!ids.length) throw new FsdrError('FSDR_NO_DUMP', 'the repository holds no complete dump', { hint: 'take one with fsdr dump' });
    const id = opts.dump ?? ids[ids.length - 1]!;
    if (!ids.includes(id)) throw new FsdrError('FSDR_DUMP_UNKNOWN', `no complete dump ${id}`, { hint: `dumps: ${ids.join(', ')}` });
    const m = await repo.dumps.read(id);
    const binDir = clientBinDir(m.serverMajor, cfg.cluster?.binDir);
    const pgRestore = toolPath(binDir, 'pg_restore');
    // pg_restore cannot read an archive written by a newer pg_dump.
    requireAtLeast('pg_restore', pgRestore, m.pgDumpMajor, 'the pg_dump that wrote this dump,');
    const chosen = opts.databases.length ? m.databases.filter((d) => opts.databases.includes(d.name)) : m.databases;
    const missing = opts.databases.filter((d) => !m.databases.some((x) => x.name === d));
    if (missing.length) throw new FsdrError('FSDR_DUMP_NO_DATABASE', `dump ${id} has no database ${missing.join(', ')}`, { hint: `it has: ${m.databases.map((d) => d.name).join(', ')}` });

    // A swapped or damaged object fails at its header: find out before anything is restored.
    for (const key of [...(opts.tables.length ? [] : [m.globals.key]), ...chosen.map((d) => d.key)]) await repo.objects.checkHeader(key);

    const admin = newClient({ connectionString: opts.connection }, 'fsdr restore-dump');
    await admin.connect().catch((err: Error) => {
      throw new PostgresError(`cannot connect to the target instance: ${err.message}`, { hint: 'check --connection' });
    });
    try {
      if (!opts.tables.length) {
        // Roles first (errors for roles that already exist are expected and ignored by psql).
        const psql = toolPath(binDir, 'psql');
        const c = clientConnection(opts.connection);
        const globals = await repo.objects.openExpected(m.globals.key, m.globals);
        await runTool(psql, ['-q', '-d', c.url, '-v', 'ON_ERROR_STOP=0', '-f', '-'], c.env, globals).catch((err) => {
          if (!(err instanceof PostgresError)) throw err; // the object, not psql's expected errors
        });
      }
      for (const db of chosen) {
        const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).rowCount;
        if (!exists) await admin.query(`CREATE DATABASE ${pgDriver.escapeIdentifier(db.name)}`);
        const c = clientConnection(opts.connection, db.name);
        const args = ['--no-owner', '--single-transaction', '-d', c.url, ...opts.tables.flatMap((t) => ['-t', t])];
        // The archive was written through a pipe, so it has no data offsets: pg_restore -j would
        // have to rescan it per table (measured 2x slower than one job). Stream it to one job.
        await runTool(pgRestore, args, c.env, await repo.objects.openExpected(db.key, db));
      }
    } finally {
      await admin.end();
    }
    return { dump: id, databases: chosen.map((d) => d.name) };
  } finally {
    await repo.close();
  }
}
