// startNamed(): BIND's `named` in the foreground (-g) on 127.0.0.1 and a free port, serving one
// zone that accepts RFC 2136 updates signed with a fresh TSIG key. Everything (config, zone,
// journal, pid) lives in a temp dir, there is no rndc channel (`controls { }`: the default one,
// port 953, would collide between parallel runs), and no systemd is involved.
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError } from './errors.js';
import { freePort } from './free-port.js';
import { isRunning, runOnce, spawnTracked, startOrTearDown, terminate } from './processes.js';
import { waitUntil } from './wait.js';

export interface StartNamedOptions {
  /** Zone origin without the trailing dot, e.g. "fs.test". */
  zone?: string;
  /** Records as zone-file lines relative to the origin, e.g. "api 300 IN A 10.0.0.1". */
  records?: string[];
  keyName?: string;
}

export interface NamedHandle {
  readonly port: number;
  /** "127.0.0.1:PORT", as an rfc2136 provider's `server`. */
  readonly server: string;
  readonly zone: string;
  readonly keyName: string;
  /** base64 TSIG secret (hmac-sha256). */
  readonly keySecret: string;
  /** A second key the server knows but does not let update the zone (its refusal: REFUSED). */
  readonly otherKey: { name: string; secret: string };
  readonly logFile: string;
  /** A real DNS query (node's resolver, a fresh one each time: no cache) for A records with TTLs. */
  resolve4(name: string): Promise<{ address: string; ttl: number }[]>;
  stop(): Promise<void>;
}

function namedBinary(): string {
  for (const p of ['/usr/sbin/named', '/usr/local/sbin/named']) if (existsSync(p)) return p;
  throw new HarnessError('HARNESS_NAMED_MISSING', 'BIND (named) is not installed: the DNS tests start a real RFC 2136 server', 'run scripts/setup-tests.sh (installs bind9 and bind9-dnsutils)');
}

export async function startNamed(opts: StartNamedOptions = {}): Promise<NamedHandle> {
  const bin = namedBinary();
  const zone = opts.zone ?? 'fs.test';
  const keyName = opts.keyName ?? 'fsdr-test';
  const keySecret = randomBytes(32).toString('base64');
  const otherKey = { name: `${keyName}-other`, secret: randomBytes(32).toString('base64') };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fs-named-'));
  const logFile = join(dir, 'named.log');
  writeFileSync(join(dir, 'named.conf'), `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
controls { };
key "${keyName}" { algorithm hmac-sha256; secret "${keySecret}"; };
key "${otherKey.name}" { algorithm hmac-sha256; secret "${otherKey.secret}"; };
zone "${zone}" { type primary; file "${zone}.db"; allow-update { key "${keyName}"; }; };
`);
  writeFileSync(join(dir, `${zone}.db`), [
    '$TTL 300',
    `@ IN SOA ns.${zone}. admin.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns.${zone}.`,
    'ns IN A 127.0.0.1',
    ...(opts.records ?? []),
    '',
  ].join('\n'));
  let child: ChildProcess | undefined;
  const handle: NamedHandle = {
    port,
    server: `127.0.0.1:${port}`,
    zone,
    keyName,
    keySecret,
    otherKey,
    logFile,
    async resolve4(name) {
      const r = new Resolver({ timeout: 2000, tries: 2 });
      r.setServers([`127.0.0.1:${port}`]);
      try {
        return await r.resolve4(name, { ttl: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND' || (err as NodeJS.ErrnoException).code === 'ENODATA') return [];
        throw err;
      }
    },
    stop: runOnce(async () => {
      await terminate(child, 'SIGTERM', 5000);
      rmSync(dir, { recursive: true, force: true });
    }),
  };
  return startOrTearDown(handle, async () => {
    const fd = openSync(logFile, 'a');
    try {
      // As root in a container named keeps running as root (no -u): the temp dir is root's.
      child = spawnTracked(bin, ['-g', '-c', join(dir, 'named.conf')], { stdio: ['ignore', fd, fd], cwd: dir });
    } finally {
      closeSync(fd);
    }
    const started = child;
    await waitUntil(async () => {
      const log = readFileSync(logFile, 'utf8');
      if (!isRunning(started)) throw new HarnessError('HARNESS_NAMED_EXITED', `named exited during start: ${log.slice(-1500)}`);
      if (!/\brunning\b/.test(log)) return undefined;
      // Ready when the zone answers (SERVFAIL until it is loaded), not when the log says running.
      const r = new Resolver({ timeout: 500, tries: 1 });
      r.setServers([`127.0.0.1:${port}`]);
      return (await r.resolveSoa(zone)) ? true : undefined;
    }, 20_000, `named on port ${port} serving ${zone}`);
  });
}
