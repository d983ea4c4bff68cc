// startPostgres(): a throw-away PostgreSQL cluster on 127.0.0.1 and a free port, run as the
// unprivileged `postgres` OS user (PostgreSQL refuses root) with trust auth, for tests and drills.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, openSync, closeSync, appendFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { HarnessError } from './errors.js';
import { freePort } from './free-port.js';
import { findPgBinDir } from './pg-binaries.js';
import { isRunning, osUser, runOnce, spawnTracked, startOrTearDown, terminate } from './processes.js';
import { waitUntil } from './wait.js';

export interface StartPostgresOptions {
  /** Extra postgresql.conf settings, e.g. { archive_mode: 'on', archive_command: '...' }. */
  settings?: Record<string, string | number | boolean>;
  /** Start on an existing data directory (e.g. a restored backup) instead of running initdb. */
  pgdata?: string;
  binDir?: string;
  port?: number;
  /** OS user that runs the server when the caller is root. */
  osUser?: string;
  startTimeoutMs?: number;
  /** Extra initdb arguments, e.g. ['--data-checksums'] (ignored with pgdata). */
  initdbArgs?: string[];
}

export interface PostgresHandle {
  readonly port: number;
  readonly host: string;
  readonly pgdata: string;
  readonly binDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly connectionString: string;
  /** Connection string for another database of this cluster. */
  url(database: string): string;
  /** Runs one query on a short-lived connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<pg.QueryResult<R>>;
  /** Runs SQL through the psql binary (as the OS user) and returns its stdout. */
  psql(sql: string, database?: string): Promise<string>;
  /** Starts the server again after stopServer()/kill(); waits until it accepts connections. */
  start(): Promise<void>;
  /** Fast shutdown, keeping the data directory (the cluster can be started again). */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL the postmaster: a crash, for recovery tests. */
  kill(): Promise<void>;
  isRunning(): boolean;
  /** Final teardown: stops the server and removes the temp dir. Idempotent. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

interface RunAs { uid?: number; gid?: number }

async function runTool(bin: string, args: string[], as: RunAs, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const child = spawn(bin, args, { ...as, env, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new HarnessError('HARNESS_PG_TOOL_FAILED', `${bin} ${args.join(' ')} exited ${code}: ${err.trim()}`);
  return out;
}

function confValue(v: string | number | boolean): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return `'${v.replace(/'/g, "''")}'`;
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresHandle> {
  const binDir = findPgBinDir(opts.binDir);
  const asRoot = process.getuid?.() === 0;
  const as: RunAs = asRoot ? await osUser(opts.osUser ?? 'postgres') : {};
  const tempDir = mkdtempSync(join(tmpdir(), 'fs-pg-'));
  chmodSync(tempDir, 0o755);
  if (asRoot) chownSync(tempDir, as.uid!, as.gid!);
  const pgdata = opts.pgdata ?? join(tempDir, 'data');
  const socketDir = tempDir;
  const logFile = join(tempDir, 'postgres.log');
  const port = opts.port ?? (await freePort());
  const host = '127.0.0.1';
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };

  if (!opts.pgdata) {
    await runTool(join(binDir, 'initdb'), ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', ...(opts.initdbArgs ?? [])], as, env);
  } else if (asRoot) {
    // A restored directory written by root must belong to the server's user, with 0700.
    await runTool('chown', ['-R', `${as.uid}:${as.gid}`, pgdata], {});
    chmodSync(pgdata, 0o700);
  }
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: host,
    port,
    unix_socket_directories: socketDir,
    fsync: false,
    max_connections: 100,
    ...opts.settings,
  };
  appendFileSync(join(pgdata, 'postgresql.conf'),
    '\n# added by @featuresignals/testkit\n' + Object.entries(settings).map(([k, v]) => `${k} = ${confValue(v)}`).join('\n') + '\n');

  let child: ChildProcess | undefined;
  const connectionString = `postgres://postgres@${host}:${port}/postgres`;
  const url = (db: string): string => `postgres://postgres@${host}:${port}/${encodeURIComponent(db)}`;

  const query = async <R extends pg.QueryResultRow>(sql: string, params?: unknown[], database = 'postgres'): Promise<pg.QueryResult<R>> => {
    const c = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 5000 });
    c.on('error', () => { /* reported through the query promise */ });
    await c.connect();
    try {
      return await c.query<R>(sql, params as unknown[]);
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  const start = async (): Promise<void> => {
    if (isRunning(child)) return;
    const fd = openSync(logFile, 'a');
    try {
      child = spawnTracked(join(binDir, 'postgres'), ['-D', pgdata], { ...as, env, stdio: ['ignore', fd, fd], cwd: '/' });
    } finally {
      closeSync(fd);
    }
    const current = child;
    await waitUntil(async () => {
      if (!isRunning(current)) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
        throw new HarnessError('HARNESS_PG_EXITED', `postgres exited during start: ${log}`);
      }
      await query('SELECT 1');
      return true;
    }, opts.startTimeoutMs ?? 60_000, `postgres on port ${port}`).catch((err: unknown) => {
      if (err instanceof HarnessError) throw err;
      throw new HarnessError('HARNESS_PG_START_TIMEOUT', `postgres did not accept connections on ${port}`, `see ${logFile}`, { cause: err });
    });
  };

  // SIGINT = fast shutdown, SIGQUIT = immediate (PostgreSQL's documented signals).
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    await terminate(child, mode === 'fast' ? 'SIGINT' : 'SIGQUIT', 30_000);
  };

  const handle: PostgresHandle = {
    port, host, pgdata, binDir, socketDir, logFile, connectionString, url, query,
    psql: (sql, database = 'postgres') =>
      runTool(join(binDir, 'psql'), ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql], as, env),
    start,
    stopServer,
    restart: async () => { await stopServer(); await start(); },
    kill: async () => terminate(child, 'SIGKILL', 10_000),
    isRunning: () => isRunning(child),
    stop: runOnce(async ({ keepData = false } = {}) => {
      await stopServer();
      if (keepData) return;
      // A caller-supplied pgdata belongs to the caller; only our temp dir is removed.
      rmSync(tempDir, { recursive: true, force: true });
    }),
  };
  return startOrTearDown(handle, start);
}
