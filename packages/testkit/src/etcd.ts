// startEtcd(): one etcd 3.4 member (Debian's etcd-server) on 127.0.0.1 and two free ports, its data
// in a temp dir. One member, not three: every test runs on one host, and a three-member cluster on
// one machine proves nothing more about the leader lease than one member does (the lease, its TTL
// and its expiry are etcd's; quorum loss across machines is not something one host can show).
// stopServer()/start() make "etcd unreachable" and its return real.
import { type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './errors.js';
import { freePort } from './free-port.js';
import { isRunning, runOnce, spawnTracked, startOrTearDown, terminate } from './processes.js';
import { waitUntil } from './wait.js';

export interface EtcdHandle {
  readonly clientPort: number;
  /** "127.0.0.1:PORT", as Patroni's etcd3.hosts and fsdr's ha.etcd.hosts take it. */
  readonly endpoint: string;
  readonly url: string;
  readonly logFile: string;
  /** True when GET /health says so. */
  healthy(): Promise<boolean>;
  start(): Promise<void>;
  /** SIGKILL (a lost DCS, not a clean shutdown); the data stays for start(). */
  stopServer(): Promise<void>;
  isRunning(): boolean;
  stop(): Promise<void>;
}

function etcdBinary(): string {
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (existsSync(p)) return p;
  throw new HarnessError('HARNESS_ETCD_MISSING', 'etcd is not installed: the failover tests run Patroni on a real etcd', 'run scripts/setup-tests.sh (installs etcd-server and etcd-client)');
}

export async function startEtcd(): Promise<EtcdHandle> {
  const bin = etcdBinary();
  const dir = mkdtempSync(join(tmpdir(), 'fs-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logFile = join(dir, 'etcd.log');
  const args = [
    '--name', 'fs-test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `fs-test=${peer}`, '--initial-cluster-state', 'new',
    // No metrics/pprof listener of its own beyond the client port; quiet logs.
    '--log-level', 'warn', '--logger', 'zap',
  ];
  let child: ChildProcess | undefined;
  const healthy = async (): Promise<boolean> => {
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      return r.ok && ((await r.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  };
  const start = async (): Promise<void> => {
    if (isRunning(child)) return;
    const fd = openSync(logFile, 'a');
    try {
      child = spawnTracked(bin, args, { stdio: ['ignore', fd, fd], cwd: dir, env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' } });
    } finally {
      closeSync(fd);
    }
    const current = child;
    await waitUntil(async () => {
      if (!isRunning(current)) throw new HarnessError('HARNESS_ETCD_EXITED', `etcd exited during start: ${readFileSync(logFile, 'utf8').slice(-1500)}`);
      return (await healthy()) ? true : undefined;
    }, 20_000, `etcd on ${url}`);
  };
  const handle: EtcdHandle = {
    clientPort, endpoint: `127.0.0.1:${clientPort}`, url, logFile, healthy, start,
    stopServer: () => terminate(child, 'SIGKILL', 5000),
    isRunning: () => isRunning(child),
    stop: runOnce(async () => {
      await terminate(child, 'SIGTERM', 5000);
      rmSync(dir, { recursive: true, force: true });
    }),
  };
  return startOrTearDown(handle, start);
}
