// The demo's local stack: a scratch directory, a fresh PostgreSQL cluster archiving through
// fsdr into a local-directory repository, and a generated master key. No cloud account needed.
// Once FeatureSignals runs on it, the config gains the stack section recover uses.
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { findBinDir } from '../../postgres/binaries.js';
import { initCluster, startInstance, stopInstance } from '../../postgres/instance.js';
import { serverUser, type OsUser } from '../../postgres/os-user.js';
import { freeLoopbackPort } from '../../util/free-port.js';
import { SERVER_MAIN } from './demo-featuresignals.js';

const FSDR_BIN = fileURLToPath(new URL('../../../../bin/fsdr.js', import.meta.url));

export interface DemoStack {
  dir: string;
  configPath: string;
  pgdata: string;
  port: number;
  binDir: string;
  user?: OsUser;
  connection: string;
  stop(): Promise<void>;
}

export async function startDemoStack(baseDir?: string): Promise<DemoStack> {
  const user = serverUser();
  const own = (p: string) => user && chownSync(p, user.uid, user.gid);
  const dir = baseDir ?? mkdtempSync(join(tmpdir(), 'fsdr-demo-'));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  own(dir);
  const repo = join(dir, 'repository');
  mkdirSync(repo, { recursive: true });
  own(repo);
  const keyFile = join(dir, 'master.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  own(keyFile);
  const binDir = findBinDir(15);
  const pgdata = join(dir, 'pg-primary');
  const port = await freeLoopbackPort();
  const connection = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const configPath = join(dir, 'fsdr.yaml');
  writeFileSync(configPath, stringify({
    cluster: { connection, pgdata },
    repositories: { primary: { type: 'fs', path: repo } },
    encryption: { masterKey: `file:${keyFile}` },
    compression: { algorithm: 'zstd', level: 3 },
  }));
  own(configPath);
  await initCluster(binDir, pgdata, user);
  appendFileSync(join(pgdata, 'postgresql.conf'), [
    '', '# fsdr demo',
    `port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`,
    'wal_level = replica', 'archive_mode = on', 'archive_timeout = 60',
    `archive_command = 'FSDR_CONFIG=${configPath} ${process.execPath} ${FSDR_BIN} wal-push %p'`, '',
  ].join('\n'));
  const log = join(dir, 'pg-primary.log');
  writeFileSync(log, '');
  own(log);
  await startInstance(binDir, pgdata, log, user);
  return {
    dir, configPath, pgdata, port, binDir, user, connection,
    stop: () => stopInstance(binDir, pgdata, user, 'immediate').then(() => undefined, () => undefined),
  };
}

/** A secret the demo's config refers to by file: (mode 0600, as fsdr requires of key files). */
export function writeSecret(stack: DemoStack, name: string, value: string): string {
  const file = join(stack.dir, name);
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return file;
}

/**
 * The stack section: how recover starts the real server on the restored database (the same
 * main.js, with Redis), the key it checks with, and the connection file the switch rewrites.
 */
export function addStackConfig(stack: DemoStack, s: { serverUrl: string; keyFile: string; adminTokenFile: string; redisUrl?: string; switchFile: string }): void {
  const doc = parse(readFileSync(stack.configPath, 'utf8')) as Record<string, unknown>;
  doc.stack = {
    url: s.serverUrl,
    keys: { prod: `file:${s.keyFile}` },
    database: 'featuresignals',
    start: {
      command: [process.execPath, SERVER_MAIN],
      env: { DATABASE_URL: '{{DATABASE_URL}}', HOST: '127.0.0.1', LOG_LEVEL: 'warn', FS_SCHEDULER: 'off', ...(s.redisUrl ? { REDIS_URL: s.redisUrl } : {}) },
      secretEnv: { FS_ADMIN_TOKEN: `file:${s.adminTokenFile}` },
    },
    switch: { kind: 'connection-file', path: s.switchFile },
  };
  writeFileSync(stack.configPath, stringify(doc));
}
