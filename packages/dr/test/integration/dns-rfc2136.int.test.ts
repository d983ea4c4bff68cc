// The rfc2136 DNS provider against a real BIND named (started here on a free loopback port),
// through the real CLI, checked with real DNS queries (node's resolver, not the dig fsdr uses).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { startNamed, freePort, type NamedHandle } from '@featuresignals/testkit';
import { makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';

let named: NamedHandle;
let ws: Workspace;
let cfg: string;
let env: Record<string, string>;

function config(provider: Record<string, unknown>, name = 'fsdr.yaml'): string {
  return ws.writeConfig({
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    dns: { providers: { bind: { type: 'rfc2136', server: named.server, zone: named.zone, keyName: named.keyName, keySecret: 'env:FSDR_TEST_TSIG', ...provider } } },
  }, name);
}

before(async () => {
  named = await startNamed({ zone: 'fs.test', records: ['api 300 IN A 10.0.0.1', 'old 300 IN A 10.9.9.9'] });
  ws = makeWorkspace();
  cfg = config({});
  env = { FSDR_TEST_TSIG: named.keySecret };
});

after(async () => {
  await named?.stop();
  ws?.cleanup();
});

test('dns set repoints a name: a real query returns the new address with TTL 60, and the old and new answer are reported', async () => {
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '10.0.0.1', ttl: 300 }]);
  const r = await runFsdr(['--config', cfg, 'dns', 'set', 'api.fs.test', '10.0.0.2', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.old, { name: 'api.fs.test.', type: 'A', ttl: 300, values: ['10.0.0.1'] });
  assert.deepEqual(out.new, { name: 'api.fs.test.', type: 'A', ttl: 60, values: ['10.0.0.2'] });
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '10.0.0.2', ttl: 60 }]);
  const show = await runFsdr(['--config', cfg, 'dns', 'show', 'api.fs.test'], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /api\.fs\.test\. A: 10\.0\.0\.2 \(TTL 60\)/);
});

test('a wrong TSIG secret is one clear line naming the refusal and the config key; the record keeps its old address', async () => {
  const r = await runFsdr(['--config', cfg, 'dns', 'set', 'old.fs.test', '10.0.0.66'], { FSDR_TEST_TSIG: randomBytes(32).toString('base64') });
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /refused the TSIG signature of key fsdr-test\. \(NOTAUTH\(BADSIG\)\); old\.fs\.test\. A is unchanged/);
  assert.match(r.stderr, /dns\.providers\.bind\.keySecret/);
  assert.deepEqual(await named.resolve4('old.fs.test'), [{ address: '10.9.9.9', ttl: 300 }]);
  // A key name the server does not know: BADKEY.
  const other = config({ keyName: 'not-the-key' }, 'badkey.yaml');
  const k = await runFsdr(['--config', other, 'dns', 'set', 'old.fs.test', '10.0.0.66'], env);
  assert.notEqual(k.code, 0);
  assert.match(k.stderr, /NOTAUTH\(BADKEY\)/);
  assert.deepEqual(await named.resolve4('old.fs.test'), [{ address: '10.9.9.9', ttl: 300 }]);
  // A valid key the zone does not grant updates to: REFUSED, named as such.
  const ro = config({ keyName: named.otherKey.name, keySecret: 'env:FSDR_TEST_TSIG_OTHER' }, 'other.yaml');
  const o = await runFsdr(['--config', ro, 'dns', 'set', 'old.fs.test', '10.0.0.66'], { FSDR_TEST_TSIG_OTHER: named.otherKey.secret });
  assert.notEqual(o.code, 0);
  assert.match(o.stderr, /rejected the update with REFUSED: key fsdr-test-other\. may not update zone fs\.test\. .*; old\.fs\.test\. A is unchanged/);
  assert.deepEqual(await named.resolve4('old.fs.test'), [{ address: '10.9.9.9', ttl: 300 }]);
});

test('a CNAME can be set by name, its type implied from the address', async () => {
  const r = await runFsdr(['--config', cfg, 'dns', 'set', 'www.fs.test', 'api.fs.test', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.type, 'CNAME');
  assert.deepEqual(out.old.values, []);
  assert.deepEqual(out.new, { name: 'www.fs.test.', type: 'CNAME', ttl: 60, values: ['api.fs.test.'] });
});

test('a zone the server does not serve is named', async () => {
  const c = config({ zone: 'other.test' }, 'zone.yaml');
  const r = await runFsdr(['--config', c, 'dns', 'set', 'api.other.test', '10.0.0.5'], env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /does not serve zone other\.test\./);
  const outside = await runFsdr(['--config', cfg, 'dns', 'set', 'api.example.com', '10.0.0.5'], env);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /api\.example\.com\. is not in zone fs\.test\./);
});

test('an unreachable server fails within the timeout, naming the server', async () => {
  const closed = await freePort();
  const refused = await runFsdr(['--config', config({ server: `127.0.0.1:${closed}` }, 'closed.yaml'), 'dns', 'set', 'api.fs.test', '10.0.0.5'], env);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`DNS server 127\\.0\\.0\\.1:${closed} did not answer`));
  // A server that accepts the connection and never answers.
  const silent: Server = createServer(() => { /* never answers */ });
  await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
  const port = (silent.address() as { port: number }).port;
  try {
    const t0 = Date.now();
    const r = await runFsdr(['--config', config({ server: `127.0.0.1:${port}`, timeoutSeconds: 1 }, 'silent.yaml'), 'dns', 'set', 'api.fs.test', '10.0.0.5'], env);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`DNS server 127\\.0\\.0\\.1:${port} did not answer: .*timed out`));
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  } finally {
    silent.close();
  }
  assert.deepEqual(await named.resolve4('api.fs.test'), [{ address: '10.0.0.2', ttl: 60 }], 'nothing else changed it');
});

test('without BIND\'s clients the provider says which package to install', async () => {
  const r = await runFsdr(['--config', cfg, 'dns', 'show', 'api.fs.test'], { ...env, PATH: '/nonexistent' });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dig is not installed .*bind9-dnsutils/);
});
