// The address DNS is repointed to when --dns-address is not given: this host's first external
// IPv4 (the recovered server runs here). Never loopback: that would send clients to themselves.
import { networkInterfaces } from 'node:os';
import { FsdrError } from '../../errors.js';

export function dnsAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new FsdrError('FSDR_NO_ADDRESS', 'this host has no external IPv4 address to point DNS at', { hint: 'give --dns-address ADDR (or a name, for a CNAME)', exitCode: 2 });
}
