// What fsdr says to BIND's clients and how it reads their answers: pure text in, text out, so it
// is unit-tested without a server. dig reads the answer, nsupdate sends the RFC 2136 UPDATE.
import type { DnsAnswer, RecordType } from './provider.js';

export interface Server {
  host: string;
  port: number;
}

export function parseServer(hostPort: string): Server {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
  return { host: m![1]!, port: Number(m![2]) };
}

/**
 * dig against the zone's primary itself, no recursion, over TCP (one exchange, no retransmit
 * guessing): the TTL then is the record's own, not a cache's countdown.
 */
export function digArgs(server: Server, name: string, type: RecordType, timeoutSeconds: number): string[] {
  return [`@${server.host}`, '-p', String(server.port), '+tcp', '+norecurse', `+time=${timeoutSeconds}`, '+tries=1', '+noall', '+answer', '+comments', name, type];
}

export type DigResult =
  | { kind: 'answer'; answer: DnsAnswer }
  | { kind: 'status'; status: string }
  | { kind: 'unreachable'; detail: string };

/** Reads dig's output: the header's status and the answer lines of exactly this name and type. */
export function parseDig(out: string, name: string, type: RecordType): DigResult {
  const status = /->>HEADER<<-.*status: ([A-Z]+)/.exec(out)?.[1];
  if (!status) {
    const detail = /(communications error[^\n]*|no servers could be reached|connection refused|timed out)/i.exec(out)?.[1] ?? (out.trim().split('\n').pop() || 'no answer');
    return { kind: 'unreachable', detail };
  }
  // NXDOMAIN is an answer too: the name has no records at all.
  if (status !== 'NOERROR' && status !== 'NXDOMAIN') return { kind: 'status', status };
  const values: string[] = [];
  let ttl: number | undefined;
  for (const line of out.split('\n')) {
    if (!line || line.startsWith(';')) continue;
    const f = line.trim().split(/\s+/);
    // name TTL class type rdata
    if (f.length < 5 || f[0]!.toLowerCase() !== name || f[2] !== 'IN' || f[3] !== type) continue;
    ttl = ttl === undefined ? Number(f[1]) : Math.min(ttl, Number(f[1]));
    values.push(type === 'CNAME' ? f[4]!.toLowerCase() : f[4]!);
  }
  values.sort();
  return { kind: 'answer', answer: ttl === undefined ? { name, type, values } : { name, type, ttl, values } };
}

export interface UpdateRequest {
  server: Server;
  zone: string;
  keyAlgorithm: string;
  keyName: string;
  keySecret: string;
  name: string;
  type: RecordType;
  values: string[];
  ttl: number;
}

/**
 * One UPDATE message (nsupdate sends everything before `send` as one): delete the RRset, add the
 * new one. RFC 2136 §3.7 applies a message atomically, so no resolver ever sees the name empty.
 * The key is a script line, never an argument (argv is public).
 */
export function nsupdateScript(r: UpdateRequest): string {
  return [
    `key ${r.keyAlgorithm}:${r.keyName} ${r.keySecret}`,
    `server ${r.server.host} ${r.server.port}`,
    `zone ${r.zone}`,
    `update delete ${r.name} ${r.type}`,
    ...r.values.map((v) => `update add ${r.name} ${r.ttl} ${r.type} ${v}`),
    'send',
    '',
  ].join('\n');
}

export type UpdateOutcome =
  | { kind: 'ok' }
  | { kind: 'tsig'; rcode: string }
  | { kind: 'rcode'; rcode: string }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'bad-key'; detail: string }
  | { kind: 'other'; detail: string };

/** Classifies nsupdate's exit code and output (e.g. "update failed: NOTAUTH(BADSIG)"). */
export function parseNsupdate(code: number, out: string): UpdateOutcome {
  if (code === 0) return { kind: 'ok' };
  const failed = /update failed: ([A-Z]+)(?:\(([A-Z]+)\))?/.exec(out);
  // A TSIG error (BADSIG, BADKEY, BADTIME) comes back as NOTAUTH with the TSIG error beside it.
  if (failed?.[2]) return { kind: 'tsig', rcode: `${failed[1]}(${failed[2]})` };
  if (failed) return { kind: 'rcode', rcode: failed[1]! };
  if (/TSIG error|tsig verify failure/i.test(out)) return { kind: 'tsig', rcode: 'BADSIG' };
  const comm = /(Communication with [^\n]*failed: [^\n]*|timed out|connection refused|couldn't get address[^\n]*)/i.exec(out);
  if (comm) return { kind: 'unreachable', detail: comm[1]! };
  const key = /(could not read key[^\n]*|invalid key[^\n]*|unknown algorithm[^\n]*|bad secret[^\n]*)/i.exec(out);
  if (key) return { kind: 'bad-key', detail: key[1]! };
  return { kind: 'other', detail: out.trim().split('\n').slice(-1)[0] || `nsupdate exited ${code}` };
}
