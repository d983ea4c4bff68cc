// Test helpers: a workspace (repository dir, key file, fsdr.yaml) usable by the postgres OS user,
// and running the real fsdr CLI as a child process, exactly as PostgreSQL and an SRE would.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const FSDR_BIN = fileURLToPath(new URL('../../../bin/fsdr.js', import.meta.url));

const asRoot = process.getuid?.() === 0;
const pgUid = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString()) : process.getuid!();
const pgGid = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString()) : process.getgid!();

/** spawn() options that run a child as the postgres user when the tests run as root. */
export function asPostgres(): { uid?: number; gid?: number } {
  return asRoot ? { uid: pgUid, gid: pgGid } : {};
}

/** chown to the postgres user when running as root, so archive_command can use it. */
export function giveToPostgres(path: string): void {
  if (asRoot) chownSync(path, pgUid, pgGid);
}

export interface Workspace {
  dir: string;
  repoDir: string;
  keyFile: string;
  key: string;
  configPath: string;
  writeConfig(doc: Record<string, unknown>, name?: string): string;
  cleanup(): void;
}

export function makeWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-test-'));
  chmodSync(dir, 0o755);
  giveToPostgres(dir);
  const repoDir = join(dir, 'repo');
  mkdirSync(repoDir);
  giveToPostgres(repoDir);
  const key = randomBytes(32).toString('hex');
  const keyFile = join(dir, 'master.key');
  writeFileSync(keyFile, key + '\n', { mode: 0o600 });
  giveToPostgres(keyFile);
  const ws: Workspace = {
    dir, repoDir, keyFile, key,
    configPath: join(dir, 'fsdr.yaml'),
    writeConfig(doc, name = 'fsdr.yaml') {
      const p = join(dir, name);
      writeFileSync(p, stringify(doc));
      giveToPostgres(p);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

/** The archive_command for a cluster: env set inline, since PostgreSQL starts it with its own env. */
export function archiveCommand(configPath: string, env: Record<string, string> = {}): string {
  const vars = Object.entries({ FSDR_CONFIG: configPath, ...env }).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${vars} ${process.execPath} ${FSDR_BIN} wal-push %p`;
}

export function restoreCommand(configPath: string, env: Record<string, string> = {}): string {
  const vars = Object.entries({ FSDR_CONFIG: configPath, ...env }).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${vars} ${process.execPath} ${FSDR_BIN} wal-fetch %f %p`;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `nodeArgs` go to node before the script (e.g. `--import` of a test hook). */
export function runFsdr(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, FSDR_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function fsdrOk(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await runFsdr(args, env);
  if (r.code !== 0) throw new Error(`fsdr ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
