// The DnsProvider interface: what recover and failover need from DNS — read the answer a name
// has now, and repoint it — whatever serves the zone (an RFC 2136 primary, Route 53), as
// Storage is to fs and s3. Names are absolute (trailing dot) everywhere below this line.
import { isIPv4, isIPv6 } from 'node:net';
import { FsdrError } from '../errors.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** The records a name has for one type; `values` is empty (and `ttl` absent) when there are none. */
export interface DnsAnswer {
  name: string;
  type: RecordType;
  ttl?: number;
  values: string[];
}

/** What a repoint did: the answer before, and the answer read back from the provider after. */
export interface DnsChange {
  provider: string;
  name: string;
  type: RecordType;
  old: DnsAnswer;
  new: DnsAnswer;
}

export interface DnsProvider {
  /** e.g. "rfc2136 10.0.0.53:53 zone fs.example." — for messages and reports. */
  readonly description: string;
  current(name: string, type: RecordType): Promise<DnsAnswer>;
  /** Replaces the name's records of this type by `values` in one atomic change. */
  upsert(name: string, type: RecordType, values: string[], ttl: number): Promise<DnsChange>;
  close(): void;
}

export class DnsError extends FsdrError {}

/** `api.fs.test` → `api.fs.test.` (lower case: DNS names compare case-insensitively). */
export function absolute(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

export function inZone(name: string, zone: string): boolean {
  const n = absolute(name);
  const z = absolute(zone);
  return n === z || n.endsWith(`.${z}`);
}

const LABELS = /^(?=.{1,254}$)([a-z0-9_*](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+$/;

/** Checks a name before it reaches a wire or a script (nsupdate reads one command per line). */
export function checkName(name: string, zone: string, zoneKey: string): string {
  const n = absolute(name);
  if (!LABELS.test(n)) throw new DnsError('FSDR_DNS_BAD_NAME', `"${name}" is not a DNS name`, { exitCode: 2 });
  if (!inZone(n, zone)) {
    throw new DnsError('FSDR_DNS_NOT_IN_ZONE', `${n} is not in zone ${absolute(zone)}`, { hint: `use a name under ${absolute(zone)}, or another provider (${zoneKey})`, exitCode: 2 });
  }
  return n;
}

/** The value a record of `type` holds, normalised; anything else is a usage error. */
export function checkValue(type: RecordType, value: string): string {
  const v = value.trim();
  if (type === 'A' && isIPv4(v)) return v;
  if (type === 'AAAA' && isIPv6(v)) return v.toLowerCase();
  if (type === 'CNAME' && LABELS.test(absolute(v))) return absolute(v);
  throw new DnsError('FSDR_DNS_BAD_VALUE', `"${value}" is not a valid ${type} value`, {
    hint: type === 'CNAME' ? 'a CNAME points at a host name' : `an ${type} record holds an IPv${type === 'A' ? 4 : 6} address`,
    exitCode: 2,
  });
}

/** The type an address implies when none is given: IPv4 → A, IPv6 → AAAA, a name → CNAME. */
export function impliedType(address: string): RecordType {
  return isIPv4(address) ? 'A' : isIPv6(address) ? 'AAAA' : 'CNAME';
}
