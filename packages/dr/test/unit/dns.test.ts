// DNS pure parts: reading dig's answer, classifying nsupdate's failures, the UPDATE script,
// names and values checked before they reach a script or the wire, choosing the provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digArgs, nsupdateScript, parseDig, parseNsupdate, parseServer } from '../../src/dns/bind-tools.js';
import { absolute, checkName, checkValue, impliedType, inZone } from '../../src/dns/provider.js';
import { providerName } from '../../src/dns/open-dns-provider.js';

const digOut = `;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 5187
;; flags: qr aa; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; ANSWER SECTION:
API.fs.test.		60	IN	A	10.0.0.3
api.fs.test.		60	IN	A	10.0.0.2
other.fs.test.		60	IN	A	10.0.0.9
`;

test('dig: the answer of exactly this name and type, sorted, with its TTL', () => {
  assert.deepEqual(parseDig(digOut, 'api.fs.test.', 'A'), { kind: 'answer', answer: { name: 'api.fs.test.', type: 'A', ttl: 60, values: ['10.0.0.2', '10.0.0.3'] } });
  const cname = ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\nwww.fs.test. 300 IN CNAME API.fs.test.\napi.fs.test. 60 IN A 10.0.0.2\n';
  assert.deepEqual(parseDig(cname, 'www.fs.test.', 'CNAME'), { kind: 'answer', answer: { name: 'www.fs.test.', type: 'CNAME', ttl: 300, values: ['api.fs.test.'] } });
  // A query for A at a CNAME name: the CNAME is not an A answer.
  assert.deepEqual(parseDig(cname, 'www.fs.test.', 'A'), { kind: 'answer', answer: { name: 'www.fs.test.', type: 'A', values: [] } });
});

test('dig: no record, a refusal, no server', () => {
  assert.deepEqual(parseDig(';; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 2\n', 'x.fs.test.', 'A'), { kind: 'answer', answer: { name: 'x.fs.test.', type: 'A', values: [] } });
  assert.deepEqual(parseDig(';; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 3\n', 'x.other.', 'A'), { kind: 'status', status: 'REFUSED' });
  const down = parseDig(';; communications error to 127.0.0.1#5353: connection refused\n;; no servers could be reached\n', 'x.fs.test.', 'A');
  assert.deepEqual(down, { kind: 'unreachable', detail: 'communications error to 127.0.0.1#5353: connection refused' });
  assert.deepEqual(digArgs(parseServer('[::1]:5353'), 'a.fs.test.', 'AAAA', 3).slice(0, 3), ['@::1', '-p', '5353']);
});

test('nsupdate: TSIG refusals, rcodes, unreachable servers, unusable keys', () => {
  assert.deepEqual(parseNsupdate(0, ''), { kind: 'ok' });
  assert.deepEqual(parseNsupdate(2, '; TSIG error with server: tsig indicates error\nupdate failed: NOTAUTH(BADSIG)\n'), { kind: 'tsig', rcode: 'NOTAUTH(BADSIG)' });
  assert.deepEqual(parseNsupdate(2, 'update failed: NOTAUTH(BADKEY)\n'), { kind: 'tsig', rcode: 'NOTAUTH(BADKEY)' });
  assert.deepEqual(parseNsupdate(2, 'update failed: NOTAUTH\n'), { kind: 'rcode', rcode: 'NOTAUTH' });
  assert.deepEqual(parseNsupdate(2, 'update failed: NOTZONE\n'), { kind: 'rcode', rcode: 'NOTZONE' });
  assert.deepEqual(parseNsupdate(2, 'update failed: REFUSED\n'), { kind: 'rcode', rcode: 'REFUSED' });
  assert.deepEqual(parseNsupdate(2, '; Communication with 127.0.0.1#15355 failed: timed out\n'), { kind: 'unreachable', detail: 'Communication with 127.0.0.1#15355 failed: timed out' });
  assert.equal(parseNsupdate(1, 'could not read key from secret\nsyntax error\n').kind, 'bad-key');
  assert.deepEqual(parseNsupdate(1, 'something new\n'), { kind: 'other', detail: 'something new' });
});

test('the UPDATE script: key first, one delete and the adds, one send (one atomic message)', () => {
  const s = nsupdateScript({ server: { host: '127.0.0.1', port: 5353 }, zone: 'fs.test.', keyAlgorithm: 'hmac-sha256', keyName: 'k.', keySecret: 'c2VjcmV0', name: 'api.fs.test.', type: 'A', values: ['10.0.0.2', '10.0.0.3'], ttl: 60 });
  assert.equal(s, 'key hmac-sha256:k. c2VjcmV0\nserver 127.0.0.1 5353\nzone fs.test.\nupdate delete api.fs.test. A\nupdate add api.fs.test. 60 A 10.0.0.2\nupdate add api.fs.test. 60 A 10.0.0.3\nsend\n');
});

test('names and values are checked before they reach a script', () => {
  assert.equal(absolute('API.fs.test'), 'api.fs.test.');
  assert.ok(inZone('fs.test', 'fs.test.') && inZone('a.b.fs.test.', 'fs.test') && !inZone('xfs.test', 'fs.test'));
  assert.equal(checkName('api.fs.test', 'fs.test', 'k'), 'api.fs.test.');
  assert.throws(() => checkName('api.fs.test\nupdate add evil.fs.test 60 A 1.2.3.4', 'fs.test', 'k'), /is not a DNS name/);
  assert.throws(() => checkName('api.example.com', 'fs.test', 'dns.providers.x.zone'), (e: Error & { hint?: string }) => /not in zone fs\.test\./.test(e.message) && /dns\.providers\.x\.zone/.test(e.hint ?? ''));
  assert.equal(checkValue('A', ' 10.0.0.2 '), '10.0.0.2');
  assert.equal(checkValue('AAAA', '2001:DB8::1'), '2001:db8::1');
  assert.equal(checkValue('CNAME', 'lb.eu.example'), 'lb.eu.example.');
  assert.throws(() => checkValue('A', '10.0.0.256'), /not a valid A value/);
  assert.throws(() => checkValue('A', '10.0.0.2\nsend'), /not a valid A value/);
  assert.throws(() => checkValue('CNAME', 'a b'), /not a valid CNAME value/);
  assert.deepEqual(['10.0.0.1', '::1', 'lb.example'].map(impliedType), ['A', 'AAAA', 'CNAME']);
});

test('the provider: the only one, or the one asked for', () => {
  const p = { type: 'route53', hostedZoneId: 'Z1', region: 'us-east-1', timeoutSeconds: 120 } as const;
  assert.equal(providerName({ dns: { ttl: 60, providers: { a: p } } }), 'a');
  assert.throws(() => providerName({ dns: { ttl: 60, providers: { a: p, b: p } } }), /2 DNS providers are configured \(a, b\)/);
  assert.equal(providerName({ dns: { ttl: 60, providers: { a: p, b: p } } }, 'b'), 'b');
  assert.throws(() => providerName({ dns: { ttl: 60, providers: { a: p } } }, 'c'), /dns\.providers\.c: no such DNS provider/);
  assert.throws(() => providerName({}), /dns\.providers: no DNS provider is configured/);
});
