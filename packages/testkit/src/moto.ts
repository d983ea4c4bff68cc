// startMoto(): the moto S3 emulator (`python3 -m moto.server`) on a free loopback port. moto keeps
// versioning and Object Lock semantics, so immutability tests run against real S3 protocol.
import { join } from 'node:path';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from './free-port.js';
import { isRunning, spawnTracked, terminate } from './processes.js';
import { waitUntil } from './wait.js';
import { HarnessError } from './errors.js';
import { connect } from 'node:net';

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

export interface MotoHandle {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** Environment for AWS SDK clients (static test credentials, region). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** `env`: extra server environment, e.g. INITIAL_NO_AUTH_ACTION_COUNT=0 to make moto check credentials. */
export async function startMoto(opts: { env?: Record<string, string> } = {}): Promise<MotoHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fs-moto-'));
  const fd = openSync(join(dir, 'moto.log'), 'a');
  const child = spawnTracked('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...opts.env },
  });
  closeSync(fd);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(async () => {
      if (!isRunning(child)) throw new HarnessError('HARNESS_MOTO_EXITED', 'moto server exited at start (is moto installed for python3?)');
      // A TCP connect, not an HTTP request: with credential checks on, moto fails unsigned requests.
      return (await canConnect(port)) ? true : undefined;
    }, 30_000, `moto on ${port}`);
  } catch (err) {
    await terminate(child, 'SIGKILL', 1000);
    throw err;
  }
  let stopped = false;
  return {
    port,
    endpoint,
    env: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await terminate(child, 'SIGTERM', 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
