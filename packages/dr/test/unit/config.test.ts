// Configuration: the documented keys load; every mistake is one line naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { redactedConfig } from '../../src/config/redact.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'fsdr-cfg-'));
const KEY = 'a'.repeat(64);

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const good = `
cluster:
  connection: postgres://postgres@127.0.0.1:5432/postgres
  pgdata: /var/lib/postgresql/15/main
repositories:
  primary: { type: fs, path: /srv/fsdr/repo }
  standby: { type: s3, bucket: fs-standby, region: eu-west-1, endpoint: "http://127.0.0.1:9000", prefix: featuresignals, forcePathStyle: true, objectLock: { mode: compliance, days: 7 } }
encryption:
  masterKey: env:FSDR_TEST_KEY
compression: { algorithm: zstd, level: 3 }
`;

test('the documented keys load, with defaults filled in', () => {
  process.env.FSDR_TEST_KEY = KEY;
  const cfg = loadConfig(write('good.yaml', good));
  assert.equal(cfg.masterKey.length, 32);
  assert.equal(cfg.repositories.standby!.type, 's3');
  assert.equal(cfg.archive.async, false);
  const shown = JSON.stringify(redactedConfig(cfg));
  assert.ok(!shown.includes(KEY), 'the key must never be printed');
  assert.match(shown, /env:FSDR_TEST_KEY/);
});

function rejects(text: string, pattern: RegExp) {
  process.env.FSDR_TEST_KEY = KEY;
  assert.throws(() => loadConfig(write('bad.yaml', text)), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match((err as Error).message, pattern);
    assert.ok(!(err as Error).message.includes('\n'), 'one line');
    return true;
  });
}

test('an unknown key is named with its path', () => {
  rejects(good.replace('level: 3', 'level: 3, levle: 4'), /compression\.levle: unknown key/);
  rejects(good + 'retension: 30\n', /retension: unknown key/);
  rejects(good.replace('path: /srv/fsdr/repo', 'path: /srv/fsdr/repo, bukket: x'), /repositories\.primary\.bukket: unknown key/);
});

test('missing or inline masterKey, wrong types, wrong repository type', () => {
  rejects(good.replace('masterKey: env:FSDR_TEST_KEY', 'other: 1'), /encryption\.masterKey/);
  rejects(good.replace('env:FSDR_TEST_KEY', KEY), /encryption\.masterKey: expected env:NAME or file:\/path/);
  rejects(good.replace('level: 3', 'level: "high"'), /compression\.level/);
  rejects(good.replace('type: fs', 'type: ftp'), /repositories\.primary\.type: expected "fs" or "s3"/);
  rejects(good.replace('  primary: { type: fs, path: /srv/fsdr/repo }\n', ''), /repositories\.primary/);
});

test('S3 timeouts and attempts: defaults, and bad values named by key', () => {
  process.env.FSDR_TEST_KEY = KEY;
  const s3 = loadConfig(write('t.yaml', good)).repositories.standby!;
  assert.ok(s3.type === 's3');
  assert.deepEqual([s3.timeouts, s3.attempts], [{ connectSeconds: 5, idleSeconds: 60 }, 3]);
  const withT = (t: string) => good.replace('days: 7 } }', `days: 7 }, ${t} }`);
  assert.deepEqual(loadConfig(write('t2.yaml', withT('timeouts: { idleSeconds: 600 }, attempts: 5'))).repositories.standby, { ...s3, timeouts: { connectSeconds: 5, idleSeconds: 600 }, attempts: 5 });
  rejects(withT('timeouts: { connectSeconds: 0 }'), /repositories\.standby\.timeouts\.connectSeconds: .*>=\s*1/);
  rejects(withT('timeouts: { idleSeconds: -5 }'), /repositories\.standby\.timeouts\.idleSeconds/);
  rejects(withT('timeouts: { idleSeconds: 1.5 }'), /repositories\.standby\.timeouts\.idleSeconds/);
  rejects(withT('timeouts: { connectSeconds: "5s" }'), /repositories\.standby\.timeouts\.connectSeconds/);
  rejects(withT('timeouts: { requestSeconds: 60 }'), /repositories\.standby\.timeouts\.requestSeconds: unknown key/);
  rejects(withT('attempts: 0'), /repositories\.standby\.attempts/);
  rejects(withT('attempts: 100'), /repositories\.standby\.attempts/);
});

