// startHaproxy(): Debian's HAProxy in the foreground on 127.0.0.1 and a free port, forwarding TCP to
// whichever PostgreSQL node's Patroni REST API answers 200 to `GET /primary` (the documented way
// clients follow the Patroni leader). Sessions to a server marked down are shut, so a client
// holding a connection to the old primary reconnects through HAProxy instead of lingering.
import { type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './errors.js';
import { freePort } from './free-port.js';
import { isRunning, runOnce, spawnTracked, startOrTearDown, terminate } from './processes.js';
import { waitUntil } from './wait.js';

export interface HaproxyBackend {
  name: string;
  host: string;
  port: number;
  /** The node's Patroni REST API port, which the health check asks. */
  checkPort: number;
}

export interface StartHaproxyOptions {
  backends: HaproxyBackend[];
  /** Health check path (default /primary: 200 only on the leader). */
  checkPath?: string;
  /** Check interval in ms (default 500) and how many failures mark a server down (default 2). */
  interMs?: number;
  fall?: number;
  rise?: number;
}

export interface HaproxyHandle {
  readonly port: number;
  readonly statsSocket: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Each server's state from the stats socket: name → "UP" | "DOWN" | … */
  servers(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

function haproxyBinary(): string {
  for (const p of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) if (existsSync(p)) return p;
  throw new HarnessError('HARNESS_HAPROXY_MISSING', 'haproxy is not installed: the failover tests route clients through it', 'run scripts/setup-tests.sh (installs haproxy)');
}

function statsCommand(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let out = '';
    s.setTimeout(2000, () => s.destroy(new Error('haproxy stats socket timed out')));
    s.on('connect', () => s.write(line + '\n'));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

export async function startHaproxy(opts: StartHaproxyOptions): Promise<HaproxyHandle> {
  const bin = haproxyBinary();
  const dir = mkdtempSync(join(tmpdir(), 'fs-haproxy-'));
  const port = await freePort();
  const statsSocket = join(dir, 'stats.sock');
  const configFile = join(dir, 'haproxy.cfg');
  const logFile = join(dir, 'haproxy.log');
  const inter = opts.interMs ?? 500;
  writeFileSync(configFile, [
    'global',
    '  maxconn 200',
    `  stats socket ${statsSocket} mode 600 level admin`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 1s',
    'listen postgres-primary',
    `  bind 127.0.0.1:${port}`,
    `  option httpchk GET ${opts.checkPath ?? '/primary'}`,
    '  http-check expect status 200',
    `  default-server inter ${inter}ms fastinter ${inter}ms downinter ${inter}ms fall ${opts.fall ?? 2} rise ${opts.rise ?? 1} on-marked-down shutdown-sessions`,
    ...opts.backends.map((b) => `  server ${b.name} ${b.host}:${b.port} maxconn 100 check port ${b.checkPort}`),
    '',
  ].join('\n'));
  let child: ChildProcess | undefined;
  const servers = async (): Promise<Record<string, string>> => {
    const csv = await statsCommand(statsSocket, 'show stat');
    const out: Record<string, string> = {};
    const lines = csv.split('\n');
    const head = (lines[0] ?? '').replace(/^# /, '').split(',');
    const [px, sv, st] = ['pxname', 'svname', 'status'].map((k) => head.indexOf(k));
    for (const l of lines.slice(1)) {
      const f = l.split(',');
      if (f[px!] === 'postgres-primary' && f[sv!] && !['FRONTEND', 'BACKEND'].includes(f[sv!]!)) out[f[sv!]!] = f[st!]!;
    }
    return out;
  };
  const handle: HaproxyHandle = {
    port, statsSocket, configFile, logFile, servers,
    stop: runOnce(async () => {
      await terminate(child, 'SIGTERM', 5000);
      rmSync(dir, { recursive: true, force: true });
    }),
  };
  return startOrTearDown(handle, async () => {
    const fd = openSync(logFile, 'a');
    try {
      // -db: foreground, no daemon, one process to signal.
      child = spawnTracked(bin, ['-db', '-f', configFile], { stdio: ['ignore', fd, fd], cwd: dir });
    } finally {
      closeSync(fd);
    }
    const current = child;
    await waitUntil(async () => {
      if (!isRunning(current)) throw new HarnessError('HARNESS_HAPROXY_EXITED', `haproxy exited during start: ${readFileSync(logFile, 'utf8').slice(-1500)}`);
      return Object.keys(await servers()).length === opts.backends.length ? true : undefined;
    }, 10_000, `haproxy on ${port}`);
  });
}
