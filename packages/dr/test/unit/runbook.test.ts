// The runbook's commands are ones fsdr accepts today: every command line of the generated runbook
// is parsed by the real commander program (buildProgram, with only the actions swapped for a
// recorder), so a renamed or removed option fails here. Markdown names every scenario and
// repository; the HTML page escapes everything, the config path included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { validateConfig, type Config } from '../../src/config/load.js';
import { buildRunbook, renderHtml, renderMarkdown, shellLine, splitShellLine } from '../../src/runbook/runbook.js';
import { PLACEHOLDER } from '../../src/runbook/procedures.js';

function config(source: string): Config {
  const file = validateConfig({
    cluster: { connection: 'postgres://postgres@10.0.0.5:5432/featuresignals', pgdata: '/var/lib/postgresql/15/main' },
    repositories: {
      primary: { type: 'fs', path: '/srv/fsdr/repo' },
      standby: { type: 's3', bucket: 'fs-dr-eu-west-1', region: 'eu-west-1', prefix: 'prod', objectLock: { mode: 'compliance', days: 7 } },
      customer: { type: 's3', bucket: 'acme-backups', region: 'us-west-2' },
    },
    encryption: { masterKey: 'env:FSDR_MASTER_KEY' },
  });
  return { ...file, source, masterKey: Buffer.alloc(32, 7) };
}

interface Parsed { path: string; opts: Record<string, unknown>; args: unknown[] }

/** Parse argv (without the program name) with the real program; nothing runs. */
async function parseWithCli(argv: string[]): Promise<Parsed> {
  const program = buildProgram();
  let hit: Parsed | undefined;
  const visit = (c: Command, path: string[]) => {
    c.exitOverride();
    c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined, outputError: () => undefined });
    if (!c.commands.length && path.length) {
      c.action((...a: unknown[]) => {
        const cmd = a.at(-1) as Command;
        hit = { path: path.join(' '), opts: cmd.optsWithGlobals(), args: a.slice(0, -2) };
      });
    }
    for (const sub of c.commands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
  await program.parseAsync(argv, { from: 'user' });
  assert.ok(hit, `no command ran for ${argv.join(' ')}`);
  return hit;
}

function codeLines(md: string): string[] {
  return [...md.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.trim().split('\n'));
}

const FILL = { targetTime: '2026-11-27T14:05:00.000Z', pgdata: '/srv/pg new/restored', port: 5439, serverUrl: 'http://127.0.0.1:8080' };

test('every fsdr command line in the runbook parses with the real CLI, with the values filled in', async () => {
  const cfg = config('/etc/fsdr/fsdr.yaml');
  const md = renderMarkdown(buildRunbook(cfg, undefined, FILL));
  const lines = codeLines(md);
  const fsdr = lines.filter((l) => l.startsWith('fsdr '));
  assert.ok(fsdr.length >= 15, `${fsdr.length} fsdr lines`);
  assert.deepEqual([...new Set(lines.map((l) => l.split(' ')[0]))].sort(), ['curl', 'fsdr', 'pg_isready']);
  const seen = new Set<string>();
  for (const line of fsdr) {
    assert.ok(!/<[A-Z_]+>/.test(line), `unfilled placeholder in ${line}`);
    const p = await parseWithCli(splitShellLine(line).slice(1)).catch((err: Error) => assert.fail(`${line}: ${err.message}`));
    assert.equal(p.opts.config, cfg.source, line);
    if ('repo' in p.opts) assert.ok(Object.keys(cfg.repositories).includes(p.opts.repo as string), line);
    if (p.path === 'restore') {
      assert.equal(p.opts.pgdata, FILL.pgdata);
      assert.equal(p.opts.port, FILL.port);
      assert.equal(p.opts.archive, true, 'the restored instance becomes the primary');
      assert.ok(p.opts.targetTime === FILL.targetTime || p.opts.latest === true, line);
    }
    seen.add(p.path);
  }
  assert.deepEqual([...seen].sort(), ['backup', 'config check', 'info', 'restore', 'restore-dump', 'verify']);
  // The corruption scenario restores to the target time from the primary.
  const corruption = md.split('\n## ').find((s) => s.startsWith('1. Database corruption'))!;
  assert.ok(codeLines('\n' + corruption).includes(`fsdr --config /etc/fsdr/fsdr.yaml restore --pgdata '/srv/pg new/restored' --port 5439 --target-time 2026-11-27T14:05:00.000Z --repo primary --archive`));
  // A renamed option would not parse: the check above is not vacuous.
  await assert.rejects(parseWithCli(['--config', cfg.source, 'restore', '--pgdata', '/x', '--target', FILL.targetTime]), /unknown option/);
});