test('key references: unset env, missing and unreadable key files, a key of the wrong size', () => {
  delete process.env.FSDR_UNSET_KEY;
  assert.throws(() => loadConfig(write('a.yaml', good.replace('FSDR_TEST_KEY', 'FSDR_UNSET_KEY'))), /encryption\.masterKey: environment variable FSDR_UNSET_KEY is not set/);
  assert.throws(() => loadConfig(write('b.yaml', good.replace('env:FSDR_TEST_KEY', `file:${dir}/nope.key`))), /encryption\.masterKey: cannot read key file .*nope\.key \(ENOENT\)/);
  const dirAsKey = write('c.yaml', good.replace('env:FSDR_TEST_KEY', `file:${dir}`));
  assert.throws(() => loadConfig(dirAsKey), /cannot read key file/);
  write('open.key', KEY + '\n');
  chmodSync(join(dir, 'open.key'), 0o644);
  assert.throws(() => loadConfig(write('o.yaml', good.replace('env:FSDR_TEST_KEY', `file:${dir}/open.key`))), (e: ConfigError) => /key file .*open\.key is accessible by others \(mode 0644\)/.test(e.message) && /chmod 600/.test(e.hint ?? ''));
  write('short.key', 'abcd');
  chmodSync(join(dir, 'short.key'), 0o600);
  assert.throws(() => loadConfig(write('d.yaml', good.replace('env:FSDR_TEST_KEY', `file:${dir}/short.key`))), /expected 32 random bytes/);
  write('good.key', KEY + '\n');
  chmodSync(join(dir, 'good.key'), 0o600);
  assert.equal(loadConfig(write('e.yaml', good.replace('env:FSDR_TEST_KEY', `file:${dir}/good.key`))).masterKey.toString('hex'), KEY);
});

test('no config given, missing file, bad YAML', () => {
  const saved = process.env.FSDR_CONFIG;
  delete process.env.FSDR_CONFIG;
  assert.throws(() => loadConfig(), (e: unknown) => /no configuration file given/.test((e as Error).message) && /--config FILE or set FSDR_CONFIG/.test((e as ConfigError).hint ?? ''));
  if (saved) process.env.FSDR_CONFIG = saved;
  assert.throws(() => loadConfig(join(dir, 'absent.yaml')), /cannot read configuration file .*absent\.yaml \(ENOENT\)/);
  assert.throws(() => loadConfig(write('y.yaml', 'a: [1,\n')), /is not valid YAML/);
});

test('passwords stay out of printed configs and client command lines', async () => {
  const { clientConnection } = await import('../../src/postgres/cluster.js');
  process.env.FSDR_TEST_KEY = KEY;
  const cfg = loadConfig(write('pw.yaml', good.replace('postgres://postgres@127.0.0.1:5432/postgres', 'postgres://admin:s3cr%40t@db.internal:5432/postgres')));
  assert.ok(!JSON.stringify(redactedConfig(cfg)).includes('s3cr'), 'config check never prints the password');
  const c = clientConnection(cfg.cluster!.connection, 'featuresignals');
  assert.ok(!c.url.includes('s3cr'));
  assert.match(c.url, /^postgres:\/\/admin@db\.internal:5432\/featuresignals$/);
  assert.equal(c.env.PGPASSWORD, 's3cr@t');
});

test('a typo in a required key names both the unknown key and the missing one', () => {
  const e = (() => { try { validateConfig(parseYaml(good.replace('encryption:', 'encryptoin:'))); } catch (err) { return err as Error; } })();
  assert.match(e!.message, /encryptoin: unknown key/);
  assert.match(e!.message, /encryption: /);
  assert.doesNotMatch(e!.message, /and 1 more/);
});

