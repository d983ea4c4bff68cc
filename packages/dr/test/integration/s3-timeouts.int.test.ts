// An S3 endpoint that accepts connections and then says nothing (or stops half-way through a
// body) must fail wal-push and info within the configured timeouts, with one line that names the
// endpoint, the limit and the key to raise: as archive_command, a hang stalls archiving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';

let ws: Workspace;
let noAccept: ChildProcess | undefined;
const servers: Server[] = [];
const sockets = new Set<Socket>();
const ENV = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

/** A loopback server that accepts and then, per connection, runs `onConnect` (never answering). */
async function silentServer(onConnect: (s: Socket) => void = () => undefined): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    onConnect(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, connections: () => n };
}

function config(port: number): string {
  return ws.writeConfig({
    repositories: {
      primary: {
        type: 's3', bucket: 'fsdr-silent', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true,
        timeouts: { connectSeconds: 1, idleSeconds: 2 }, attempts: 2,
      },
    },
    encryption: { masterKey: `file:${ws.keyFile}` },
  }, `silent-${port}.yaml`);
}

function assertOneLine(stderr: string): void {
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

before(() => {
  ws = makeWorkspace();
});

after(async () => {
  noAccept?.kill('SIGKILL');
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  ws?.cleanup();
});

test('wal-push against an endpoint that never answers fails within the timeouts, naming the setting', { timeout: 120_000 }, async () => {
  const silent = await silentServer();
  const cfg = config(silent.port);
  const wal = join(ws.dir, '000000010000000000000001');
  writeFileSync(wal, Buffer.alloc(8192));
  const t0 = Date.now();
  const r = await runFsdr(['--config', cfg, 'wal-push', wal], ENV);
  const secs = (Date.now() - t0) / 1000;
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`S3 endpoint http://127\\.0\\.0\\.1:${silent.port} sent nothing for 2s \\(2 attempts\\)`));
  assert.match(r.stderr, /raise repositories\.primary\.timeouts\.idleSeconds/);
  assertOneLine(r.stderr);
  assert.equal(silent.connections(), 2, 'one connection per attempt');
  assert.ok(secs < 60, `returned after ${secs}s`);
});

test('info against an endpoint that never answers fails the same way', { timeout: 120_000 }, async () => {
  const silent = await silentServer();
  const r = await runFsdr(['--config', config(silent.port), 'info'], ENV);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /S3 endpoint http:\/\/127\.0\.0\.1:\d+ sent nothing for 2s/);
  assert.match(r.stderr, /repositories\.primary\.timeouts\.idleSeconds/);
  assertOneLine(r.stderr);
});

test('a download that stops half-way through its body fails with the idle timeout, not a hang', { timeout: 120_000 }, async () => {
  const stalls = await silentServer((s) => {
    s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(100)));
  });
  const r = await runFsdr(['--config', config(stalls.port), 'info'], ENV);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /get repo\.json in s3:\/\/fsdr-silent: S3 endpoint http:\/\/127\.0\.0\.1:\d+ sent nothing for 2s/);
  assertOneLine(r.stderr);
});

// A listening socket that never accepts, its backlog already full: the kernel drops further SYNs,
// so a connect hangs as it does to a firewalled endpoint (Node always accepts, hence Python).
const NO_ACCEPT = `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
fill = [socket.socket() for _ in range(3)]
for c in fill:
    c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
print(port, flush=True)
time.sleep(300)
`;

test('an endpoint that does not complete the TCP handshake fails with the connect timeout', { timeout: 120_000 }, async () => {
  noAccept = spawn('python3', ['-c', NO_ACCEPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(noAccept.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const r = await runFsdr(['--config', config(port), 'info'], ENV);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`S3 endpoint http://127\\.0\\.0\\.1:${port} could not connect within 1s \\(2 attempts\\)`));
  assert.match(r.stderr, /raise repositories\.primary\.timeouts\.connectSeconds/);
  assertOneLine(r.stderr);
});
