// startRedis(): a redis-server (Debian package) on 127.0.0.1 and a free port, without persistence,
// so each test gets an empty cache it can stop, restart or flush.
import { type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './errors.js';
import { freePort } from './free-port.js';
import { isRunning, runOnce, spawnTracked, startOrTearDown, terminate } from './processes.js';
import { waitUntil } from './wait.js';

export interface StartRedisOptions {
  bin?: string;
  port?: number;
  startTimeoutMs?: number;
}

export interface RedisHandle {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly logFile: string;
  /** Sends one inline command (e.g. "PING", "FLUSHALL") and returns the raw reply line. */
  command(line: string): Promise<string>;
  start(): Promise<void>;
  /** Stops the server, keeping the handle usable for start(); data is lost (no persistence). */
  stopServer(): Promise<void>;
  isRunning(): boolean;
  /** Final teardown, idempotent. */
  stop(): Promise<void>;
}

function inlineCommand(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('redis command timed out')));
    sock.on('connect', () => sock.write(line + '\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.end();
        resolve(buf.slice(0, buf.indexOf('\r\n')));
      }
    });
    sock.on('error', reject);
  });
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  const tempDir = mkdtempSync(join(tmpdir(), 'fs-redis-'));
  const port = opts.port ?? (await freePort());
  const logFile = join(tempDir, 'redis.log');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir, '--daemonize', 'no', '--protected-mode', 'no'];
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (isRunning(child)) return;
    const fd = openSync(logFile, 'a');
    try {
      child = spawnTracked(opts.bin ?? 'redis-server', args, { stdio: ['ignore', fd, fd], cwd: tempDir });
    } finally {
      closeSync(fd);
    }
    const current = child;
    await waitUntil(async () => {
      if (!isRunning(current)) {
        throw new HarnessError('HARNESS_REDIS_EXITED', `redis-server exited during start: ${readFileSync(logFile, 'utf8').slice(-1000)}`, 'is redis-server installed?');
      }
      return (await inlineCommand(port, 'PING')) === '+PONG' ? true : undefined;
    }, opts.startTimeoutMs ?? 20_000, `redis-server on port ${port}`);
  };
  const stopServer = (): Promise<void> => terminate(child, 'SIGTERM', 10_000);
  const handle: RedisHandle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    logFile,
    command: (line) => inlineCommand(port, line),
    start,
    stopServer,
    isRunning: () => isRunning(child),
    stop: runOnce(async () => {
      await stopServer();
      rmSync(tempDir, { recursive: true, force: true });
    }),
  };
  return startOrTearDown(handle, start);
}