const dns = `dns:
  providers:
    bind: { type: rfc2136, server: "10.0.0.53:53", zone: fs.example, keyName: fsdr-update, keySecret: env:FSDR_TSIG }
    aws: { type: route53, hostedZoneId: Z0123456789ABCDEFGHIJ }
`;

test('dns providers: defaults (TTL 60, hmac-sha256, timeouts), secrets only as references, mistakes named by key', () => {
  process.env.FSDR_TEST_KEY = KEY;
  const cfg = loadConfig(write('dns.yaml', good + dns));
  assert.equal(cfg.dns!.ttl, 60);
  assert.deepEqual(cfg.dns!.providers.bind, { type: 'rfc2136', server: '10.0.0.53:53', zone: 'fs.example', keyName: 'fsdr-update', keyAlgorithm: 'hmac-sha256', keySecret: 'env:FSDR_TSIG', timeoutSeconds: 10 });
  assert.deepEqual(cfg.dns!.providers.aws, { type: 'route53', hostedZoneId: 'Z0123456789ABCDEFGHIJ', region: 'us-east-1', timeoutSeconds: 120 });
  assert.equal(loadConfig(write('nodns.yaml', good)).dns, undefined, 'dns is optional');
  rejects(good + dns.replace('env:FSDR_TSIG', 'c2VjcmV0Cg=='), /dns\.providers\.bind\.keySecret: expected env:NAME or file:\/path \(never the TSIG secret itself\)/);
  rejects(good + dns.replace('"10.0.0.53:53"', '10.0.0.53'), /dns\.providers\.bind\.server: expected host:port/);
  rejects(good + dns.replace('zone: fs.example', 'zone: "fs example"'), /dns\.providers\.bind\.zone: expected a DNS name/);
  rejects(good + dns.replace('keyName: fsdr-update', 'keyName: "k\\nserver 1.2.3.4"'), /dns\.providers\.bind\.keyName: expected a DNS name/);
  rejects(good + dns.replace('keySecret:', 'keyAlgorithm: md5, keySecret:'), /dns\.providers\.bind\.keyAlgorithm/);
  rejects(good + dns.replace('type: route53', 'type: cloudflare'), /dns\.providers\.aws\.type: expected "rfc2136" or "route53"/);
  rejects(good + dns.replace('hostedZoneId: Z0123456789ABCDEFGHIJ', 'hostedZoneId: Z1, zone: x'), /dns\.providers\.aws\.zone: unknown key/);
  rejects(good + dns.replace('hostedZoneId: Z0123456789ABCDEFGHIJ', 'hostedZoneId: "my zone"'), /dns\.providers\.aws\.hostedZoneId/);
  rejects(good + dns + '  ttl: 0\n', /dns\.ttl/);
  rejects(good + dns.replace('providers:', 'providrs:'), /dns\.providrs: unknown key/);
});

const stack = `
stack:
  url: http://127.0.0.1:8080
  keys: { prod: env:FS_PROD_KEY, staging: "file:/etc/fsdr/staging.key" }
`;

