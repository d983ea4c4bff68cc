// The route53 DNS provider against moto's Route 53 API, through the real CLI: UPSERT then list
// shows the new record with TTL 60; a hosted zone that does not exist is one clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { freePort, startMoto, type MotoHandle } from '@featuresignals/testkit';
import { route53Error } from '../../src/dns/route53.js';
import { makeWorkspace, runFsdr, type Workspace } from '../helpers/fsdr.js';

let moto: MotoHandle;
let ws: Workspace;
let r53: Route53Client;
let zoneId: string;

function config(hostedZoneId: string, name: string, endpoint?: string): string {
  return ws.writeConfig({
    repositories: { primary: { type: 'fs', path: ws.repoDir } },
    encryption: { masterKey: `file:${ws.keyFile}` },
    dns: { providers: { aws: { type: 'route53', hostedZoneId, endpoint: endpoint ?? moto.endpoint, timeoutSeconds: 10 } } },
  }, name);
}

before(async () => {
  moto = await startMoto();
  ws = makeWorkspace();
  r53 = new Route53Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const z = await r53.send(new CreateHostedZoneCommand({ Name: 'fs.test.', CallerReference: `fsdr-${Date.now()}` }));
  zoneId = z.HostedZone!.Id!.replace('/hostedzone/', '');
});

after(async () => {
  r53?.destroy();
  await moto?.stop();
  ws?.cleanup();
});

async function listed(name: string, type: string) {
  const r = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return r.ResourceRecordSets!.filter((s) => s.Name === name && s.Type === type).map((s) => ({ ttl: s.TTL, values: s.ResourceRecords!.map((x) => x.Value) }));
}

test('dns set upserts the record with TTL 60; the hosted zone lists it, and a second set reports the first as old', async () => {
  const cfg = config(zoneId, 'fsdr.yaml');
  const r = await runFsdr(['--config', cfg, 'dns', 'set', 'api.fs.test', '10.0.0.2', '--json'], moto.env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.old.values, []);
  assert.deepEqual(out.new, { name: 'api.fs.test.', type: 'A', ttl: 60, values: ['10.0.0.2'] });
  assert.deepEqual(await listed('api.fs.test.', 'A'), [{ ttl: 60, values: ['10.0.0.2'] }]);

  const again = await runFsdr(['--config', cfg, 'dns', 'set', 'api.fs.test', '10.0.0.3', '--json'], moto.env);
  assert.equal(again.code, 0, again.stderr);
  const o2 = JSON.parse(again.stdout);
  assert.deepEqual(o2.old, { name: 'api.fs.test.', type: 'A', ttl: 60, values: ['10.0.0.2'] });
  assert.deepEqual(o2.new.values, ['10.0.0.3']);
  assert.deepEqual(await listed('api.fs.test.', 'A'), [{ ttl: 60, values: ['10.0.0.3'] }], 'an UPSERT replaces, never adds a second set');

  const show = await runFsdr(['--config', cfg, 'dns', 'show', 'api.fs.test'], moto.env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /10\.0\.0\.3 \(TTL 60\) at route53 hosted zone/);
});

test('a nonexistent hosted zone is one clear error naming it and the config key', async () => {
  const cfg = config('ZNOSUCHZONE0000', 'nozone.yaml');
  const r = await runFsdr(['--config', cfg, 'dns', 'set', 'api.fs.test', '10.0.0.2'], moto.env);
  assert.notEqual(r.code, 0);
  // One line from fsdr (the AWS SDK may add its own Node-version warning on this Node 20).
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('fsdr:')).length, 1, r.stderr);
  assert.match(r.stderr, /Route 53 has no hosted zone ZNOSUCHZONE0000/);
  assert.match(r.stderr, /dns\.providers\.aws\.hostedZoneId/);
});

test('a name outside the hosted zone is refused before any change', async () => {
  const r = await runFsdr(['--config', config(zoneId, 'fsdr.yaml'), 'dns', 'set', 'api.example.com', '10.0.0.2'], moto.env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /api\.example\.com\. is not in zone fs\.test\./);
});

test('Route 53\'s own refusal of a change batch (InvalidChangeBatch from the server) becomes an error that says nothing changed', async () => {
  // fsdr checks names before sending, so the server's refusal is provoked with the raw SDK.
  const err = await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'api.other.test.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] } }] } })).then(() => undefined, (e: unknown) => e);
  assert.equal((err as Error)?.name, 'InvalidChangeBatch');
  const mapped = route53Error('ChangeResourceRecordSets', err, { zoneId, key: 'dns.providers.aws', where: moto.endpoint });
  assert.equal(mapped.code, 'FSDR_DNS_INVALID_CHANGE');
  assert.match(mapped.message, new RegExp(`Route 53 refused the change in ${zoneId}: .*api\\.other\\.test.*; nothing was changed`));
});

test('an unreachable Route 53 endpoint is one error naming it', async () => {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const r = await runFsdr(['--config', config(zoneId, 'down.yaml', endpoint), 'dns', 'show', 'api.fs.test'], moto.env);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`Route 53 \\(${endpoint.replace(/[.]/g, '\\.')}\\) could not be reached`));
});
