// Starts the FeatureSignals server of `stack.start` on a restored database: argv without a shell,
// {{DATABASE_URL}} filled in, secretEnv resolved from its references only here (values never
// reach a report or a log line), PORT set. The process is detached with its output in a log file:
// after a recovery it *is* the new production server, so it must outlive fsdr.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { resolveSecret } from '../config/secret-ref.js';
import { FsdrError } from '../errors.js';

export interface StartSpec {
  command: string[];
  env: Record<string, string>;
  secretEnv: Record<string, string>;
}

export interface StartedServer {
  pid: number;
  port: number;
  logFile: string;
  /** the command as started, with {{DATABASE_URL}} shown redacted */
  command: string[];
  /** set once the process has exited: its code or signal */
  exited(): { code: number | null; signal: string | null } | undefined;
  stop(): Promise<void>;
}

const fill = (s: string, vars: Record<string, string>): string => s.replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => vars[k] ?? '');

/** The password of a URL replaced, for anything shown to a person. */
export function redactDatabaseUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export function startServer(spec: StartSpec, databaseUrl: string, port: number, logFile: string): StartedServer {
  const vars = { DATABASE_URL: databaseUrl };
  const shown = { DATABASE_URL: redactDatabaseUrl(databaseUrl) };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(spec.env)) env[k] = fill(v, vars);
  // The port fsdr probes is the port the server listens on, whatever env said.
  env.PORT = String(port);
  for (const [k, ref] of Object.entries(spec.secretEnv)) env[k] = resolveSecret(`stack.start.secretEnv.${k}`, ref);
  const [cmd, ...args] = spec.command.map((a) => fill(a, vars));
  const fd = openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(cmd!, args, { env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exit: { code: number | null; signal: string | null } | undefined;
  let spawnError: Error | undefined;
  const done = new Promise<void>((r) => {
    child.once('exit', (code, signal) => { exit = { code, signal }; r(); });
    child.once('error', (err) => { spawnError = err; exit = { code: null, signal: null }; r(); });
  });
  child.unref();
  return {
    pid: child.pid ?? -1,
    port,
    logFile,
    command: spec.command.map((a) => fill(a, shown)),
    exited: () => (spawnError ? { code: null, signal: `spawn failed: ${spawnError.message}` } : exit),
    async stop() {
      if (exit || child.pid === undefined) return;
      // The whole process group: a start command may be a wrapper that forks the server.
      const kill = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    },
  };
}

/** The last lines of the server's log, for a message about why it did not come up. */
export function logTail(logFile: string, lines = 5): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join(' | ').slice(-600);
  } catch {
    return '';
  }
}

export class StackNotReadyError extends FsdrError {}
