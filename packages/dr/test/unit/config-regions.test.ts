// regions: a node's config is its region's (cluster, repository, stack derived), the other
// region's repository is its replica; mistakes are one line naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const base = (self: string, extra = '') => parse(`
regions:
  primary: eu-west
  standby: us-east
  self: ${self}
  members:
    eu-west:
      cluster: { connection: "postgres://postgres@10.0.0.5/postgres", pgdata: /var/lib/postgresql/15/main }
      repository: { type: s3, bucket: fs-eu, region: eu-west-1 }
      stack: { url: "http://10.0.0.6:8080", keys: { prod: env:FS_PROD_KEY } }
      dns: { name: api.fs.example, address: 10.0.0.6 }
    us-east:
      cluster: { connection: "postgres://postgres@10.1.0.5/postgres", pgdata: /var/lib/postgresql/15/main }
      repository: { type: s3, bucket: fs-us, region: us-east-1 }
      dns: { name: api.fs.example, address: 10.1.0.6 }
encryption: { masterKey: env:K }
${extra}`);

function rejects(doc: unknown, pattern: RegExp): void {
  assert.throws(() => validateConfig(doc), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'));
}

test('the primary region\'s node: its cluster, repository and stack; the standby bucket is its replica', () => {
  const c = validateConfig(base('eu-west'));
  assert.equal(c.cluster!.connection, 'postgres://postgres@10.0.0.5/postgres');
  assert.equal((c.repositories.primary as { bucket: string }).bucket, 'fs-eu');
  assert.equal((c.repositories['us-east'] as { bucket: string }).bucket, 'fs-us');
  assert.equal(c.stack!.url, 'http://10.0.0.6:8080');
  assert.deepEqual(Object.keys(c.repositories).sort(), ['primary', 'us-east']);
});

test('the standby region\'s node: the other way round (replication reverses with the roles)', () => {
  const c = validateConfig(base('us-east'));
  assert.equal(c.cluster!.connection, 'postgres://postgres@10.1.0.5/postgres');
  assert.equal((c.repositories.primary as { bucket: string }).bucket, 'fs-us');
  assert.equal((c.repositories['eu-west'] as { bucket: string }).bucket, 'fs-eu');
  assert.equal(c.stack, undefined);
});

test('a config without regions is unchanged, and still needs repositories', () => {
  const c = validateConfig(parse('repositories: { primary: { type: fs, path: /srv/r } }\nencryption: { masterKey: env:K }\n'));
  assert.equal(c.regions, undefined);
  assert.deepEqual(Object.keys(c.repositories), ['primary']);
  rejects(parse('encryption: { masterKey: env:K }\n'), /repositories: required/);
});

test('mistakes name the key', () => {
  rejects(base('mars'), /regions\.self: no region "mars" under regions\.members \(have: eu-west, us-east\)/);
  const same = base('eu-west');
  same.regions.standby = 'eu-west';
  rejects(same, /regions\.standby: must name another region than primary/);
  rejects(base('eu-west', 'cluster: { connection: "postgres://x/y", pgdata: /d }'), /cluster: not allowed with regions/);
  rejects(base('eu-west', 'repositories: { us-east: { type: fs, path: /x } }'), /repositories\.us-east: the repository of region us-east comes from regions\.members\.us-east\.repository/);
  const bad = base('eu-west');
  bad.regions.members['eu-west'].repository.bukket = 'x';
  rejects(bad, /regions\.members\.eu-west\.repository\.bukket: unknown key/);
  const name = base('eu-west');
  name.regions.members.Primary = name.regions.members['us-east'];
  rejects(name, /regions\.members\.Primary.*region name/);
});