test('stack: url and keys load with the documented defaults; keys stay references in printed configs', () => {
  process.env.FSDR_TEST_KEY = KEY;
  const cfg = loadConfig(write('stack.yaml', good + stack));
  assert.deepEqual(cfg.stack, { url: 'http://127.0.0.1:8080', keys: { prod: 'env:FS_PROD_KEY', staging: 'file:/etc/fsdr/staging.key' }, readyPath: '/ready', healthPath: '/health' });
  assert.equal(cfg.schedule.golden, '0 * * * *');
  assert.equal(loadConfig(write('nostack.yaml', good)).stack, undefined);
  assert.match(JSON.stringify(redactedConfig(cfg)), /env:FS_PROD_KEY/);
  const start = `  start:\n    command: [node, server.js, "--db={{DATABASE_URL}}"]\n    env: { DATABASE_URL: "{{DATABASE_URL}}", PORT: "8081" }\n    secretEnv: { ENCRYPTION_MASTER_KEY: env:FS_PEPPER }\n  readyPath: /readyz\n`;
  const full = loadConfig(write('start.yaml', good + stack + start)).stack!;
  assert.deepEqual(full.start, { command: ['node', 'server.js', '--db={{DATABASE_URL}}'], env: { DATABASE_URL: '{{DATABASE_URL}}', PORT: '8081' }, secretEnv: { ENCRYPTION_MASTER_KEY: 'env:FS_PEPPER' } });
  assert.equal(full.readyPath, '/readyz');
  const more = loadConfig(write('start2.yaml', good + stack + '  database: featuresignals\n  start: { command: [run], checkUrl: "http://fs.internal:8081" }\n')).stack!;
  assert.equal(more.database, 'featuresignals');
  assert.equal(more.start!.checkUrl, 'http://fs.internal:8081');
  rejects(good + stack + '  start: { command: [run], checkUrl: "fs.internal" }\n', /stack\.start\.checkUrl: expected an http:\/\/ or https:\/\/ URL/);
});

test('stack: every mistake is one line naming the key', () => {
  rejects(good + stack.replace('http://127.0.0.1:8080', 'ftp://x'), /stack\.url: expected an http:\/\/ or https:\/\/ URL/);
  rejects(good + stack.replace('http://127.0.0.1:8080', 'not a url'), /stack\.url/);
  rejects(good + 'stack: { keys: { prod: env:K } }\n', /stack\.url/);
  rejects(good + 'stack: { url: "http://x" }\n', /stack\.keys/);
  rejects(good + 'stack: { url: "http://x", keys: {} }\n', /stack\.keys: expected at least one environment/);
  rejects(good + stack.replace('env:FS_PROD_KEY', 'fs_srv_0123456789abcdef'), /stack\.keys\.prod: expected env:NAME or file:\/path \(never the secret itself\)/);
  rejects(good + stack.replace('prod:', 'Prod Env:'), /stack\.keys\.Prod Env: expected an environment slug/);
  rejects(good + stack + '  readyPath: ready\n', /stack\.readyPath: expected a path starting with \//);
  rejects(good + stack + '  helthPath: /h\n', /stack\.helthPath: unknown key/);
  rejects(good + stack + '  start: { command: [] }\n', /stack\.start\.command/);
  rejects(good + stack + '  start: { command: [run, "{{DATABSE_URL}}"] }\n', /stack\.start\.command\.1: unknown placeholder \{\{DATABSE_URL\}\}/);
  rejects(good + stack + '  start: { command: [run], secretEnv: { PEPPER: abc } }\n', /stack\.start\.secretEnv\.PEPPER: expected env:NAME or file:\/path/);
  rejects(good + stack + '  start: { command: [run], env: { "BAD-NAME": x } }\n', /stack\.start\.env\.BAD-NAME: expected an environment variable name/);
  rejects(good + 'schedule: { golden: "every hour" }\n' , /schedule\.golden: invalid cron/);
});

test('block-level incremental settings: defaults, and a bad block size or threshold is named', () => {
  process.env.FSDR_TEST_KEY = KEY;
  const cfg = loadConfig(write('blocks.yaml', good));
  assert.equal(cfg.backup.blockSizeKiB, 16);
  assert.equal(cfg.backup.blockMinFileKiB, 128);
  assert.equal(loadConfig(write('blocks-off.yaml', good + 'backup: { blockMinFileKiB: 0, blockSizeKiB: 8 }\n')).backup.blockMinFileKiB, 0);
  rejects(good + 'backup: { blockSizeKiB: 12 }\n', /backup\.blockSizeKiB: /);
  rejects(good + 'backup: { blockSizeKiB: 2048 }\n', /backup\.blockSizeKiB: /);
  rejects(good + 'backup: { blockMinFileKiB: -1 }\n', /backup\.blockMinFileKiB: /);
  rejects(good + 'backup: { blockMinFileKiB: 1.5 }\n', /backup\.blockMinFileKiB: /);
});