test('shell lines round-trip: quoted paths, quotes inside, placeholders left visible', () => {
  const argv = ['fsdr', '--config', "/etc/it's here/f<1>.yaml", 'restore', '--pgdata', PLACEHOLDER.pgdata, '--set', 'a=b c'];
  const line = shellLine({ argv });
  assert.equal(line, `fsdr --config '/etc/it'\\''s here/f<1>.yaml' restore --pgdata <NEW_PGDATA> --set 'a=b c'`);
  assert.deepEqual(splitShellLine(line), argv);
});

test('the markdown runbook has every scenario, the repositories by name, the key reference and never the key', () => {
  const cfg = config('/etc/fsdr/fsdr.yaml');
  const md = renderMarkdown(buildRunbook(cfg));
  for (const h of ['## 1. Database corruption: point-in-time restore', '## 2. Instance failure', '## 3. Region failure: restore from the standby repository (standby)', '## 4. Self-hosted: complete rebuild on a new machine from the repository (customer)']) {
    assert.ok(md.includes(h), h);
  }
  for (const name of ['primary', 'standby', 'customer']) assert.match(md, new RegExp(`\\*\\*${name}\\*\\*: `));
  assert.match(md, /s3:\/\/fs-dr-eu-west-1\/prod \(region eu-west-1, Object Lock compliance 7 days\)/);
  assert.match(md, /fsdr --config \/etc\/fsdr\/fsdr.yaml restore --pgdata <NEW_PGDATA> --port <PORT> --target-time <TARGET_TIME> --repo primary --archive/);
  assert.match(md, /--repo standby --archive/);
  assert.match(md, /curl -fsS <SERVER_URL>\/health/);
  assert.match(md, /curl -fsS <SERVER_URL>\/ready/);
  assert.match(md, /env:FSDR_MASTER_KEY/);
  assert.ok(!md.includes(Buffer.alloc(32, 7).toString('hex')), 'the key itself never appears');
  assert.match(md, /RPO 5 min, RTO 30 min/);
  assert.match(md, /pg_isready -h 10\.0\.0\.5 -p 5432\n/, 'host and port only: a connection string may carry a password');
  // Without a replica, the region scenario says so instead of inventing a procedure.
  const lone = { ...cfg, repositories: { primary: cfg.repositories.primary! } };
  assert.match(renderMarkdown(buildRunbook(lone)), /## 3\. Region failure: NO standby repository configured/);
});

test('the html runbook is the same content as one self-contained page, everything escaped', () => {
  const cfg = config('/etc/<fsdr>&"x"/fsdr.yaml');
  const html = renderHtml(buildRunbook(cfg));
  assert.ok(!html.includes('<fsdr>'), 'a < in the config path is escaped');
  assert.ok(html.includes('/etc/&lt;fsdr&gt;&amp;&quot;x&quot;/fsdr.yaml'));
  assert.ok(html.includes('&lt;TARGET_TIME&gt;'));
  assert.ok(!/<script|<link|src=/i.test(html), 'no scripts, nothing fetched');
  const text = html.replace(/<[^>]+>/g, '');
  for (const t of ['1. Database corruption', '2. Instance failure', '3. Region failure', '4. Self-hosted', 'standby', 'customer']) assert.ok(text.includes(t), t);
  // Every command of the markdown appears in the page, escaped.
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  for (const l of codeLines(renderMarkdown(buildRunbook(cfg)))) assert.ok(html.includes(esc(l)), l);
});

test('with ha: the instance-failure scenario checks Patroni\'s automatic failover (ha status, HAProxy, the old leader rejoined) instead of restoring; its commands parse', async () => {
  const base = config('/etc/fsdr/fsdr.yaml');
  const file = validateConfig({
    cluster: base.cluster, repositories: base.repositories, encryption: { masterKey: 'env:FSDR_MASTER_KEY' },
    ha: { self: 'pg-a', etcd: { hosts: ['10.0.0.9:2379'] }, nodes: [{ name: 'pg-a', host: '10.0.0.1', pgdata: '/srv/a' }, { name: 'pg-b', host: '10.0.0.2', pgdata: '/srv/b' }], clientConnection: 'postgres://fs:secret@10.0.0.5:5000/featuresignals', synchronous: true },
  });
  const md = renderMarkdown(buildRunbook({ ...file, source: base.source, masterKey: base.masterKey }, undefined, FILL));
  const instance = md.split('\n## ').find((s) => s.startsWith('2. Instance failure'))!;
  assert.match(instance, /automatic failover \(Patroni on etcd, cluster featuresignals\)/);
  assert.match(instance, /synchronous \(no committed transaction lost\)/);
  const lines = codeLines('\n' + instance);
  assert.deepEqual(lines, ['fsdr --config /etc/fsdr/fsdr.yaml ha status', 'pg_isready -h 10.0.0.5 -p 5000', 'curl -fsS http://127.0.0.1:8080/health', 'curl -fsS http://127.0.0.1:8080/ready', 'fsdr --config /etc/fsdr/fsdr.yaml ha status']);
  assert.ok(!instance.includes('secret'), 'the client connection\'s password never reaches the runbook');
  for (const l of lines.filter((x) => x.startsWith('fsdr '))) assert.equal((await parseWithCli(splitShellLine(l).slice(1))).path, 'ha status');
});

test('with regions, the region scenario is fsdr failover on the standby node and failback later; every line parses', async () => {
  const member = (n: string) => ({ cluster: { connection: `postgres://postgres@${n}.internal/postgres`, pgdata: '/var/lib/postgresql/15/main' }, repository: { type: 'fs', path: `/srv/fsdr/${n}` } });
  const file = validateConfig({ regions: { primary: 'eu', standby: 'us', self: 'us', members: { eu: member('eu'), us: member('us') } }, encryption: { masterKey: 'env:FSDR_MASTER_KEY' } });
  const cfg: Config = { ...file, source: '/etc/fsdr/us.yaml', masterKey: Buffer.alloc(32, 7) };
  const md = renderMarkdown(buildRunbook(cfg, undefined, FILL));
  const section = md.slice(md.indexOf('Region failure'), md.indexOf('Self-hosted'));
  assert.match(section, /fail over from eu to the warm standby in us/);
  const lines = codeLines(section).filter((l) => l.startsWith('fsdr '));
  assert.deepEqual(lines, [
    'fsdr --config /etc/fsdr/us.yaml standby status',
    'fsdr --config /etc/fsdr/us.yaml failover --to us',
    'fsdr --config /etc/fsdr/us.yaml failover --to us --confirm',
    'fsdr --config /etc/fsdr/us.yaml fence status',
    "fsdr --config '<eu node'\\''s fsdr.yaml>' failback",
    "fsdr --config '<eu node'\\''s fsdr.yaml>' failback --confirm --switchover",
  ]);
  for (const l of lines) {
    const p = await parseWithCli(splitShellLine(l).slice(1));
    assert.ok(['standby status', 'failover', 'fence status', 'failback'].includes(p.path), p.path);
  }
});
